//! The P6 run: instances up, steady load, SIGKILL one, replace it, SIGTERM
//! another, replace it; each repetition read off the callers' records.

use std::time::{Duration, Instant};

use anyhow::Context as _;
use zhongtai_kit::Role;
use zhongtai_mesh::{ChannelConfig, Discovery, EtcdConfig, EtcdRegistry, MeshChannel, Registry};
use zhongtai_testkit::TestDatabase;

use super::traffic::{CallRecord, Traffic};
use super::zhongtai_serve::{DevAuth, REGISTERED, ZhongtaiServe, logged_at, run_tag};
use super::{CALLERS, FailoverResults, LEASE_TTL_SECS, StopFigures};
use crate::section::{SectionOptions, backing};

const INSTANCES: usize = 3;
/// What a service logs when its graceful shutdown begins, and once etcd
/// has revoked its lease.
const SHUTTING_DOWN: &str = "shutting down: leaving discovery, then draining";
const DEREGISTERED: &str = "deregistered from etcd";
const START_TIMEOUT: Duration = Duration::from_secs(120);
/// How long a stopped instance may take to leave discovery before the run
/// gives up on it.
const LEAVE_TIMEOUT: Duration = Duration::from_secs(30);
/// Calls watched after an instance is out of routing, to catch late
/// failures.
const AFTERMATH: Duration = Duration::from_millis(500);
/// How far back a call still in flight at the signal may have been sent
/// (the mesh's default deadline).
const IN_FLIGHT_LOOKBACK: Duration = Duration::from_secs(10);
/// Longer than the mesh's default deadline: by then every call has an
/// outcome.
const SETTLE_TIMEOUT: Duration = Duration::from_secs(15);
/// Time a replacement gets after its first answer before the next stop, so
/// its start-up work does not slow the stop being measured.
const SETTLE_AFTER_START: Duration = Duration::from_secs(1);

/// One started instance and the id it registered under.
struct Instance {
    process: ZhongtaiServe,
    id: String,
}

/// What starting instances needs.
struct Fleet {
    auth: DevAuth,
    envs: Vec<(String, String)>,
    discovery: Discovery,
    pin: bool,
    started: usize,
}

impl Fleet {
    /// Starts one more instance and waits until the caller's discovery has
    /// it.
    async fn start(&mut self) -> anyhow::Result<Instance> {
        self.started += 1;
        let name = format!("approval-{}", self.started);
        let before: Vec<String> = self.discovery.current().keys().cloned().collect();
        let mut process =
            ZhongtaiServe::spawn("approval", &name, &self.envs, self.pin, self.auth.dir())?;
        process.wait_for_log(REGISTERED, START_TIMEOUT).await?;
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(id) = self
                .discovery
                .current()
                .keys()
                .find(|id| !before.contains(id))
            {
                return Ok(Instance {
                    process,
                    id: id.clone(),
                });
            }
            anyhow::ensure!(
                Instant::now() < deadline,
                "{name} logged its registration but the caller's discovery never saw it"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

pub async fn run(options: &SectionOptions) -> anyhow::Result<FailoverResults> {
    let etcd = backing("ZT_TEST_ETCD_ENDPOINTS")?;
    let amqp = backing("ZT_TEST_AMQP_URL")?;
    backing("ZT_TEST_POSTGRES_URL")?;
    let repetitions = if options.quick {
        1
    } else {
        options.repetitions.max(1)
    };
    // TestDatabase panics when PostgreSQL is unreachable: keep that inside
    // its task and report it as this section's error.
    let database = tokio::spawn(TestDatabase::create()).await.map_err(|_| {
        anyhow::anyhow!("cannot create a PostgreSQL database (ZT_TEST_POSTGRES_URL)")
    })?;
    let auth = DevAuth::new()?;
    let tag = run_tag();
    let prefix = format!("/{tag}/services");
    let mut envs = auth.serve_env();
    envs.extend(
        [
            ("DATABASE_URL", database.url().to_owned()),
            ("ETCD_ENDPOINTS", etcd.clone()),
            ("AMQP_URL", amqp),
            ("ZHONGTAI_SERVER__LISTEN", "127.0.0.1:0".to_owned()),
            ("ZHONGTAI_SERVER__DRAIN_TIMEOUT_MS", "2000".to_owned()),
            ("ZHONGTAI_MESH__PREFIX", prefix.clone()),
            ("ZHONGTAI_MESH__LEASE_TTL_SECS", LEASE_TTL_SECS.to_string()),
            ("ZHONGTAI_EVENTS__EXCHANGE", format!("{tag}.events")),
            ("ZHONGTAI_EVENTS__QUEUE_PREFIX", format!("{tag}.")),
        ]
        .map(|(key, value)| (key.to_owned(), value)),
    );
    let registry = EtcdRegistry::new(EtcdConfig {
        endpoints: etcd.split(',').map(|e| e.trim().to_owned()).collect(),
        prefix,
        ..EtcdConfig::default()
    })
    .context("the etcd registry")?;
    let discovery = registry.discover("approval");
    let mut fleet = Fleet {
        auth,
        envs,
        discovery: discovery.clone(),
        pin: options.pin,
        started: 0,
    };
    let mut live = Vec::with_capacity(INSTANCES);
    for _ in 0..INSTANCES {
        live.push(fleet.start().await?);
    }
    let token = fleet.auth.token(
        "failover-caller",
        "331100/market-regulation",
        &[Role::Viewer],
    )?;
    let authorization = format!("Bearer {token}")
        .parse()
        .map_err(|_| anyhow::anyhow!("the token is not a header value"))?;
    let channel = MeshChannel::new(discovery.clone(), ChannelConfig::default());
    let traffic = Traffic::start(channel, &discovery, authorization, CALLERS);

    let outcome = measure(&mut fleet, &mut live, &traffic, repetitions, options.quick).await;
    traffic.stop().await;
    for instance in &mut live {
        let _ = instance.process.terminate();
    }
    for instance in &mut live {
        instance.process.wait_exit(Duration::from_secs(20)).await;
    }
    let (killed, graceful, notes) = outcome?;
    Ok(FailoverResults {
        binary: crate::section::zhongtai_bin()?.display().to_string(),
        lease_ttl_secs: LEASE_TTL_SECS,
        instances: INSTANCES,
        callers: CALLERS,
        killed,
        graceful,
        notes,
    })
}

type Measured = (Vec<StopFigures>, Vec<StopFigures>, Vec<String>);

async fn measure(
    fleet: &mut Fleet,
    live: &mut Vec<Instance>,
    traffic: &Traffic,
    repetitions: usize,
    quick: bool,
) -> anyhow::Result<Measured> {
    // Warm up: every instance answers before anything is stopped.
    let warm_up_start = Instant::now();
    let deadline = warm_up_start + Duration::from_secs(if quick { 5 } else { 10 });
    tokio::time::sleep(Duration::from_millis(if quick { 500 } else { 2_000 })).await;
    loop {
        let calls = traffic.snapshot(warm_up_start);
        let answered_by_all = live.iter().all(|instance| {
            calls
                .iter()
                .any(|c| c.outcome.as_ref().is_ok_and(|id| *id == instance.id))
        });
        if answered_by_all {
            break;
        }
        anyhow::ensure!(
            Instant::now() < deadline,
            "not every instance answered during the warm-up: {}",
            describe(&calls)
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let (mut killed, mut graceful, mut notes) = (Vec::new(), Vec::new(), Vec::new());
    for repetition in 0..repetitions {
        eprintln!("  P6 repetition {}/{repetitions}", repetition + 1);
        for graceful_stop in [false, true] {
            // The oldest instance goes: it has the most connections.
            let mut victim = live.remove(0);
            let figures = stop_one(&mut victim, traffic, graceful_stop).await?;
            if let Some(why) = &figures.first_error {
                notes.push(format!(
                    "{} of {}: first failed call: {why}",
                    if graceful_stop { "SIGTERM" } else { "SIGKILL" },
                    victim.process.name()
                ));
            }
            if graceful_stop {
                graceful.push(figures);
            } else {
                killed.push(figures);
            }
            let replacement = fleet.start().await?;
            wait_for_answer(traffic, &replacement).await?;
            tokio::time::sleep(SETTLE_AFTER_START).await;
            live.push(replacement);
        }
    }
    Ok((killed, graceful, notes))
}

/// Waits until `instance` has answered one of the load's calls.
async fn wait_for_answer(traffic: &Traffic, instance: &Instance) -> anyhow::Result<()> {
    let since = Instant::now();
    loop {
        let calls = traffic.snapshot(since);
        if calls
            .iter()
            .any(|c| c.outcome.as_ref().is_ok_and(|id| *id == instance.id))
        {
            return Ok(());
        }
        anyhow::ensure!(
            since.elapsed() < SETTLE_TIMEOUT,
            "{} got no calls within {SETTLE_TIMEOUT:?} of registering: {}",
            instance.process.name(),
            describe(&calls)
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Signals `victim` and reads off the callers' records how it left.
async fn stop_one(
    victim: &mut Instance,
    traffic: &Traffic,
    graceful: bool,
) -> anyhow::Result<StopFigures> {
    let signalled = Instant::now();
    let signalled_wall = chrono::Utc::now();
    if graceful {
        victim.process.terminate()?;
    } else {
        victim.process.kill()?;
    }
    // Leaving discovery and exiting are noted as they are seen, whichever
    // comes first (graceful: deregistered, then drained; SIGKILL: exited at
    // once, the key stays until its lease expires).
    let (mut left, mut exited) = (None, None);
    while left.is_none() || exited.is_none() {
        if left.is_none() {
            left = traffic.left_discovery(&victim.id);
        }
        if exited.is_none() && victim.process.has_exited() {
            exited = Some(Instant::now());
        }
        anyhow::ensure!(
            signalled.elapsed() < LEAVE_TIMEOUT,
            "{} did not leave discovery and exit within {LEAVE_TIMEOUT:?} of the signal",
            victim.process.name()
        );
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let left = left.unwrap_or(signalled);
    victim.process.wait_exit(Duration::from_secs(1)).await;
    // Every call sent while it was leaving must have finished (or failed
    // after its retries) before the records are read.
    let settled_by = Instant::now() + SETTLE_TIMEOUT;
    let window_end = left.max(Instant::now()) + AFTERMATH;
    while !traffic.all_past(window_end) {
        anyhow::ensure!(
            Instant::now() < settled_by,
            "calls sent while {} stopped were still unanswered after {SETTLE_TIMEOUT:?}",
            victim.process.name()
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // Calls in flight at the signal count too: a graceful stop drains
    // them, a SIGKILL breaks them.
    let in_flight_since = signalled
        .checked_sub(IN_FLIGHT_LOOKBACK)
        .unwrap_or(signalled);
    let calls: Vec<CallRecord> = traffic
        .snapshot(in_flight_since)
        .into_iter()
        .filter(|c| c.done >= signalled)
        .collect();
    let answered_by_victim: Vec<&CallRecord> = calls
        .iter()
        .filter(|c| c.outcome.as_ref().is_ok_and(|id| *id == victim.id))
        .collect();
    let after_signal = |at: Instant| millis(at.saturating_duration_since(signalled));
    let last_answered_ms = answered_by_victim
        .iter()
        .map(|c| after_signal(c.done))
        .fold(0.0, f64::max);
    let last_routed_ms = answered_by_victim
        .iter()
        .map(|c| after_signal(c.sent))
        .fold(0.0, f64::max);
    let left_discovery_ms = millis(left - signalled);
    // Routing is where new calls go: a call it was already holding and
    // answered while draining does not count.
    let out_of_routing_ms = left_discovery_ms.max(last_routed_ms);
    let watched_until = signalled
        + Duration::from_secs_f64(out_of_routing_ms.max(last_answered_ms) / 1_000.0)
        + AFTERMATH;
    let during: Vec<&CallRecord> = calls.iter().filter(|c| c.sent <= watched_until).collect();
    let failed: Vec<&CallRecord> = during
        .iter()
        .copied()
        .filter(|c| c.outcome.is_err())
        .collect();
    // The instance's own log says when its shutdown began and when etcd
    // confirmed the lease revoked (wall clock, as the log is).
    let log = victim.process.log_text();
    let logged_ms = |message: &str| {
        logged_at(&log, message)
            .map(|at| (at - signalled_wall).num_microseconds().unwrap_or(0) as f64 / 1_000.0)
    };
    Ok(StopFigures {
        shutdown_began_ms: logged_ms(SHUTTING_DOWN),
        deregistered_ms: logged_ms(DEREGISTERED),
        left_discovery_ms,
        last_routed_ms,
        last_answered_ms,
        out_of_routing_ms,
        calls: during.len(),
        failed_calls: failed.len(),
        slowest_call_ms: during
            .iter()
            .map(|c| millis(c.done - c.sent))
            .fold(0.0, f64::max),
        exited_ms: exited.map(|at| millis(at - signalled)),
        first_error: failed
            .first()
            .and_then(|c| c.outcome.as_ref().err().cloned()),
    })
}

fn millis(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1_000.0
}

/// Who answered how many calls, and the errors, for error messages.
fn describe(calls: &[CallRecord]) -> String {
    let mut by = std::collections::BTreeMap::<String, usize>::new();
    for call in calls {
        let key = match &call.outcome {
            Ok(id) => id.clone(),
            Err(why) => format!("error {why}"),
        };
        *by.entry(key).or_default() += 1;
    }
    format!("{by:?}")
}
