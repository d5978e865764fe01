//! MeshChannel against real tonic servers on loopback, discovered through
//! the in-process registry.

use std::time::Duration;

use tokio::net::TcpListener;
use tonic::Code;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_client::HealthClient;
use zhongtai_testkit::HealthServer;

use crate::{ChannelConfig, LocalRegistry, MeshChannel, Registry, ServiceInstance};

fn instance(server: &HealthServer, id: &str) -> ServiceInstance {
    ServiceInstance::new("health", id, server.address.to_string())
}

fn config() -> ChannelConfig {
    ChannelConfig {
        discovery_wait: Duration::from_millis(300),
        default_deadline: Duration::from_secs(5),
        ..ChannelConfig::default()
    }
}

async fn check(channel: &MeshChannel) -> Result<(), tonic::Status> {
    let mut client = HealthClient::new(channel.clone());
    client
        .check(HealthCheckRequest {
            service: String::new(),
        })
        .await
        .map(|_| ())
}

#[tokio::test]
async fn balances_over_every_instance() {
    let registry = LocalRegistry::new();
    let a = HealthServer::start().await;
    let b = HealthServer::start().await;
    let _ra = registry.register(instance(&a, "a"));
    let _rb = registry.register(instance(&b, "b"));
    let channel = MeshChannel::new(registry.discover("health"), config());
    for _ in 0..100 {
        check(&channel)
            .await
            .unwrap_or_else(|s| panic!("check: {s}"));
    }
    let (hits_a, hits_b) = (a.hits(), b.hits());
    assert_eq!(hits_a + hits_b, 100);
    assert!(hits_a >= 15 && hits_b >= 15, "a={hits_a} b={hits_b}");
}

#[tokio::test]
async fn retryable_calls_fail_over_when_an_instance_dies() {
    let registry = LocalRegistry::new();
    let mut a = HealthServer::start().await;
    let b = HealthServer::start().await;
    // Both stay registered: discovery has not noticed the death.
    let _ra = registry.register(instance(&a, "a"));
    let _rb = registry.register(instance(&b, "b"));
    let channel = MeshChannel::new(registry.discover("health"), config());
    for _ in 0..10 {
        check(&channel)
            .await
            .unwrap_or_else(|s| panic!("check: {s}"));
    }
    a.stop().await;
    let before = b.hits();
    for call in 0..30 {
        check(&channel)
            .await
            .unwrap_or_else(|s| panic!("call {call} after the failure: {s}"));
    }
    assert_eq!(b.hits() - before, 30, "every call answered by the survivor");
}

#[tokio::test]
async fn a_new_instance_gets_traffic_at_once() {
    let registry = LocalRegistry::new();
    let a = HealthServer::start().await;
    let _ra = registry.register(instance(&a, "a"));
    let channel = MeshChannel::new(registry.discover("health"), config());
    for _ in 0..5 {
        check(&channel)
            .await
            .unwrap_or_else(|s| panic!("check: {s}"));
    }
    let b = HealthServer::start().await;
    let _rb = registry.register(instance(&b, "b"));
    for _ in 0..60 {
        check(&channel)
            .await
            .unwrap_or_else(|s| panic!("check: {s}"));
    }
    assert!(b.hits() >= 10, "new instance got {} calls", b.hits());
}

#[tokio::test]
async fn a_removed_instance_gets_no_more_traffic() {
    let registry = LocalRegistry::new();
    let a = HealthServer::start().await;
    let b = HealthServer::start().await;
    let ra = registry.register(instance(&a, "a"));
    let _rb = registry.register(instance(&b, "b"));
    let channel = MeshChannel::new(registry.discover("health"), config());
    for _ in 0..10 {
        check(&channel)
            .await
            .unwrap_or_else(|s| panic!("check: {s}"));
    }
    ra.deregister().await;
    let before = a.hits();
    for _ in 0..20 {
        check(&channel)
            .await
            .unwrap_or_else(|s| panic!("check: {s}"));
    }
    assert_eq!(a.hits(), before);
}

#[tokio::test]
async fn no_instance_is_unavailable_and_names_the_service() {
    let registry = LocalRegistry::new();
    let channel = MeshChannel::new(registry.discover("health"), config());
    let status = check(&channel)
        .await
        .err()
        .unwrap_or_else(|| panic!("call succeeded"));
    assert_eq!(status.code(), Code::Unavailable);
    assert!(
        status.message().contains("\"health\""),
        "{}",
        status.message()
    );
}

#[tokio::test]
async fn a_call_waits_briefly_for_discovery() {
    let registry = LocalRegistry::new();
    let server = HealthServer::start().await;
    let channel = MeshChannel::new(
        registry.discover("health"),
        ChannelConfig {
            discovery_wait: Duration::from_secs(5),
            ..config()
        },
    );
    let late = registry.clone();
    let instance = instance(&server, "late");
    let register = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(200)).await;
        late.register(instance)
    });
    check(&channel)
        .await
        .unwrap_or_else(|s| panic!("check: {s}"));
    assert_eq!(server.hits(), 1);
    drop(register.await);
}

#[tokio::test]
async fn an_unreachable_only_instance_is_unavailable_naming_it() {
    let registry = LocalRegistry::new();
    let mut dead = HealthServer::start().await;
    dead.stop().await;
    let _r = registry.register(instance(&dead, "dead"));
    let channel = MeshChannel::new(registry.discover("health"), config());
    let status = check(&channel)
        .await
        .err()
        .unwrap_or_else(|| panic!("call succeeded"));
    assert_eq!(status.code(), Code::Unavailable);
    assert!(status.message().contains("dead"), "{}", status.message());
}

#[tokio::test]
async fn a_silent_instance_ends_the_call_at_its_deadline() {
    // Accepts connections and never answers.
    let silent = TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap_or_else(|e| panic!("bind: {e}"));
    let address = silent.local_addr().unwrap_or_else(|e| panic!("addr: {e}"));
    let holder = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = silent.accept().await {
            held.push(socket);
        }
    });
    let registry = LocalRegistry::new();
    let _r = registry.register(ServiceInstance::new(
        "health",
        "silent",
        address.to_string(),
    ));
    let channel = MeshChannel::new(
        registry.discover("health"),
        ChannelConfig {
            default_deadline: Duration::from_millis(200),
            ..config()
        },
    );
    let result = tokio::time::timeout(Duration::from_secs(10), check(&channel)).await;
    let status = result
        .unwrap_or_else(|_| panic!("the deadline did not fire"))
        .err()
        .unwrap_or_else(|| panic!("call succeeded"));
    assert_eq!(status.code(), Code::DeadlineExceeded, "{status:?}");
    holder.abort();
}
