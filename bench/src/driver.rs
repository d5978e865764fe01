//! The benchmark run: starts the serve process, measures throughput (P1),
//! latency at concurrency 1 (P2) and overload (P4) on each path, and hands
//! the figures to the report.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;

use crate::client::{Authenticator, Target};
use crate::load::{closed_loop, open_loop};
use crate::process::{self, ServeProcess};
use crate::serve::GatewayEndpoint;
use crate::stats::Spread;

/// How long each part runs.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Durations {
    pub warmup_secs: f64,
    pub throughput_rep_secs: f64,
    pub latency_rep_secs: f64,
    pub overload_level_secs: f64,
    pub repetitions: usize,
}

impl Durations {
    /// The full run (about four minutes).
    pub const FULL: Self = Self {
        warmup_secs: 2.0,
        throughput_rep_secs: 8.0,
        latency_rep_secs: 5.0,
        overload_level_secs: 8.0,
        repetitions: 3,
    };
    /// A smoke run of the harness (under a minute).
    pub const QUICK: Self = Self {
        warmup_secs: 0.5,
        throughput_rep_secs: 1.0,
        latency_rep_secs: 1.0,
        overload_level_secs: 1.0,
        repetitions: 3,
    };
}

/// What to run.
#[derive(Debug, Clone)]
pub struct RunOptions {
    pub durations: Durations,
    pub with_gateway: bool,
    pub pin: bool,
    pub concurrency: usize,
    pub connections: usize,
    /// Overload levels as multiples of the gateway's measured capacity.
    pub overload_multiples: Vec<f64>,
    /// Most calls the open-loop generator leaves unanswered at once.
    pub max_outstanding: usize,
    /// `max_in_flight` of the gateway with shedding "off".
    pub unshed_max_in_flight: usize,
    pub serve_exe: PathBuf,
}

/// One benchmarked path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Path {
    Direct,
    Gateway,
    Nginx,
}

impl Path {
    /// Its name in the report.
    pub fn label(self) -> &'static str {
        match self {
            Self::Direct => "direct",
            Self::Gateway => "gateway",
            Self::Nginx => "nginx",
        }
    }
}

/// P1 on one path.
#[derive(Debug, Clone, Serialize)]
pub struct Throughput {
    pub path: Path,
    pub ok_per_sec: Vec<f64>,
    pub spread: Option<Spread>,
    pub rejected: u64,
    pub failed: u64,
    pub codes: std::collections::BTreeMap<String, u64>,
}

/// P2 on one path (microseconds).
#[derive(Debug, Clone, Serialize)]
pub struct Latency {
    pub path: Path,
    pub p50_us: Vec<f64>,
    pub p99_us: Vec<f64>,
    pub p50: Option<Spread>,
    pub p99: Option<Spread>,
    pub failed: u64,
}

/// One P4 load level.
#[derive(Debug, Clone, Serialize)]
pub struct OverloadLevel {
    pub multiple: f64,
    pub target_per_sec: f64,
    pub sent_per_sec: f64,
    pub not_sent: u64,
    pub ok_per_sec: f64,
    pub rejected: u64,
    pub failed: u64,
    pub admitted_p99_us: Option<f64>,
    pub rejection_p99_us: Option<f64>,
    pub codes: std::collections::BTreeMap<String, u64>,
}

/// P4 in one shedding mode.
#[derive(Debug, Clone, Serialize)]
pub struct Overload {
    pub shedding: bool,
    pub max_in_flight: Option<usize>,
    pub levels: Vec<OverloadLevel>,
    pub rss_before_kib: Option<u64>,
    pub rss_after_kib: Option<u64>,
}

/// Everything one run measured.
#[derive(Debug, Clone, Serialize)]
pub struct Results {
    pub durations: Durations,
    pub pinned: bool,
    pub concurrency: usize,
    pub connections: usize,
    pub throughput: Vec<Throughput>,
    pub latency: Vec<Latency>,
    /// The gateway's capacity the overload levels are multiples of.
    pub gateway_capacity_per_sec: Option<f64>,
    pub overload: Vec<Overload>,
    /// Why a part was not measured.
    pub notes: Vec<String>,
}

/// Runs the whole benchmark.
pub async fn run(options: &RunOptions) -> anyhow::Result<Results> {
    let mut notes = Vec::new();
    let serve = start_serve(options, None).await?;
    let paths = reachable_paths(&serve, &mut notes);
    let d = options.durations;

    let mut throughput = Vec::new();
    let mut latency = Vec::new();
    for (path, addr, signer) in &paths {
        eprintln!("P1 throughput: {}", path.label());
        let target = Target::connect(*addr, options.connections, signer.clone()).await?;
        target.client(0).probe().await.map_err(|reason| {
            anyhow::anyhow!("the {} path does not answer: {reason}", path.label())
        })?;
        throughput.push(measure_throughput(*path, &target, options).await);
    }
    for (path, addr, signer) in &paths {
        eprintln!("P2 latency at concurrency 1: {}", path.label());
        let target = Target::connect(*addr, 1, signer.clone()).await?;
        latency.push(measure_latency(*path, &target, d).await);
    }

    let capacity = throughput
        .iter()
        .find(|t| t.path == Path::Gateway)
        .and_then(|t| t.spread)
        .map(|spread| spread.median);
    let mut overload = Vec::new();
    match (capacity, serve.ready.gateway.clone()) {
        (Some(capacity), Some(endpoint)) => {
            eprintln!("P4 overload, shedding on");
            overload
                .push(measure_overload(&serve, &endpoint, capacity, true, None, options).await?);
            serve.stop().await;
            let unshed = Some(options.unshed_max_in_flight);
            let serve = start_serve(options, unshed).await?;
            match serve.ready.gateway.clone() {
                Some(endpoint) => {
                    eprintln!("P4 overload, shedding off");
                    overload.push(
                        measure_overload(&serve, &endpoint, capacity, false, unshed, options)
                            .await?,
                    );
                }
                None => notes.push("P4 shedding off: the gateway did not start".into()),
            }
            serve.stop().await;
        }
        _ => {
            notes.push("P4 overload not measured: no gateway in this run".into());
            serve.stop().await;
        }
    }

    Ok(Results {
        durations: d,
        pinned: options.pin,
        concurrency: options.concurrency,
        connections: options.connections,
        throughput,
        latency,
        gateway_capacity_per_sec: capacity,
        overload,
        notes,
    })
}

async fn start_serve(
    options: &RunOptions,
    max_in_flight: Option<usize>,
) -> anyhow::Result<ServeProcess> {
    let mut args = Vec::new();
    if !options.with_gateway {
        args.push("--no-gateway".to_owned());
    }
    if let Some(max) = max_in_flight {
        args.push("--max-in-flight".to_owned());
        args.push(max.to_string());
    }
    ServeProcess::start(&options.serve_exe, &args, options.pin).await
}

type PathUnderTest = (Path, SocketAddr, Option<Arc<dyn Authenticator>>);

fn reachable_paths(serve: &ServeProcess, notes: &mut Vec<String>) -> Vec<PathUnderTest> {
    let mut paths: Vec<PathUnderTest> = vec![(Path::Direct, serve.ready.backend, None)];
    match &serve.ready.gateway {
        Some(endpoint) => paths.push((Path::Gateway, endpoint.addr, signer(endpoint))),
        None => notes.push("gateway path not measured: no gateway in this run".into()),
    }
    paths.push((Path::Nginx, serve.ready.nginx, None));
    paths
}

#[cfg(feature = "gateway")]
fn signer(endpoint: &GatewayEndpoint) -> Option<Arc<dyn Authenticator>> {
    Some(crate::gateway::HmacSigner::for_endpoint(endpoint))
}

#[cfg(not(feature = "gateway"))]
fn signer(_endpoint: &GatewayEndpoint) -> Option<Arc<dyn Authenticator>> {
    None
}

fn secs(value: f64) -> Duration {
    Duration::from_secs_f64(value.max(0.0))
}

async fn measure_throughput(path: Path, target: &Target, options: &RunOptions) -> Throughput {
    let d = options.durations;
    let _ = closed_loop(target, options.concurrency, secs(d.warmup_secs)).await;
    let mut result = Throughput {
        path,
        ok_per_sec: Vec::new(),
        spread: None,
        rejected: 0,
        failed: 0,
        codes: Default::default(),
    };
    for _ in 0..d.repetitions {
        let run = closed_loop(target, options.concurrency, secs(d.throughput_rep_secs)).await;
        result.ok_per_sec.push(run.ok_per_sec());
        result.rejected += run.tally.rejected;
        result.failed += run.tally.failed;
        for (code, count) in run.tally.codes {
            *result.codes.entry(code).or_default() += count;
        }
    }
    result.spread = Spread::of(&result.ok_per_sec);
    result
}

async fn measure_latency(path: Path, target: &Target, d: Durations) -> Latency {
    let _ = closed_loop(target, 1, secs(d.warmup_secs.min(1.0))).await;
    let mut result = Latency {
        path,
        p50_us: Vec::new(),
        p99_us: Vec::new(),
        p50: None,
        p99: None,
        failed: 0,
    };
    for _ in 0..d.repetitions {
        let run = closed_loop(target, 1, secs(d.latency_rep_secs)).await;
        let samples = run.tally.ok_latencies();
        result.failed += run.tally.failed + run.tally.rejected;
        if let (Some(p50), Some(p99)) =
            (samples.quantile_micros(0.50), samples.quantile_micros(0.99))
        {
            result.p50_us.push(p50);
            result.p99_us.push(p99);
        }
    }
    result.p50 = Spread::of(&result.p50_us);
    result.p99 = Spread::of(&result.p99_us);
    result
}

/// How long the gateway gets after overload before its memory is read.
const SETTLE: Duration = Duration::from_secs(2);

async fn measure_overload(
    serve: &ServeProcess,
    endpoint: &GatewayEndpoint,
    capacity: f64,
    shedding: bool,
    max_in_flight: Option<usize>,
    options: &RunOptions,
) -> anyhow::Result<Overload> {
    let target = Target::connect(endpoint.addr, options.connections, signer(endpoint)).await?;
    let _ = closed_loop(
        &target,
        options.concurrency,
        secs(options.durations.warmup_secs),
    )
    .await;
    let rss_before_kib = serve.pid().and_then(process::rss_kib);
    let mut levels = Vec::new();
    for &multiple in &options.overload_multiples {
        let rate = capacity * multiple;
        eprintln!("  offered {multiple}x = {rate:.0}/s");
        let run = open_loop(
            &target,
            rate,
            secs(options.durations.overload_level_secs),
            options.connections,
            options.max_outstanding,
        )
        .await;
        levels.push(OverloadLevel {
            multiple,
            target_per_sec: rate,
            sent_per_sec: run.sent_per_sec(),
            not_sent: run.not_sent,
            ok_per_sec: run.ok_per_sec(),
            rejected: run.tally.rejected,
            failed: run.tally.failed,
            admitted_p99_us: run.tally.ok_latencies().quantile_micros(0.99),
            rejection_p99_us: run.tally.rejection_latencies().quantile_micros(0.99),
            codes: run.tally.codes.clone(),
        });
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    tokio::time::sleep(SETTLE).await;
    let rss_after_kib = serve.pid().and_then(process::rss_kib);
    Ok(Overload {
        shedding,
        max_in_flight,
        levels,
        rss_before_kib,
        rss_after_kib,
    })
}
