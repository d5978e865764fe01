//! MeshChannel against real tonic servers on loopback, discovered through
//! the in-process registry.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tonic::Code;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_client::HealthClient;
use tower::ServiceBuilder;

use crate::{ChannelConfig, LocalRegistry, MeshChannel, Registry, ServiceInstance};

/// A health server on a free port that counts the calls it receives.
struct HealthServer {
    address: SocketAddr,
    hits: Arc<AtomicUsize>,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl HealthServer {
    async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .unwrap_or_else(|e| panic!("bind: {e}"));
        let address = listener
            .local_addr()
            .unwrap_or_else(|e| panic!("addr: {e}"));
        let hits = Arc::new(AtomicUsize::new(0));
        let counter = hits.clone();
        let (_reporter, health) = tonic_health::server::health_reporter();
        let (shutdown, stop) = oneshot::channel::<()>();
        let counting = ServiceBuilder::new()
            .map_request(move |request: http::Request<tonic::body::Body>| {
                counter.fetch_add(1, Ordering::SeqCst);
                request
            })
            .into_inner();
        let task = tokio::spawn(async move {
            let served = tonic::transport::Server::builder()
                .layer(counting)
                .add_service(health)
                .serve_with_incoming_shutdown(
                    tokio_stream::wrappers::TcpListenerStream::new(listener),
                    async {
                        let _ = stop.await;
                    },
                )
                .await;
            if let Err(error) = served {
                panic!("test server failed: {error}");
            }
        });
        Self {
            address,
            hits,
            shutdown: Some(shutdown),
            task: Some(task),
        }
    }

    fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }

    fn instance(&self, id: &str) -> ServiceInstance {
        ServiceInstance::new("health", id, self.address.to_string())
    }

    /// Stops accepting, closes connections, and waits until the port is shut.
    async fn stop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = tokio::time::timeout(Duration::from_secs(10), task).await;
        }
    }
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
    let _ra = registry.register(a.instance("a"));
    let _rb = registry.register(b.instance("b"));
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
    let _ra = registry.register(a.instance("a"));
    let _rb = registry.register(b.instance("b"));
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
    let _ra = registry.register(a.instance("a"));
    let channel = MeshChannel::new(registry.discover("health"), config());
    for _ in 0..5 {
        check(&channel)
            .await
            .unwrap_or_else(|s| panic!("check: {s}"));
    }
    let b = HealthServer::start().await;
    let _rb = registry.register(b.instance("b"));
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
    let ra = registry.register(a.instance("a"));
    let _rb = registry.register(b.instance("b"));
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
    let instance = server.instance("late");
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
    let _r = registry.register(dead.instance("dead"));
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
