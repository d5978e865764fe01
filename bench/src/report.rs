//! `bench/RESULTS.md` (tables with targets, met or missed) and
//! `bench/results.json` (the raw figures).

use std::fmt::Write as _;
use std::path::Path as FsPath;

use anyhow::Context as _;
use serde::Serialize;

use crate::driver::{Path, Results};
use crate::section::SectionReport;
use crate::stats::Spread;

/// Where and on what the run happened.
#[derive(Debug, Clone, Serialize)]
pub struct Machine {
    pub date: String,
    pub cpus: usize,
    pub cpu_model: String,
    pub command: String,
}

impl Machine {
    /// This machine, now, running `command`.
    pub fn here(command: String) -> Self {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let cpu_model = cpuinfo
            .lines()
            .find_map(|line| line.strip_prefix("model name"))
            .and_then(|rest| rest.split_once(':'))
            .map_or_else(
                || "unknown".to_owned(),
                |(_, model)| model.trim().to_owned(),
            );
        Self {
            date: chrono::Utc::now().format("%Y-%m-%d %H:%M UTC").to_string(),
            // Counted from cpuinfo: this process may be pinned to one core.
            cpus: cpuinfo
                .lines()
                .filter(|line| line.starts_with("processor"))
                .count()
                .max(1),
            cpu_model,
            command,
        }
    }
}

/// One target and whether the run met it.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Verdict {
    pub what: String,
    pub target: String,
    pub measured: String,
    /// `None` when it could not be measured.
    pub met: Option<bool>,
}

fn median(results: &Results, path: Path) -> Option<f64> {
    results
        .throughput
        .iter()
        .find(|t| t.path == path)
        .and_then(|t| t.spread)
        .map(|s| s.median)
}

fn latency(results: &Results, path: Path) -> Option<(Spread, Spread)> {
    let found = results.latency.iter().find(|l| l.path == path)?;
    Some((found.p50?, found.p99?))
}

/// The brief's targets, checked against the figures.
pub fn verdicts(results: &Results) -> Vec<Verdict> {
    let mut out = Vec::new();
    let direct = median(results, Path::Direct);
    let gateway = median(results, Path::Gateway);
    let nginx = median(results, Path::Nginx);
    let ratio = |a: Option<f64>, b: Option<f64>| a.zip(b).map(|(a, b)| a / b.max(f64::EPSILON));
    let at_least = |what: &str, value: Option<f64>, min: f64| Verdict {
        what: what.into(),
        target: format!("≥ {min:.2}"),
        measured: value.map_or("—".into(), |v| format!("{v:.2}")),
        met: value.map(|v| v >= min),
    };
    out.push(at_least(
        "P1 throughput gateway / direct",
        ratio(gateway, direct),
        0.40,
    ));
    out.push(at_least(
        "P1 throughput gateway / nginx",
        ratio(gateway, nginx),
        2.0,
    ));

    let direct_latency = latency(results, Path::Direct);
    let gateway_latency = latency(results, Path::Gateway);
    let added = |pick: fn(&(Spread, Spread)) -> f64| {
        direct_latency
            .as_ref()
            .zip(gateway_latency.as_ref())
            .map(|(d, g)| pick(g) - pick(d))
    };
    let at_most_us = |what: &str, value: Option<f64>, max: f64| Verdict {
        what: what.into(),
        target: format!("≤ +{max:.0} µs"),
        measured: value.map_or("—".into(), |v| format!("{v:+.1} µs")),
        met: value.map(|v| v <= max),
    };
    out.push(at_most_us(
        "P2 added p50, gateway − direct",
        added(|l| l.0.median),
        30.0,
    ));
    out.push(at_most_us(
        "P2 added p99, gateway − direct",
        added(|l| l.1.median),
        50.0,
    ));

    for overload in &results.overload {
        let mode = if overload.shedding { "on" } else { "off" };
        let worst_rejection = overload
            .levels
            .iter()
            .filter_map(|l| l.rejection_p99_us)
            .reduce(f64::max);
        if overload.shedding || worst_rejection.is_some() {
            out.push(Verdict {
                what: format!("P4 rejection latency p99 (shedding {mode}, worst level)"),
                target: "< 1000 µs".into(),
                measured: worst_rejection.map_or("no rejections".into(), |v| format!("{v:.0} µs")),
                met: worst_rejection.map(|v| v < 1000.0),
            });
        }
        let growth = overload
            .rss_before_kib
            .zip(overload.rss_after_kib)
            .map(|(before, after)| after as f64 / before.max(1) as f64 - 1.0);
        out.push(Verdict {
            what: format!("P4 serve-process RSS growth over overload (shedding {mode})"),
            target: "< 10 %".into(),
            measured: match (overload.rss_before_kib, overload.rss_after_kib, growth) {
                (Some(b), Some(a), Some(g)) => {
                    format!("{} → {} MiB ({:+.1} %)", b / 1024, a / 1024, g * 100.0)
                }
                _ => "—".into(),
            },
            met: growth.map(|g| g < 0.10),
        });
    }
    out
}

fn spread_cell(spread: Option<Spread>, digits: usize) -> String {
    spread.map_or("—".into(), |s| {
        format!(
            "{:.*} ({:.*}–{:.*})",
            digits, s.median, digits, s.min, digits, s.max
        )
    })
}

fn met_cell(met: Option<bool>) -> &'static str {
    match met {
        Some(true) => "met",
        Some(false) => "**missed**",
        None => "not measured",
    }
}

/// The gateway part of `RESULTS.md`: P1, P2 and P4 in detail.
pub fn gateway_markdown(results: &Results) -> String {
    let mut md = String::new();
    let d = &results.durations;
    let _ = writeln!(md, "## Gateway (P1, P2, P4)\n");
    let _ = writeln!(
        md,
        "- Call: unary `/zhongtai.certificate.v1.CertificateService/VerifyCertificate`, \
         300-character token, pre-encoded `VALID` response; loopback, plaintext HTTP/2"
    );
    let _ = writeln!(
        md,
        "- Gateway path: gRPC passthrough, every call HMAC-signed with a fresh nonce, \
         quota and rate-limit policy on"
    );
    let _ = writeln!(
        md,
        "- Where the gateway's time goes: `bash scripts/profile-gateway.sh` runs P1 with a \
         `perf` profile of the system under test and prints the CPU share per component \
         (figures of the latest profile in [PROFILES.md](PROFILES.md))"
    );
    let _ = writeln!(
        md,
        "\n### P1 throughput (closed loop, {} concurrent calls over {} HTTP/2 connections; \
         warm-up {} s, {} × {} s)\n",
        results.concurrency,
        results.connections,
        d.warmup_secs,
        d.repetitions,
        d.throughput_rep_secs
    );
    let _ = writeln!(
        md,
        "| Path | OK req/s median (min–max) | Rejected | Failed |\n|---|---|---|---|"
    );
    for t in &results.throughput {
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} |",
            t.path.label(),
            spread_cell(t.spread, 0),
            t.rejected,
            t.failed
        );
    }

    let _ = writeln!(
        md,
        "\n### P2 latency at concurrency 1 ({} × {} s, µs)\n",
        d.repetitions, d.latency_rep_secs
    );
    let _ = writeln!(
        md,
        "| Path | p50 median (min–max) | p99 median (min–max) | Failed |\n|---|---|---|---|"
    );
    for l in &results.latency {
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} |",
            l.path.label(),
            spread_cell(l.p50, 1),
            spread_cell(l.p99, 1),
            l.failed
        );
    }
    let direct = latency(results, Path::Direct);
    for path in [Path::Gateway, Path::Nginx] {
        if let (Some(d), Some(p)) = (direct.as_ref(), latency(results, path)) {
            let _ = writeln!(
                md,
                "\nAdded by {}: p50 {:+.1} µs, p99 {:+.1} µs.",
                path.label(),
                p.0.median - d.0.median,
                p.1.median - d.1.median
            );
        }
    }

    if let Some(capacity) = results.gateway_capacity_per_sec {
        let unloaded_p99 = latency(results, Path::Gateway).map(|l| l.1.median);
        let _ = writeln!(
            md,
            "\n### P4 overload (open loop, {} s per level; peak = P1 gateway median {:.0} req/s; \
             unloaded p99 {})\n",
            d.overload_level_secs,
            capacity,
            unloaded_p99.map_or("—".into(), |v| format!("{v:.0} µs"))
        );
        let _ = writeln!(
            md,
            "| Shedding | Offered | Sent/s | Not sent (generator bound) | OK/s | OK/s ÷ peak | \
             Rejected | Failed | Admitted p99 µs | Rejection p99 µs |\n|---|---|---|---|---|---|---|---|---|---|"
        );
        for overload in &results.overload {
            for level in &overload.levels {
                let _ = writeln!(
                    md,
                    "| {} | {}× ({:.0}/s) | {:.0} | {} | {:.0} | {:.2} | {} | {} | {} | {} |",
                    if overload.shedding { "on" } else { "off" },
                    level.multiple,
                    level.target_per_sec,
                    level.sent_per_sec,
                    level.not_sent,
                    level.ok_per_sec,
                    level.ok_per_sec / capacity.max(f64::EPSILON),
                    level.rejected,
                    level.failed,
                    level
                        .admitted_p99_us
                        .map_or("—".into(), |v| format!("{v:.0}")),
                    level
                        .rejection_p99_us
                        .map_or("—".into(), |v| format!("{v:.0}")),
                );
            }
        }
        let _ = writeln!(
            md,
            "\nRSS is of the serve process (backend and gateway; nginx is a separate process), \
             read after warm-up and {} s after the last level.",
            2
        );
    }
    if !results.notes.is_empty() {
        let _ = writeln!(md, "\n### Not measured\n");
        for note in &results.notes {
            let _ = writeln!(md, "- {note}");
        }
    }
    md
}

/// One benchmark section's outcome, as the report shows it.
#[derive(Debug, Clone, Serialize)]
pub struct SectionEntry {
    pub id: &'static str,
    pub title: &'static str,
    /// Its raw figures; null when it failed.
    pub figures: serde_json::Value,
    pub verdicts: Vec<Verdict>,
    #[serde(skip)]
    pub markdown: String,
    /// Why it could not be measured.
    pub error: Option<String>,
}

impl SectionEntry {
    /// The entry of a section that ran (or failed to).
    pub fn of<R: SectionReport>(
        id: &'static str,
        title: &'static str,
        outcome: anyhow::Result<R>,
    ) -> Self {
        match outcome {
            Ok(results) => Self {
                id,
                title,
                figures: serde_json::to_value(&results).unwrap_or(serde_json::Value::Null),
                verdicts: results.verdicts(),
                markdown: results.markdown(),
                error: None,
            },
            Err(error) => Self {
                id,
                title,
                figures: serde_json::Value::Null,
                verdicts: vec![Verdict {
                    what: format!("{id} {title}"),
                    target: "see the issue".into(),
                    measured: format!("not measured: {error:#}"),
                    met: None,
                }],
                markdown: format!("## {id} — {title}\n\nNot measured: {error:#}\n"),
                error: Some(format!("{error:#}")),
            },
        }
    }
}

/// Everything one `zhongtai-bench run` measured.
pub struct Run<'a> {
    pub machine: &'a Machine,
    pub pinned: bool,
    /// The gateway part (P1, P2, P4), when it ran.
    pub gateway: Option<&'a Results>,
    pub sections: &'a [SectionEntry],
}

impl Run<'_> {
    /// Every target of the run, met or missed, in benchmark order.
    pub fn verdicts(&self) -> Vec<Verdict> {
        let mut all = self.gateway.map(verdicts).unwrap_or_default();
        all.extend(self.sections.iter().flat_map(|s| s.verdicts.clone()));
        all.sort_by(|a, b| a.what.get(..2).cmp(&b.what.get(..2)));
        all
    }

    /// `RESULTS.md`.
    pub fn markdown(&self) -> String {
        let mut md = String::new();
        let machine = self.machine;
        let _ = writeln!(md, "# Benchmarks\n");
        let _ = writeln!(md, "- Date: {}", machine.date);
        let _ = writeln!(md, "- CPU: {} × {}", machine.cpus, machine.cpu_model);
        let _ = writeln!(md, "- Command: `{}`", machine.command);
        let _ = writeln!(
            md,
            "- Pinning: {}",
            if self.pinned {
                "yes — systems under test on core 0 (`taskset -c 0`), load generators on core 1"
            } else {
                "no (taskset or a second core unavailable); all processes share the cores"
            }
        );
        let _ = writeln!(
            md,
            "- Figures: median of the repetitions, (min–max) their spread; ratios are taken \
             within this one run\n"
        );
        let _ = writeln!(md, "## Targets\n");
        let _ = writeln!(md, "| What | Target | Measured | |\n|---|---|---|---|");
        for verdict in self.verdicts() {
            let _ = writeln!(
                md,
                "| {} | {} | {} | {} |",
                verdict.what,
                verdict.target,
                verdict.measured,
                met_cell(verdict.met)
            );
        }
        if let Some(results) = self.gateway {
            let _ = writeln!(md, "\n{}", gateway_markdown(results));
        }
        for section in self.sections {
            let _ = writeln!(md, "\n{}", section.markdown.trim_end());
        }
        md
    }
}

/// The raw figures and the verdicts.
#[derive(Serialize)]
struct Document<'a> {
    machine: &'a Machine,
    pinned: bool,
    gateway: Option<&'a Results>,
    sections: &'a [SectionEntry],
    verdicts: Vec<Verdict>,
}

/// Writes `RESULTS.md` and `results.json` into `dir`; returns the Markdown.
pub fn write(dir: &FsPath, run: &Run<'_>) -> anyhow::Result<String> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let md = run.markdown();
    let md_path = dir.join("RESULTS.md");
    std::fs::write(&md_path, &md).with_context(|| format!("cannot write {}", md_path.display()))?;
    let json = serde_json::to_string_pretty(&Document {
        machine: run.machine,
        pinned: run.pinned,
        gateway: run.gateway,
        sections: run.sections,
        verdicts: run.verdicts(),
    })?;
    let json_path = dir.join("results.json");
    std::fs::write(&json_path, json + "\n")
        .with_context(|| format!("cannot write {}", json_path.display()))?;
    Ok(md)
}
