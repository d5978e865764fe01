//! Scenario S6 against real etcd, PostgreSQL and RabbitMQ: separate
//! `zhongtai serve approval` processes register with leases, a client
//! balances over them, a SIGKILLed instance leaves routing within the lease
//! TTL + 1 s while idempotent calls keep succeeding, a new instance gets
//! traffic at once, calls keep flowing with etcd down, and instances
//! re-register by themselves when etcd comes back empty.

#![allow(clippy::unwrap_used)] // helpers outside #[test] fns may panic: they are test code

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use tonic::Request;
use tonic::service::interceptor::InterceptedService;
use zhongtai_contracts::approval::v1::ListServiceItemsRequest;
use zhongtai_contracts::approval::v1::approval_service_client::ApprovalServiceClient;
use zhongtai_kit::Role;
use zhongtai_mesh::{ChannelConfig, Discovery, EtcdConfig, EtcdRegistry, MeshChannel, Registry};
use zhongtai_scenarios::{BearerToken, Process, Security};
use zhongtai_testkit::{EtcdServer, TestDatabase, amqp_url, eventually};

const LEASE_TTL: Duration = Duration::from_secs(2);
const INSTANCE_HEADER: &str = "zhongtai-instance";

type Client = ApprovalServiceClient<InterceptedService<MeshChannel, BearerToken>>;

/// An instance with mutual TLS and token checks on, as in production.
fn serve_approval(
    name: &str,
    etcd: &EtcdServer,
    db: &TestDatabase,
    security: &Security,
) -> Process {
    let mut envs = security.serve_env("approval");
    envs.extend([
        ("DATABASE_URL", db.url().to_string()),
        ("ETCD_ENDPOINTS", etcd.endpoint()),
        ("AMQP_URL", amqp_url()),
        ("ZHONGTAI_SERVER__LISTEN", "127.0.0.1:0".into()),
        ("ZHONGTAI_SERVER__METRICS_LISTEN", "127.0.0.1:0".into()),
        (
            "ZHONGTAI_MESH__LEASE_TTL_SECS",
            LEASE_TTL.as_secs().to_string(),
        ),
        ("ZHONGTAI_SERVER__DRAIN_TIMEOUT_MS", "2000".into()),
    ]);
    let mut process = Process::spawn(name, &["serve", "approval"], &envs);
    process.wait_for_output("registered in discovery", Duration::from_secs(60));
    process
}

/// A viewer's client of the approval center through `etcd` discovery,
/// with the operators' client certificate, and the discovery it balances
/// over.
fn viewer_through(etcd: &EtcdServer, security: &Security) -> (Discovery, Client) {
    let registry = EtcdRegistry::new(EtcdConfig {
        endpoints: vec![etcd.endpoint()],
        ..EtcdConfig::default()
    })
    .unwrap();
    let discovery = registry.discover("approval");
    let channel = MeshChannel::new(
        discovery.clone(),
        ChannelConfig {
            tls: Some(security.client_tls()),
            ..ChannelConfig::default()
        },
    );
    let token = security.token("331100/market-regulation", &[Role::Viewer]);
    let client = ApprovalServiceClient::with_interceptor(channel, BearerToken::new(&token));
    (discovery, client)
}

/// Instance ids in discovery.
fn known(discovery: &Discovery) -> Vec<String> {
    discovery.current().keys().cloned().collect()
}

/// One read-only (hence retryable) call; the instance that answered.
async fn call(client: &mut Client) -> Result<String, tonic::Status> {
    let response = client
        .list_service_items(Request::new(ListServiceItemsRequest::default()))
        .await?;
    Ok(response
        .metadata()
        .get(INSTANCE_HEADER)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string())
}

async fn calls(client: &mut Client, n: usize) -> BTreeMap<String, usize> {
    let mut served = BTreeMap::new();
    for i in 0..n {
        let instance = call(client)
            .await
            .unwrap_or_else(|s| panic!("call {i} failed: {s:?}"));
        *served.entry(instance).or_insert(0) += 1;
    }
    served
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s6_instances_come_and_go_without_failed_calls() {
    zhongtai_testkit::init_tracing();
    let mut etcd = EtcdServer::start();
    let db = TestDatabase::create().await;

    let security = Security::new();
    let (discovery, mut client) = viewer_through(&etcd, &security);

    // Two instances register; the client balances over both.
    let mut a = serve_approval("approval-a", &etcd, &db, &security);
    let b = serve_approval("approval-b", &etcd, &db, &security);
    let two = eventually(
        Duration::from_secs(10),
        "two instances in discovery",
        || async {
            let ids = known(&discovery);
            (ids.len() == 2).then_some(ids)
        },
    )
    .await;
    let served = calls(&mut client, 60).await;
    assert_eq!(
        served.keys().cloned().collect::<Vec<_>>(),
        two,
        "both instances serve: {served:?}"
    );
    assert!(
        served.values().all(|&n| n >= 5),
        "balanced over both: {served:?}"
    );

    // SIGKILL one: it leaves discovery within TTL + 1 s; calls keep working.
    // Each process logs its instance id when it registers.
    let a_id = two
        .iter()
        .find(|id| a.output().contains(id.as_str()))
        .cloned()
        .unwrap_or_else(|| panic!("no id of {two:?} in the log of approval-a:\n{}", a.output()));
    let killed_at = Instant::now();
    a.kill();
    let mut failures = Vec::new();
    while known(&discovery).contains(&a_id) {
        assert!(
            killed_at.elapsed() < Duration::from_secs(30),
            "killed instance never left discovery"
        );
        if let Err(status) = call(&mut client).await {
            failures.push(status);
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let failover = killed_at.elapsed();
    println!("S6: SIGKILLed instance left discovery after {failover:?} (lease TTL {LEASE_TTL:?})");
    assert!(
        failover <= LEASE_TTL + Duration::from_secs(1),
        "took {failover:?}"
    );
    assert!(
        failures.is_empty(),
        "idempotent calls failed during failover: {failures:?}"
    );
    let served = calls(&mut client, 20).await;
    assert!(!served.contains_key(&a_id), "{served:?}");

    // A new instance gets traffic within 1 s of registering.
    let c = serve_approval("approval-c", &etcd, &db, &security);
    let c_id = eventually(
        Duration::from_secs(10),
        "third instance in discovery",
        || async { known(&discovery).into_iter().find(|id| !two.contains(id)) },
    )
    .await;
    let registered_at = Instant::now();
    loop {
        if call(&mut client).await.expect("call succeeds") == c_id {
            break;
        }
        assert!(
            registered_at.elapsed() < Duration::from_secs(1),
            "new instance got no traffic in 1 s"
        );
    }
    println!(
        "S6: new instance served its first call {:?} after discovery saw it",
        registered_at.elapsed()
    );

    // etcd down: callers keep their last known endpoints.
    etcd.stop();
    let served = calls(&mut client, 30).await;
    assert_eq!(
        served.len(),
        2,
        "both live instances still serve with etcd down: {served:?}"
    );
    assert_eq!(known(&discovery).len(), 2);

    // etcd back with no data at all: instances re-register by themselves.
    etcd.wipe_and_restart();
    let fresh = EtcdRegistry::new(EtcdConfig {
        endpoints: vec![etcd.endpoint()],
        ..EtcdConfig::default()
    })
    .unwrap()
    .discover("approval");
    eventually(
        Duration::from_secs(30),
        "both instances re-registered in the new etcd",
        || async { (fresh.current().len() == 2).then_some(()) },
    )
    .await;
    eventually(
        Duration::from_secs(30),
        "the old watcher resynced",
        || async { (known(&discovery).len() == 2).then_some(()) },
    )
    .await;
    let served = calls(&mut client, 30).await;
    assert_eq!(served.len(), 2, "{served:?}");

    // Graceful stop: deregistered before the process exits.
    for mut process in [b, c] {
        process.stop_gracefully(Duration::from_secs(30));
    }
    eventually(
        Duration::from_secs(2),
        "stopped instances deregistered",
        || async { fresh.current().is_empty().then_some(()) },
    )
    .await;
}

/// Callers that keep calling until stopped, as a department app's traffic
/// would: every outcome is counted, nothing is retried by the test.
struct SteadyLoad {
    stop: tokio_util::sync::CancellationToken,
    callers: Vec<tokio::task::JoinHandle<Tally>>,
}

#[derive(Default)]
struct Tally {
    ok: usize,
    failures: Vec<(Duration, tonic::Status)>,
    /// Instance → (calls answered, last answer since the load started).
    answered: BTreeMap<String, (usize, Duration)>,
}

impl SteadyLoad {
    fn start(client: &Client, callers: usize) -> Self {
        let stop = tokio_util::sync::CancellationToken::new();
        let started = Instant::now();
        let callers = (0..callers)
            .map(|_| {
                let mut client = client.clone();
                let stop = stop.clone();
                tokio::spawn(async move {
                    let mut tally = Tally::default();
                    while !stop.is_cancelled() {
                        match call(&mut client).await {
                            Ok(instance) => {
                                tally.ok += 1;
                                let entry = tally.answered.entry(instance).or_default();
                                entry.0 += 1;
                                entry.1 = started.elapsed();
                            }
                            Err(status) => tally.failures.push((started.elapsed(), status)),
                        }
                        tokio::time::sleep(Duration::from_millis(5)).await;
                    }
                    tally
                })
            })
            .collect();
        Self { stop, callers }
    }

    async fn finish(self) -> Tally {
        self.stop.cancel();
        let mut total = Tally::default();
        for caller in self.callers {
            let tally = caller.await.unwrap();
            total.ok += tally.ok;
            total.failures.extend(tally.failures);
            for (instance, (n, last)) in tally.answered {
                let entry = total.answered.entry(instance).or_default();
                entry.0 += n;
                entry.1 = entry.1.max(last);
            }
        }
        total
    }
}

/// S6 under load: while callers keep calling, an instance is SIGKILLed,
/// another is added, and etcd is stopped and started again; no idempotent
/// call fails, and the instances register again by themselves.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s6_a_steady_load_sees_no_failed_call_through_kill_add_and_etcd_restart() {
    zhongtai_testkit::init_tracing();
    let mut etcd = EtcdServer::start();
    let db = TestDatabase::create().await;
    let security = Security::new();
    let (discovery, client) = viewer_through(&etcd, &security);

    let mut a = serve_approval("approval-a", &etcd, &db, &security);
    let b = serve_approval("approval-b", &etcd, &db, &security);
    let two = eventually(Duration::from_secs(10), "two instances", || async {
        let ids = known(&discovery);
        (ids.len() == 2).then_some(ids)
    })
    .await;
    let a_id = two
        .iter()
        .find(|id| a.output().contains(id.as_str()))
        .cloned()
        .unwrap();

    let started = Instant::now();
    let load = SteadyLoad::start(&client, 4);
    tokio::time::sleep(Duration::from_secs(1)).await;

    a.kill();
    let killed_at = started.elapsed();
    eventually(
        Duration::from_secs(10),
        "the killed instance left",
        || async { (!known(&discovery).contains(&a_id)).then_some(()) },
    )
    .await;

    let c = serve_approval("approval-c", &etcd, &db, &security);
    let c_id = eventually(Duration::from_secs(10), "the new instance", || async {
        known(&discovery).into_iter().find(|id| !two.contains(id))
    })
    .await;
    let c_registered_at = started.elapsed();
    tokio::time::sleep(Duration::from_secs(1)).await;

    // etcd stops for longer than the lease TTL, then comes back with its
    // data: the leases have lapsed, so the instances must register again.
    etcd.stop();
    tokio::time::sleep(LEASE_TTL + Duration::from_secs(1)).await;
    etcd.restart();
    let fresh = EtcdRegistry::new(EtcdConfig {
        endpoints: vec![etcd.endpoint()],
        ..EtcdConfig::default()
    })
    .unwrap()
    .discover("approval");
    eventually(
        Duration::from_secs(30),
        "both live instances registered again",
        || async {
            let ids: Vec<String> = fresh.current().keys().cloned().collect();
            (ids.len() == 2 && !ids.contains(&a_id)).then_some(())
        },
    )
    .await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let tally = load.finish().await;

    println!(
        "S6 under load: {} calls answered, {} failed; answered by {:?}",
        tally.ok,
        tally.failures.len(),
        tally.answered
    );
    assert!(
        tally.failures.is_empty(),
        "idempotent calls failed under load: {:?}",
        tally.failures
    );
    assert!(tally.ok > 100, "the load kept calling: {}", tally.ok);
    let (_, a_last) = tally.answered[&a_id];
    assert!(
        a_last <= killed_at,
        "the killed instance answered after its death"
    );
    let (c_calls, c_last) = tally.answered.get(&c_id).copied().unwrap_or_default();
    assert!(
        c_calls > 0 && c_last > c_registered_at,
        "the added instance took part of the load: {:?}",
        tally.answered
    );
    for mut process in [b, c] {
        process.stop_gracefully(Duration::from_secs(30));
    }
}
