//! P5: exchange: source commit to subscriber receipt vs raw logical decoding.
//!
//! `zhongtai serve exchange` runs alone against a fresh department database
//! on the logical-replication source, with one line and one queue
//! subscription. The bench commits rows at a fixed rate (open loop) and
//! consumes the queue itself; each row's latency is its receipt minus the
//! moment its COMMIT returned. A burst then measures the most the exchange
//! delivers per second, against `pg_recvlogical` decoding the same burst.

#[cfg(feature = "gateway")]
mod flow;
mod markdown;
#[cfg(feature = "gateway")]
mod measure;
// Read only by the measurement; its figures are part of the results.
#[cfg_attr(not(feature = "gateway"), allow(dead_code))]
mod metrics;
#[cfg(feature = "gateway")]
mod raw;
#[cfg(feature = "gateway")]
mod setup;

use serde::Serialize;

use crate::report::Verdict;
use crate::section::{SectionOptions, SectionReport};
use crate::stats::Spread;

use metrics::{BatchFigures, StageMeans};

/// The figures of P5.
#[derive(Debug, Clone, Serialize)]
pub struct ExchangeLagResults {
    /// How a row's latency is taken.
    pub latency_clock: String,
    /// 100 rows/s and 10,000 rows/s.
    pub levels: Vec<LevelResults>,
    pub burst: BurstResults,
    /// What was not measured or not cleaned up.
    pub notes: Vec<String>,
}

/// One fixed offered rate over the repetitions.
#[derive(Debug, Clone, Serialize)]
pub struct LevelResults {
    pub target_rows_per_sec: u64,
    pub rows_per_commit: u64,
    pub commit_interval_ms: u64,
    pub seconds: f64,
    pub p99_target_ms: f64,
    pub runs: Vec<LevelRun>,
    pub delivered_per_sec: Option<Spread>,
    pub p50_ms: Option<Spread>,
    pub p95_ms: Option<Spread>,
    pub p99_ms: Option<Spread>,
    pub max_ms: Option<Spread>,
    /// Summed over the repetitions.
    pub lost: u64,
    pub duplicates: u64,
}

/// One repetition of a fixed rate.
#[derive(Debug, Clone, Serialize)]
pub struct LevelRun {
    pub committed: u64,
    pub delivered: u64,
    pub lost: u64,
    pub duplicates: u64,
    /// Rows committed per second of the producer's schedule.
    pub committed_per_sec: f64,
    /// Rows delivered per second from the first commit to the last receipt.
    pub delivered_per_sec: f64,
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    /// The exchange's batches meanwhile (from its `/metrics`).
    pub batches: Option<BatchFigures>,
    /// Their stage times (from its debug log).
    pub stages: Option<StageMeans>,
}

/// The burst over the repetitions.
#[derive(Debug, Clone, Serialize)]
pub struct BurstResults {
    pub rows: u64,
    pub rows_per_commit: u64,
    pub runs: Vec<BurstRun>,
    pub exchange_per_sec: Option<Spread>,
    pub raw_per_sec: Option<Spread>,
    /// Exchange rate / raw decoding rate, per repetition.
    pub ratio: Option<Spread>,
    pub lost: u64,
    pub duplicates: u64,
}

/// One burst.
#[derive(Debug, Clone, Serialize)]
pub struct BurstRun {
    /// How long committing the burst took.
    pub insert_seconds: f64,
    pub delivered: u64,
    pub lost: u64,
    pub duplicates: u64,
    /// Rows per second from the first receipt to the last.
    pub exchange_per_sec: f64,
    /// INSERT lines `pg_recvlogical` printed.
    pub raw_rows: Option<u64>,
    /// Rows per second from its first INSERT line to its last.
    pub raw_per_sec: Option<f64>,
    /// Its start to its exit, connection and slot start included.
    pub raw_total_seconds: Option<f64>,
    pub ratio: Option<f64>,
    pub batches: Option<BatchFigures>,
    pub stages: Option<StageMeans>,
}

/// Runs P5.
pub async fn run(options: &SectionOptions) -> anyhow::Result<ExchangeLagResults> {
    #[cfg(feature = "gateway")]
    return measure::run(options).await;
    #[cfg(not(feature = "gateway"))]
    {
        let _ = options;
        anyhow::bail!("P5 needs the `gateway` feature (its PostgreSQL and RabbitMQ clients)")
    }
}

/// The offered rates and the p99 each must stay under, in ms.
const LATENCY_TARGETS: [(u64, &str, f64); 2] = [(100, "100", 20.0), (10_000, "10,000", 100.0)];

/// "Sustained 10,000 rows/s": the 10k level's delivered rate, or the burst's.
const SUSTAINED_DELIVERED_PER_SEC: f64 = 9_900.0;
const SUSTAINED_BURST_PER_SEC: f64 = 10_000.0;

impl ExchangeLagResults {
    fn level(&self, rows_per_sec: u64) -> Option<&LevelResults> {
        self.levels
            .iter()
            .find(|level| level.target_rows_per_sec == rows_per_sec)
    }

    fn intact(&self) -> bool {
        self.levels
            .iter()
            .all(|level| level.lost == 0 && level.duplicates == 0)
            && self.burst.lost == 0
            && self.burst.duplicates == 0
    }

    fn latency_verdict(&self, rows_per_sec: u64, label: &str, target_ms: f64) -> Verdict {
        let level = self.level(rows_per_sec);
        let what = format!("P5 latency p99 at {label} rows/s ≤ {target_ms:.0} ms");
        let Some((level, p99)) = level.and_then(|level| Some((level, level.p99_ms?))) else {
            return Verdict {
                what,
                target: format!("p99 ≤ {target_ms:.0} ms, 0 lost, 0 duplicated"),
                measured: "not measured".into(),
                met: None,
            };
        };
        Verdict {
            what,
            target: format!("p99 ≤ {target_ms:.0} ms, 0 lost, 0 duplicated"),
            measured: format!(
                "p99 {} ms, {} lost, {} duplicated",
                spread(p99, 1),
                level.lost,
                level.duplicates
            ),
            met: Some(p99.median <= target_ms && level.lost == 0 && level.duplicates == 0),
        }
    }

    fn sustained_verdict(&self) -> Verdict {
        let delivered = self.level(10_000).and_then(|level| level.delivered_per_sec);
        let burst = self.burst.exchange_per_sec;
        let met = match (delivered, burst) {
            (None, None) => None,
            _ => Some(
                (delivered.is_some_and(|d| d.median >= SUSTAINED_DELIVERED_PER_SEC)
                    || burst.is_some_and(|b| b.median >= SUSTAINED_BURST_PER_SEC))
                    && self.intact(),
            ),
        };
        let show = |value: Option<Spread>| value.map_or_else(|| "—".into(), |v| spread(v, 0));
        Verdict {
            what: "P5 sustained 10,000 rows/s".into(),
            target: "≥ 9,900 rows/s delivered at 10,000 rows/s offered, or a burst ≥ 10,000 rows/s; nothing lost or duplicated".into(),
            measured: format!(
                "{} rows/s delivered at 10k offered; burst {} rows/s",
                show(delivered),
                show(burst)
            ),
            met,
        }
    }

    fn ratio_verdict(&self) -> Verdict {
        let measured = match (
            self.burst.ratio,
            self.burst.exchange_per_sec,
            self.burst.raw_per_sec,
        ) {
            (Some(ratio), Some(exchange), Some(raw)) => format!(
                "{}× ({} vs {} rows/s)",
                spread(ratio, 2),
                spread(exchange, 0),
                spread(raw, 0)
            ),
            _ => "not measured".into(),
        };
        Verdict {
            what: "P5 exchange / raw logical decoding".into(),
            target: "—".into(),
            measured,
            met: None,
        }
    }
}

impl SectionReport for ExchangeLagResults {
    fn verdicts(&self) -> Vec<Verdict> {
        let mut verdicts: Vec<Verdict> = LATENCY_TARGETS
            .iter()
            .map(|&(rows_per_sec, label, p99_ms)| self.latency_verdict(rows_per_sec, label, p99_ms))
            .collect();
        verdicts.push(self.sustained_verdict());
        verdicts.push(self.ratio_verdict());
        verdicts
    }

    fn markdown(&self) -> String {
        markdown::section(self)
    }
}

fn spread(value: Spread, decimals: usize) -> String {
    format!(
        "{:.*} [{:.*}–{:.*}]",
        decimals, value.median, decimals, value.min, decimals, value.max
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn level(rows_per_sec: u64, p99_ms: f64, delivered_per_sec: f64, lost: u64) -> LevelResults {
        let figure = |value: f64| {
            Some(Spread {
                median: value,
                min: value,
                max: value,
            })
        };
        LevelResults {
            target_rows_per_sec: rows_per_sec,
            rows_per_commit: rows_per_sec / 100,
            commit_interval_ms: 10,
            seconds: 10.0,
            p99_target_ms: if rows_per_sec == 100 { 20.0 } else { 100.0 },
            runs: Vec::new(),
            delivered_per_sec: figure(delivered_per_sec),
            p50_ms: figure(p99_ms / 2.0),
            p95_ms: figure(p99_ms),
            p99_ms: figure(p99_ms),
            max_ms: figure(p99_ms),
            lost,
            duplicates: 0,
        }
    }

    fn results(levels: Vec<LevelResults>) -> ExchangeLagResults {
        ExchangeLagResults {
            latency_clock: "test".into(),
            levels,
            burst: BurstResults {
                rows: 100_000,
                rows_per_commit: 10_000,
                runs: Vec::new(),
                exchange_per_sec: None,
                raw_per_sec: None,
                ratio: None,
                lost: 0,
                duplicates: 0,
            },
            notes: Vec::new(),
        }
    }

    fn met(results: &ExchangeLagResults) -> Vec<Option<bool>> {
        results
            .verdicts()
            .iter()
            .map(|verdict| verdict.met)
            .collect()
    }

    #[test]
    fn targets_are_met_only_without_losses() {
        let fine = results(vec![
            level(100, 15.0, 100.0, 0),
            level(10_000, 80.0, 9_950.0, 0),
        ]);
        assert_eq!(met(&fine), [Some(true), Some(true), Some(true), None]);
        let lossy = results(vec![
            level(100, 15.0, 100.0, 1),
            level(10_000, 80.0, 9_950.0, 0),
        ]);
        assert_eq!(met(&lossy), [Some(false), Some(true), Some(false), None]);
    }

    #[test]
    fn slow_delivery_misses_its_targets() {
        let slow = results(vec![
            level(100, 25.0, 100.0, 0),
            level(10_000, 900.0, 7_000.0, 0),
        ]);
        assert_eq!(met(&slow), [Some(false), Some(false), Some(false), None]);
        let verdicts = slow.verdicts();
        assert_eq!(verdicts[0].what, "P5 latency p99 at 100 rows/s ≤ 20 ms");
        assert!(
            verdicts[1].measured.starts_with("p99 900.0"),
            "{verdicts:?}"
        );
    }

    #[test]
    fn nothing_measured_has_no_verdicts_met_or_missed() {
        let nothing = results(Vec::new());
        assert_eq!(met(&nothing), [None, None, None, None]);
        assert_eq!(
            nothing.verdicts()[1].what,
            "P5 latency p99 at 10,000 rows/s ≤ 100 ms"
        );
    }
}
