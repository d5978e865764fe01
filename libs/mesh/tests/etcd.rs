//! Registration and discovery against a real etcd process per test,
//! including etcd going away and coming back without its data.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{HealthServer, check, instance};
use zhongtai_mesh::{
    ChannelConfig, Discovery, EtcdConfig, EtcdRegistry, MeshChannel, RegistrationState, Registry,
};
use zhongtai_testkit::{EtcdServer, eventually, init_tracing};

const TTL: Duration = Duration::from_secs(2);

fn registry(etcd: &EtcdServer) -> Arc<dyn Registry> {
    let config = EtcdConfig {
        endpoints: vec![etcd.endpoint()],
        prefix: "/zhongtai-test/services".to_string(),
        lease_ttl: TTL,
        connect_timeout: Duration::from_millis(500),
        request_timeout: Duration::from_secs(1),
    };
    Arc::new(EtcdRegistry::new(config).unwrap_or_else(|e| panic!("config: {e}")))
}

fn ids(discovery: &Discovery) -> Vec<String> {
    discovery.current().keys().cloned().collect()
}

async fn wait_for_ids(discovery: &Discovery, expected: &[&str], within: Duration) {
    let what = format!("instances {expected:?}");
    eventually(within, &what, || async {
        (ids(discovery) == expected).then_some(())
    })
    .await;
}

async fn wait_for_state(
    state: &tokio::sync::watch::Receiver<RegistrationState>,
    wanted: RegistrationState,
    within: Duration,
) {
    let what = format!("registration state {wanted:?}");
    eventually(within, &what, || async {
        (*state.borrow() == wanted).then_some(())
    })
    .await;
}

fn channel_config() -> ChannelConfig {
    ChannelConfig {
        default_deadline: Duration::from_secs(5),
        ..ChannelConfig::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_channel_balances_over_instances_registered_in_etcd() {
    init_tracing();
    let etcd = EtcdServer::start();
    let registry = registry(&etcd);
    let a = HealthServer::start().await;
    let b = HealthServer::start().await;
    let _ra = registry.register(instance(&a, "health", "a"));
    let _rb = registry.register(instance(&b, "health", "b"));
    let discovery = registry.discover("health");
    wait_for_ids(&discovery, &["a", "b"], Duration::from_secs(10)).await;

    let channel = MeshChannel::new(discovery, channel_config());
    for _ in 0..100 {
        check(&channel)
            .await
            .unwrap_or_else(|s| panic!("check: {s}"));
    }
    println!("hits: a={} b={}", a.hits(), b.hits());
    assert_eq!(a.hits() + b.hits(), 100);
    assert!(
        a.hits() >= 15 && b.hits() >= 15,
        "a={} b={}",
        a.hits(),
        b.hits()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_registration_leaves_discovery_when_its_lease_expires() {
    init_tracing();
    let etcd = EtcdServer::start();
    let registry = registry(&etcd);
    let discovery = registry.discover("health");
    let survivor = registry.register(zhongtai_mesh::ServiceInstance::new(
        "health",
        "alive",
        "127.0.0.1:1",
    ));
    let doomed = registry.register(zhongtai_mesh::ServiceInstance::new(
        "health",
        "dead",
        "127.0.0.1:2",
    ));
    wait_for_state(
        &doomed.state(),
        RegistrationState::Registered,
        Duration::from_secs(10),
    )
    .await;
    wait_for_ids(&discovery, &["alive", "dead"], Duration::from_secs(10)).await;

    // Dropping without deregistering stops keep-alive as a crash would.
    drop(doomed);
    let died = Instant::now();
    wait_for_ids(&discovery, &["alive"], TTL + Duration::from_secs(1)).await;
    println!(
        "dead instance left discovery {:?} after it stopped (lease ttl {TTL:?})",
        died.elapsed()
    );
    assert_eq!(*survivor.state().borrow(), RegistrationState::Registered);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deregistration_removes_the_instance_at_once() {
    init_tracing();
    let etcd = EtcdServer::start();
    let registry = registry(&etcd);
    let discovery = registry.discover("health");
    let registration = registry.register(zhongtai_mesh::ServiceInstance::new(
        "health",
        "a",
        "127.0.0.1:1",
    ));
    wait_for_ids(&discovery, &["a"], Duration::from_secs(10)).await;
    let mut state = registration.state();
    let started = Instant::now();
    registration.deregister().await;
    assert_eq!(*state.borrow_and_update(), RegistrationState::Deregistered);
    // Well inside the lease TTL: the lease was revoked, not left to expire.
    wait_for_ids(&discovery, &[], TTL / 2).await;
    println!(
        "deregistered instance left discovery after {:?}",
        started.elapsed()
    );
    // Nothing re-registers it.
    tokio::time::sleep(TTL).await;
    assert!(ids(&discovery).is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_keep_flowing_while_etcd_is_down() {
    init_tracing();
    let mut etcd = EtcdServer::start();
    let registry = registry(&etcd);
    let a = HealthServer::start().await;
    let b = HealthServer::start().await;
    let _ra = registry.register(instance(&a, "health", "a"));
    let _rb = registry.register(instance(&b, "health", "b"));
    let discovery = registry.discover("health");
    wait_for_ids(&discovery, &["a", "b"], Duration::from_secs(10)).await;
    let channel = MeshChannel::new(discovery.clone(), channel_config());

    etcd.stop();
    // Long enough for every lease to have expired had etcd been up.
    tokio::time::sleep(TTL * 2).await;
    assert_eq!(ids(&discovery), ["a", "b"], "the last known set is kept");
    let (before_a, before_b) = (a.hits(), b.hits());
    for _ in 0..50 {
        check(&channel)
            .await
            .unwrap_or_else(|s| panic!("check with etcd down: {s}"));
    }
    assert!(
        a.hits() > before_a && b.hits() > before_b,
        "both instances still used"
    );
    assert!(discovery.is_synced());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registrations_come_back_by_themselves_after_etcd_loses_its_data() {
    init_tracing();
    let mut etcd = EtcdServer::start();
    let registry = registry(&etcd);
    let a = HealthServer::start().await;
    let ra = registry.register(instance(&a, "health", "a"));
    let rb = registry.register(zhongtai_mesh::ServiceInstance::new(
        "health",
        "b",
        "127.0.0.1:1",
    ));
    let discovery = registry.discover("health");
    wait_for_ids(&discovery, &["a", "b"], Duration::from_secs(10)).await;
    let channel = MeshChannel::new(registry.discover("health"), channel_config());
    // Down first, so the loss is observable before the data comes back empty.
    etcd.stop();
    for registration in [&ra, &rb] {
        wait_for_state(
            &registration.state(),
            RegistrationState::Lost,
            Duration::from_secs(10),
        )
        .await;
    }
    etcd.wipe_and_restart();
    let restarted = Instant::now();
    for registration in [&ra, &rb] {
        wait_for_state(
            &registration.state(),
            RegistrationState::Registered,
            Duration::from_secs(20),
        )
        .await;
    }
    // Not just the state: a fresh listing from the wiped etcd has them.
    let fresh = registry_fresh_listing(&etcd).await;
    assert_eq!(fresh, ["a", "b"]);
    println!(
        "re-registered {:?} after etcd came back empty",
        restarted.elapsed()
    );
    wait_for_ids(&discovery, &["a", "b"], Duration::from_secs(10)).await;
    check(&channel)
        .await
        .unwrap_or_else(|s| panic!("check after the wipe: {s}"));
}

/// What a brand-new registry client sees in etcd, once it has synced.
async fn registry_fresh_listing(etcd: &EtcdServer) -> Vec<String> {
    let fresh = registry(etcd);
    let discovery = fresh.discover("health");
    tokio::time::timeout(Duration::from_secs(10), discovery.synced())
        .await
        .unwrap_or_else(|_| panic!("fresh discovery never synced"));
    ids(&discovery)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_registration_made_while_etcd_is_down_completes_when_it_starts() {
    init_tracing();
    let mut etcd = EtcdServer::start();
    etcd.stop();
    let registry = registry(&etcd);
    let registration = registry.register(zhongtai_mesh::ServiceInstance::new(
        "health",
        "early",
        "127.0.0.1:1",
    ));
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(
        *registration.state().borrow(),
        RegistrationState::Registering
    );
    etcd.restart();
    wait_for_state(
        &registration.state(),
        RegistrationState::Registered,
        Duration::from_secs(20),
    )
    .await;
    assert_eq!(registry_fresh_listing(&etcd).await, ["early"]);
}
