//! P6: a dead instance leaves routing: SIGKILL vs graceful stop.
//!
//! Three `zhongtai serve approval` processes register in etcd with a short
//! lease; a caller keeps a steady load of idempotent reads through a
//! MeshChannel over etcd discovery, noting which instance answered each
//! call. One instance is SIGKILLed, then another stopped with SIGTERM;
//! replacements start between stops so three serve again.

#[cfg(feature = "gateway")]
mod run;
#[cfg(feature = "gateway")]
mod traffic;
#[cfg(feature = "gateway")]
pub mod zhongtai_serve;

use std::fmt::Write as _;

use serde::Serialize;

use crate::report::Verdict;
use crate::section::{SectionOptions, SectionReport};
use crate::stats::Spread;

/// The registration lease the instances get: how long a dead instance may
/// stay in discovery.
#[cfg(feature = "gateway")]
pub const LEASE_TTL_SECS: u64 = 2;
/// Concurrent callers of the steady load.
#[cfg(feature = "gateway")]
pub const CALLERS: usize = 8;
/// The graceful bound of the issue.
const GRACEFUL_TARGET_MS: f64 = 100.0;
/// What SIGKILL may take beyond the lease.
const KILL_SLACK_MS: f64 = 500.0;

/// The figures of P6.
#[derive(Debug, Clone, Serialize)]
pub struct FailoverResults {
    /// The `zhongtai` binary the instances ran.
    pub binary: String,
    pub lease_ttl_secs: u64,
    pub instances: usize,
    pub callers: usize,
    /// One per repetition.
    pub killed: Vec<StopFigures>,
    pub graceful: Vec<StopFigures>,
    /// Why parts were not measured, first errors, caveats.
    pub notes: Vec<String>,
}

/// What one stop of one instance looked like from the caller.
#[derive(Debug, Clone, Serialize)]
pub struct StopFigures {
    /// From the signal to the instance logging that its shutdown began, and
    /// that etcd revoked its lease (graceful only; its log's wall clock).
    pub shutdown_began_ms: Option<f64>,
    pub deregistered_ms: Option<f64>,
    /// From the signal to the instance's key leaving the caller's discovery.
    pub left_discovery_ms: f64,
    /// From the signal to the sending of the last call the instance
    /// answered (0 when none was sent after the signal).
    pub last_routed_ms: f64,
    /// From the signal to the last answer the instance gave (0 when none
    /// came after the signal): a graceful stop drains what it holds.
    pub last_answered_ms: f64,
    /// The later of leaving discovery and the last call routed to it: from
    /// then on no new call reaches it.
    pub out_of_routing_ms: f64,
    /// Calls in flight at the signal or sent until half a second after it
    /// was out of routing, and those that failed after the mesh's retries.
    pub calls: usize,
    pub failed_calls: usize,
    /// The slowest of those calls: what a retry cost.
    pub slowest_call_ms: f64,
    /// From the signal to the process's exit (graceful: the drain).
    pub exited_ms: Option<f64>,
    pub first_error: Option<String>,
}

/// Runs P6.
#[cfg(not(feature = "gateway"))]
pub async fn run(_options: &SectionOptions) -> anyhow::Result<FailoverResults> {
    anyhow::bail!("P6 needs the `gateway` feature (zhongtai-kit, zhongtai-mesh, zhongtai-testkit)")
}

/// Runs P6.
#[cfg(feature = "gateway")]
pub async fn run(options: &SectionOptions) -> anyhow::Result<FailoverResults> {
    run::run(options).await
}

fn spread_of(stops: &[StopFigures], figure: impl Fn(&StopFigures) -> f64) -> Option<Spread> {
    Spread::of(&stops.iter().map(figure).collect::<Vec<_>>())
}

fn ms(spread: Option<Spread>) -> String {
    spread.map_or("—".into(), |s| {
        format!("{:.0} ms [{:.0}–{:.0}]", s.median, s.min, s.max)
    })
}

impl FailoverResults {
    fn failed(stops: &[StopFigures]) -> usize {
        stops.iter().map(|s| s.failed_calls).sum()
    }
}

impl SectionReport for FailoverResults {
    fn verdicts(&self) -> Vec<Verdict> {
        let kill_bound = self.lease_ttl_secs as f64 * 1_000.0 + KILL_SLACK_MS;
        let killed = spread_of(&self.killed, |s| s.out_of_routing_ms);
        let graceful = spread_of(&self.graceful, |s| s.out_of_routing_ms);
        vec![
            Verdict {
                what: "P6 SIGKILL: out of routing ≤ TTL+0.5 s".into(),
                target: format!("≤ {kill_bound:.0} ms (TTL {} s)", self.lease_ttl_secs),
                measured: format!(
                    "{}, {} failed calls",
                    ms(killed),
                    Self::failed(&self.killed)
                ),
                met: killed.map(|s| s.max <= kill_bound),
            },
            Verdict {
                what: "P6 graceful: out of routing ≤ 100 ms".into(),
                target: format!("≤ {GRACEFUL_TARGET_MS:.0} ms"),
                measured: ms(graceful),
                met: graceful.map(|s| s.max <= GRACEFUL_TARGET_MS),
            },
            Verdict {
                what: "P6 graceful: 0 failed calls".into(),
                target: "0".into(),
                measured: Self::failed(&self.graceful).to_string(),
                met: (!self.graceful.is_empty()).then(|| Self::failed(&self.graceful) == 0),
            },
        ]
    }

    fn markdown(&self) -> String {
        let mut md = String::new();
        let _ = writeln!(md, "## P6 — a dead instance leaves routing\n");
        let _ = writeln!(
            md,
            "{} `zhongtai serve approval` instances ({}, one fresh PostgreSQL \
             database, TLS off on loopback, token checks on) register in etcd with a lease \
             TTL of {} s (`ZHONGTAI_MESH__LEASE_TTL_SECS`). {} callers keep calling \
             ListServiceItems (idempotent, so the mesh retries it elsewhere) through a \
             MeshChannel over etcd discovery; each answer names its instance \
             (`zhongtai-instance`). Times are from the signal; \"out of routing\" is the \
             later of the instance leaving the caller's discovery and the sending of the last \
             call it answered (calls it already held and answered while draining do not \
             route anything new to it). \
             Median [min–max] over {} repetition(s); a replacement starts after each stop.\n",
            self.instances,
            self.binary,
            self.lease_ttl_secs,
            self.callers,
            self.killed.len().max(self.graceful.len()),
        );
        let _ = writeln!(
            md,
            "| stop | left discovery | last call routed to it | last answer | out of routing | process exited | calls | failed | slowest call |"
        );
        let _ = writeln!(md, "|---|---:|---:|---:|---:|---:|---:|---:|---:|");
        for (name, stops) in [
            ("SIGKILL", &self.killed),
            ("SIGTERM (graceful)", &self.graceful),
        ] {
            let exited: Vec<f64> = stops.iter().filter_map(|s| s.exited_ms).collect();
            let _ = writeln!(
                md,
                "| {name} | {} | {} | {} | {} | {} | {} | {} | {} |",
                ms(spread_of(stops, |s| s.left_discovery_ms)),
                ms(spread_of(stops, |s| s.last_routed_ms)),
                ms(spread_of(stops, |s| s.last_answered_ms)),
                ms(spread_of(stops, |s| s.out_of_routing_ms)),
                ms(Spread::of(&exited)),
                stops.iter().map(|s| s.calls).sum::<usize>(),
                Self::failed(stops),
                ms(spread_of(stops, |s| s.slowest_call_ms)),
            );
        }
        let _ = writeln!(
            md,
            "\nA SIGKILLed instance answers nothing after the signal: its connections \
             close with the process, a call that was on its way there fails at the \
             connection level, the caller ejects the instance and retries the call on \
             another one (the slowest call is that retry); its key stays in etcd until the \
             lease runs out — the TTL counted from the last keep-alive (sent every TTL/3), so \
             between 2/3 of the TTL and the TTL after the kill, plus etcd's expiry check. A \
             SIGTERMed instance first reports NOT_SERVING and revokes its lease (etcd tells \
             every watcher), then drains the calls it holds: its last answers come just \
             after it left discovery."
        );
        let began: Vec<f64> = self
            .graceful
            .iter()
            .filter_map(|s| s.shutdown_began_ms)
            .collect();
        let revoked: Vec<f64> = self
            .graceful
            .iter()
            .filter_map(|s| s.deregistered_ms)
            .collect();
        if !began.is_empty() || !revoked.is_empty() {
            let _ = writeln!(
                md,
                "\nWhere a graceful stop's time goes (medians, from the signal, the instance's \
                 own log): its shutdown began after {} (signal delivery to the runtime); etcd \
                 confirmed the lease revoked after {}; the caller's discovery dropped it after \
                 {} (the watch event, which can beat the revoke's answer); its last answer \
                 (draining what it held) came after {}.",
                ms(Spread::of(&began)),
                ms(Spread::of(&revoked)),
                ms(spread_of(&self.graceful, |s| s.left_discovery_ms)),
                ms(spread_of(&self.graceful, |s| s.last_answered_ms)),
            );
        }
        if !self.notes.is_empty() {
            let _ = writeln!(md, "\nNotes:\n");
            for note in &self.notes {
                let _ = writeln!(md, "- {note}");
            }
        }
        md
    }
}
