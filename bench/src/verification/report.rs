//! P3's report: verdicts against the targets, the Markdown tables,
//! and where a verification's time goes.

use std::fmt::Write as _;

use super::{
    OPEN_LOOP_RATE, OpenLoopFigures, PeakFigures, TARGET_P99_MICROS, TARGET_PER_SECOND,
    VerificationResults,
};
use crate::report::Verdict;
use crate::section::SectionReport;
use crate::stats::Spread;

impl VerificationResults {
    fn peak_median(&self) -> Option<f64> {
        // The target holds when every verification RPC reaches it.
        self.peak
            .iter()
            .map(|p| p.spread.map(|s| s.median))
            .collect::<Option<Vec<_>>>()
            .and_then(|medians| medians.into_iter().reduce(f64::min))
    }

    fn at_target_rate(&self) -> impl Iterator<Item = &OpenLoopFigures> {
        self.open_loop.iter().filter(|o| o.at_target_rate)
    }

    fn p99_median(&self) -> Option<f64> {
        self.at_target_rate()
            .map(|o| o.p99.map(|s| s.median))
            .collect::<Option<Vec<_>>>()
            .and_then(|medians| medians.into_iter().reduce(f64::max))
    }

    /// Server time per call at peak, split into what the figures separate:
    /// one Ed25519 verify (the caller's token costs one), the gRPC stack
    /// with the token check (the refused call), the code's own checks.
    fn where_the_time_goes(&self) -> String {
        let micros = |per_second: f64| 1e6 / per_second.max(f64::EPSILON);
        let median = |p: &PeakFigures| p.spread.map(|s| s.median);
        let (Some(raw), Some(code), Some(refused)) = (
            self.raw_ed25519.map(|s| s.median),
            self.peak.first().and_then(median),
            median(&self.refused_peak),
        ) else {
            return String::new();
        };
        let code_only = micros(code) - micros(refused);
        let split = if code_only >= 0.0 {
            format!("the code itself adds {code_only:.1} µs (its signature, trust list, status)")
        } else {
            "the code's own checks are lost in the spread of the two figures".to_owned()
        };
        let mut text = format!(
            "\nWhere the time goes, per VerifyCode at peak on the one core: {:.1} µs in all; \
             a call refused before its code is checked still costs {:.1} µs (HTTP/2, the \
             layer stack — telemetry, admission, message limit, the access layer's token \
             check, a lookup once the token has been verified — and the handler's parsing); \
             one raw Ed25519 verify costs {:.1} µs; {split}. At {:.0} µs a call, one core \
             tops out at {:.0}/s.",
            micros(code),
            micros(refused),
            micros(raw),
            micros(code),
            code,
        );
        if code < OPEN_LOOP_RATE {
            text.push_str(&format!(
                " {OPEN_LOOP_RATE:.0}/s is above that: in the open loop at that rate the queue \
                 grows for the whole run, so its latency is queueing, not service time (the \
                 rows at half the peak show the service time), and calls beyond what the load \
                 keeps outstanding count as errors."
            ));
        }
        text
    }

    fn every_rpc(&self, figure: impl Fn(usize) -> Option<String>) -> String {
        let names = self.peak.iter().map(|p| p.rpc.as_str());
        names
            .enumerate()
            .map(|(i, name)| format!("{name} {}", figure(i).unwrap_or_else(|| "—".into())))
            .collect::<Vec<_>>()
            .join("; ")
    }
}

impl SectionReport for VerificationResults {
    fn verdicts(&self) -> Vec<Verdict> {
        let peak = self.peak_median();
        let p99 = self.p99_median();
        let raw = self.raw_ed25519.map(|s| s.median);
        vec![
            Verdict {
                what: "P3 verification over gRPC ≥ 20,000/s".into(),
                target: format!("≥ {TARGET_PER_SECOND:.0}/s on one core"),
                measured: self
                    .every_rpc(|i| self.peak[i].spread.map(|s| format!("{:.0}/s", s.median))),
                met: peak.map(|p| p >= TARGET_PER_SECOND),
            },
            Verdict {
                what: "P3 p99 at 15,000/s ≤ 2 ms".into(),
                target: format!("p99 ≤ {:.1} ms, 0 errors", TARGET_P99_MICROS / 1_000.0),
                measured: self.every_rpc(|i| {
                    self.at_target_rate().nth(i).and_then(|o| {
                        o.p99
                            .map(|s| format!("{:.2} ms, {} errors", s.median / 1_000.0, o.errors))
                    })
                }),
                met: p99.map(|p| {
                    p <= TARGET_P99_MICROS && self.at_target_rate().all(|o| o.errors == 0)
                }),
            },
            Verdict {
                what: "P3 ratio gRPC verification / raw Ed25519 verify (informative)".into(),
                target: "—".into(),
                measured: self.every_rpc(|i| {
                    self.peak[i]
                        .spread
                        .zip(raw)
                        .map(|(s, raw)| format!("{:.1}%", s.median / raw * 100.0))
                }),
                met: None,
            },
        ]
    }

    fn markdown(&self) -> String {
        let mut md = String::new();
        let _ = writeln!(
            md,
            "## P3 — certificate and code verification over gRPC on one core\n"
        );
        let _ = writeln!(
            md,
            "System under test: {}. {} Load: {} HTTP/2 connections from the bench \
             process{}; closed loop with {} calls outstanding for the peak, open loop \
             at {OPEN_LOOP_RATE:.0} calls/s (latency counted from when each call was due). \
             Each verifier call carries the same bearer token (an Ed25519 JWT): the center \
             verifies its signature on the first call and looks it up after that, until it \
             expires or the key set reloads. \
             Median of the repetitions, [min–max] in brackets. The product binary rather than \
             the codes module served in process (`cargo bench -p zhongtai-certificate --bench \
             verify_code`: SQLite, no layer stack, no token check) because a gate's scanner \
             waits on all of it.\n",
            self.system_under_test,
            if self.pinned {
                "Pinned with `taskset -c 0`."
            } else {
                "Not pinned (taskset or a second core unavailable)."
            },
            self.connections,
            if self.pinned { " on core 1" } else { "" },
            self.in_flight,
        );
        let spread = |s: Option<Spread>, scale: f64, digits: usize| {
            s.map_or("—".to_owned(), |s| {
                format!(
                    "{:.digits$} [{:.digits$}–{:.digits$}]",
                    s.median / scale,
                    s.min / scale,
                    s.max / scale
                )
            })
        };
        let raw = self.raw_ed25519.map(|s| s.median);
        let _ = writeln!(
            md,
            "| path | per second | vs raw Ed25519 | server core busy | errors |"
        );
        let _ = writeln!(md, "|---|---:|---:|---:|---:|");
        let _ = writeln!(
            md,
            "| ring Ed25519 verify, one thread on the server core | {} | 100% | — | — |",
            spread(self.raw_ed25519, 1.0, 0)
        );
        for peak in self.peak.iter().chain([&self.refused_peak]) {
            let _ = writeln!(
                md,
                "| {} over gRPC, peak | {} | {} | {} | {} |",
                peak.rpc,
                spread(peak.spread, 1.0, 0),
                peak.spread.zip(raw).map_or("—".into(), |(s, raw)| format!(
                    "{:.1}%",
                    s.median / raw * 100.0
                )),
                spread(Spread::of(&peak.server_cpu_percent), 1.0, 0) + "%",
                peak.errors
            );
        }
        let _ = writeln!(md);
        let _ = writeln!(
            md,
            "| open loop | offered/s | answered/s | p50 ms | p99 ms | p99.9 ms | server core busy | errors |"
        );
        let _ = writeln!(md, "|---|---:|---:|---:|---:|---:|---:|---:|");
        for open in &self.open_loop {
            let _ = writeln!(
                md,
                "| {} | {} | {} | {} | {} | {} | {}% | {} |",
                open.rpc,
                spread(Spread::of(&open.offered_per_second), 1.0, 0),
                spread(Spread::of(&open.answered_per_second), 1.0, 0),
                spread(open.p50, 1_000.0, 3),
                spread(open.p99, 1_000.0, 3),
                spread(open.p999, 1_000.0, 3),
                spread(Spread::of(&open.server_cpu_percent), 1.0, 0),
                open.errors
            );
        }
        let _ = writeln!(md, "{}", self.where_the_time_goes());
        let unloaded_p50 = self
            .open_loop
            .iter()
            .filter(|o| !o.at_target_rate)
            .filter_map(|o| o.p50.map(|s| s.median))
            .reduce(f64::max);
        if unloaded_p50.is_some_and(|p50| p50 > 1_000.0) {
            let _ = writeln!(
                md,
                "\nAt half the peak the median call still takes over 1 ms, many times its \
                 service time. Not Nagle's algorithm: the service host sets TCP_NODELAY on \
                 accepted connections. Still to be profiled: the open-loop generator's own \
                 scheduling on its core, and how the server groups concurrent signature \
                 checks into batches."
            );
        }
        if let Some(client) = self
            .peak
            .first()
            .and_then(|p| Spread::of(&p.client_cpu_percent))
        {
            let _ = writeln!(
                md,
                "\nThe load generator used {:.0}% of its core at peak: at ~100% the client, \
                 not the center, would be the limit.",
                client.median
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
