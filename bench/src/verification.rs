//! P3: certificate and code verification over gRPC on one core vs raw
//! Ed25519 verify.
//!
//! The system under test is the product itself: `zhongtai serve
//! certificate` pinned to the server core, against PostgreSQL, etcd and
//! RabbitMQ, with token checks on (every call carries a verifier's bearer
//! token, checked as in production). What it verifies — a citizen's
//! personal code and the certificate behind it — is created through its
//! API. In the same run and on the same core, ring's raw Ed25519 verify
//! gives the floor the gRPC path is compared with.

#[cfg(feature = "gateway")]
mod center;
#[cfg(feature = "gateway")]
mod load;
#[cfg(feature = "gateway")]
mod raw;
mod report;

#[cfg(feature = "gateway")]
use std::time::Duration;

use serde::Serialize;

use crate::section::SectionOptions;
use crate::stats::Spread;

/// The peak rate the issue asks for.
const TARGET_PER_SECOND: f64 = 20_000.0;
/// The offered rate of the open loop and its p99 bound.
const OPEN_LOOP_RATE: f64 = 15_000.0;
const TARGET_P99_MICROS: f64 = 2_000.0;
/// HTTP/2 connections the load spreads over and calls outstanding in the
/// closed loop: enough that the server, not the client's window, limits.
#[cfg(feature = "gateway")]
const CONNECTIONS: usize = 8;
#[cfg(feature = "gateway")]
const IN_FLIGHT: usize = 256;

/// The figures of P3.
#[derive(Debug, Clone, Serialize)]
pub struct VerificationResults {
    /// What ran, in words.
    pub system_under_test: String,
    pub pinned: bool,
    pub connections: usize,
    pub in_flight: usize,
    /// ring Ed25519 verifies a second on the server core, per repetition.
    pub raw_ed25519_per_second: Vec<f64>,
    pub raw_ed25519: Option<Spread>,
    /// Closed-loop peak, per RPC.
    pub peak: Vec<PeakFigures>,
    /// VerifyCode refused before any code signature is checked: what the
    /// gRPC stack and the caller's token check cost on their own.
    pub refused_peak: PeakFigures,
    /// Open loop at [`OPEN_LOOP_RATE`], per RPC.
    pub open_loop: Vec<OpenLoopFigures>,
    /// Why parts were not measured, first errors, caveats.
    pub notes: Vec<String>,
}

/// One RPC's peak over the repetitions.
#[derive(Debug, Clone, Serialize)]
pub struct PeakFigures {
    pub rpc: String,
    pub per_second: Vec<f64>,
    pub spread: Option<Spread>,
    /// Calls that did not come back VALID, over all repetitions.
    pub errors: u64,
    /// How busy the server process kept its core (100 = one core).
    pub server_cpu_percent: Vec<f64>,
    /// How busy the load generator process was (100 = one core).
    pub client_cpu_percent: Vec<f64>,
}

/// One RPC at a fixed offered rate over the repetitions.
#[derive(Debug, Clone, Serialize)]
pub struct OpenLoopFigures {
    pub rpc: String,
    /// At the 15,000/s (else at half the RPC's own peak).
    pub at_target_rate: bool,
    /// What the load actually sent, per repetition.
    pub offered_per_second: Vec<f64>,
    pub answered_per_second: Vec<f64>,
    pub p50_micros: Vec<f64>,
    pub p99_micros: Vec<f64>,
    pub p999_micros: Vec<f64>,
    pub p50: Option<Spread>,
    pub p99: Option<Spread>,
    pub p999: Option<Spread>,
    pub errors: u64,
    pub server_cpu_percent: Vec<f64>,
}

#[cfg(feature = "gateway")]
struct Durations {
    raw: Duration,
    warm_up: Duration,
    peak: Duration,
    open_loop: Duration,
    repetitions: usize,
}

#[cfg(feature = "gateway")]
impl Durations {
    fn of(options: &SectionOptions) -> Self {
        if options.quick {
            Self {
                raw: Duration::from_millis(300),
                warm_up: Duration::from_millis(500),
                peak: Duration::from_millis(1_500),
                open_loop: Duration::from_secs(2),
                repetitions: 1,
            }
        } else {
            Self {
                raw: Duration::from_secs(2),
                warm_up: Duration::from_secs(2),
                peak: Duration::from_secs(5),
                open_loop: Duration::from_secs(10),
                repetitions: options.repetitions.max(1),
            }
        }
    }
}

/// Runs P3.
#[cfg(not(feature = "gateway"))]
pub async fn run(_options: &SectionOptions) -> anyhow::Result<VerificationResults> {
    anyhow::bail!("P3 needs the `gateway` feature (zhongtai-kit, zhongtai-mesh, zhongtai-testkit)")
}

/// Runs P3.
#[cfg(feature = "gateway")]
pub async fn run(options: &SectionOptions) -> anyhow::Result<VerificationResults> {
    use anyhow::Context as _;

    use crate::failover::zhongtai_serve::process_cpu_seconds;
    use load::{Caller, Rpc};

    let durations = Durations::of(options);
    let center = center::Center::start(options.pin).await?;
    let server_pid = center
        .process
        .pid()
        .context("the certificate center exited")?;
    let mut channels = Vec::with_capacity(CONNECTIONS);
    for _ in 0..CONNECTIONS {
        channels.push(center::connect(center.address).await?);
    }
    let callers = [
        Caller::new(
            Rpc::Code,
            center.code.qr_payload.clone(),
            &center.verifier_token,
        )?,
        Caller::new(
            Rpc::Certificate,
            center.certificate.token.clone(),
            &center.verifier_token,
        )?,
    ];
    let refused = Caller::new(
        Rpc::NotACode,
        "not a code".to_owned(),
        &center.verifier_token,
    )?;
    // Both presentations verify before anything is timed.
    for caller in &callers {
        caller
            .call(&channels[0])
            .await
            .map_err(|why| anyhow::anyhow!("the first verification failed: {why}"))?;
    }
    let signing_input = center
        .code
        .token
        .rsplit_once('.')
        .map(|(input, _)| input.as_bytes().to_vec())
        .context("the code is not a compact JWS")?;
    let cpu_percent = |pid: u32, before: f64, wall: f64| {
        (process_cpu_seconds(pid) - before) / wall.max(f64::EPSILON) * 100.0
    };
    let bench_pid = std::process::id();

    let mut raw_rates = Vec::new();
    let peak_figures = |caller: &Caller| PeakFigures {
        rpc: caller.rpc().label().to_owned(),
        per_second: Vec::new(),
        spread: None,
        errors: 0,
        server_cpu_percent: Vec::new(),
        client_cpu_percent: Vec::new(),
    };
    let mut peaks: Vec<PeakFigures> = callers.iter().map(peak_figures).collect();
    let mut refused_peak = peak_figures(&refused);
    // Each RPC at the rate and at half its own peak (where queueing
    // does not dominate).
    let mut opens: Vec<OpenLoopFigures> = callers
        .iter()
        .flat_map(|c| {
            [true, false].map(|at_target_rate| OpenLoopFigures {
                rpc: c.rpc().label().to_owned(),
                at_target_rate,
                offered_per_second: Vec::new(),
                answered_per_second: Vec::new(),
                p50_micros: Vec::new(),
                p99_micros: Vec::new(),
                p999_micros: Vec::new(),
                p50: None,
                p99: None,
                p999: None,
                errors: 0,
                server_cpu_percent: Vec::new(),
            })
        })
        .collect();
    let mut notes = Vec::new();
    for repetition in 0..durations.repetitions {
        eprintln!(
            "  P3 repetition {}/{}",
            repetition + 1,
            durations.repetitions
        );
        raw_rates.push(
            raw::ed25519_verify_rate(signing_input.clone(), durations.raw, options.pin).await?,
        );
        let peak_runs = callers
            .iter()
            .zip(peaks.iter_mut())
            .chain([(&refused, &mut refused_peak)]);
        for (caller, figures) in peak_runs {
            let (server_before, client_before) = (
                process_cpu_seconds(server_pid),
                process_cpu_seconds(bench_pid),
            );
            let started = std::time::Instant::now();
            let peak = load::closed_loop(
                caller,
                &channels,
                IN_FLIGHT,
                durations.warm_up,
                durations.peak,
            )
            .await;
            let wall = started.elapsed().as_secs_f64();
            figures.per_second.push(peak.answered_per_second);
            figures.errors += peak.errors;
            figures
                .server_cpu_percent
                .push(cpu_percent(server_pid, server_before, wall));
            figures
                .client_cpu_percent
                .push(cpu_percent(bench_pid, client_before, wall));
            if let Some(why) = peak.first_error {
                notes.push(format!("{} at peak, first failed call: {why}", figures.rpc));
            }
        }
        for (index, figures) in opens.iter_mut().enumerate() {
            let (caller, peak) = (&callers[index / 2], &peaks[index / 2]);
            let rate = if figures.at_target_rate {
                OPEN_LOOP_RATE
            } else {
                (peak.per_second.last().copied().unwrap_or(OPEN_LOOP_RATE) / 2.0).max(1.0)
            };
            // Warm up at the same rate, then measure.
            let _ = load::open_loop(caller, &channels, rate, durations.warm_up).await;
            let server_before = process_cpu_seconds(server_pid);
            let started = std::time::Instant::now();
            let open = load::open_loop(caller, &channels, rate, durations.open_loop).await;
            let wall = started.elapsed().as_secs_f64();
            figures.offered_per_second.push(open.offered_per_second);
            figures.answered_per_second.push(open.answered_per_second);
            let quantile = |q: f64| open.latencies.quantile_micros(q).unwrap_or(f64::NAN);
            figures.p50_micros.push(quantile(0.50));
            figures.p99_micros.push(quantile(0.99));
            figures.p999_micros.push(quantile(0.999));
            figures.errors += open.errors;
            figures
                .server_cpu_percent
                .push(cpu_percent(server_pid, server_before, wall));
            if let Some(why) = open.first_error {
                notes.push(format!(
                    "{} at {rate:.0}/s, first failed call: {why}",
                    figures.rpc
                ));
            }
        }
    }
    notes.sort();
    notes.dedup();
    for figures in peaks.iter_mut().chain([&mut refused_peak]) {
        figures.spread = Spread::of(&figures.per_second);
    }
    for figures in &mut opens {
        figures.p50 = Spread::of(&figures.p50_micros);
        figures.p99 = Spread::of(&figures.p99_micros);
        figures.p999 = Spread::of(&figures.p999_micros);
    }
    drop(channels);
    let mut process = center.process;
    let _ = process.terminate();
    process.wait_exit(Duration::from_secs(20)).await;
    Ok(VerificationResults {
        system_under_test: format!(
            "`zhongtai serve certificate` ({}), PostgreSQL, etcd, RabbitMQ; bearer-token checks \
             on; TLS off (loopback)",
            crate::section::zhongtai_bin()?.display()
        ),
        pinned: options.pin,
        connections: CONNECTIONS,
        in_flight: IN_FLIGHT,
        raw_ed25519: Spread::of(&raw_rates),
        raw_ed25519_per_second: raw_rates,
        peak: peaks,
        refused_peak,
        open_loop: opens,
        notes,
    })
}
