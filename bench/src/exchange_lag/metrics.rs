//! The exchange's own account of its batches (`/metrics`), read before and
//! after each measured stretch: how many batches, how long each took to
//! deliver, journal and record, and how many changes each carried.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context as _;
use serde::Serialize;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

/// Cumulative batch figures at one moment.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct BatchCounters {
    pub batches: f64,
    pub batch_seconds: f64,
    pub delivered: f64,
}

/// What happened between two readings.
#[derive(Debug, Clone, Copy, Serialize, PartialEq)]
pub struct BatchFigures {
    pub batches: u64,
    /// Mean time to deliver, journal and record one batch.
    pub mean_batch_ms: f64,
    /// Mean changes per batch.
    pub changes_per_batch: f64,
    /// Share of the stretch spent inside batches (1.0 = never idle).
    pub busy_share: f64,
}

/// Mean time per batch in each stage, from the exchange's "batch
/// delivered" log lines (each rounded down to whole milliseconds).
#[derive(Debug, Clone, Copy, Serialize, PartialEq)]
pub struct StageMeans {
    pub batches: u64,
    /// Publishing every message and waiting for the publisher confirms.
    pub deliver_ms: f64,
    /// Writing the journal.
    pub journal_ms: f64,
    /// Storing delivered positions and the line's runtime.
    pub store_ms: f64,
}

impl BatchCounters {
    /// Reads the exchange's `/metrics`.
    pub async fn read(metrics: SocketAddr) -> anyhow::Result<Self> {
        let text = tokio::time::timeout(Duration::from_secs(5), get_metrics(metrics))
            .await
            .context("the metrics endpoint did not answer")??;
        Ok(Self::parse(&text))
    }

    fn parse(text: &str) -> Self {
        let mut counters = Self::default();
        for line in text.lines().filter(|line| !line.starts_with('#')) {
            let Some((name, value)) = line.rsplit_once(' ') else {
                continue;
            };
            let Ok(value) = value.parse::<f64>() else {
                continue;
            };
            let metric = name.split('{').next().unwrap_or(name);
            match metric {
                "zhongtai_exchange_batch_seconds_count" => counters.batches += value,
                "zhongtai_exchange_batch_seconds_sum" => counters.batch_seconds += value,
                "zhongtai_exchange_changes_delivered_total" => counters.delivered += value,
                _ => {}
            }
        }
        counters
    }

    /// The figures of the stretch from `earlier` to `self`, `elapsed` long.
    pub fn since(&self, earlier: &Self, elapsed: Duration) -> BatchFigures {
        let batches = (self.batches - earlier.batches).max(0.0);
        let seconds = (self.batch_seconds - earlier.batch_seconds).max(0.0);
        let delivered = (self.delivered - earlier.delivered).max(0.0);
        let per_batch = |value: f64| if batches > 0.0 { value / batches } else { 0.0 };
        BatchFigures {
            batches: batches as u64,
            mean_batch_ms: per_batch(seconds) * 1_000.0,
            changes_per_batch: per_batch(delivered),
            busy_share: seconds / elapsed.as_secs_f64().max(f64::EPSILON),
        }
    }
}

async fn get_metrics(address: SocketAddr) -> anyhow::Result<String> {
    let mut stream = tokio::net::TcpStream::connect(address).await?;
    stream
        .write_all(
            format!("GET /metrics HTTP/1.0\r\nHost: {address}\r\nConnection: close\r\n\r\n")
                .as_bytes(),
        )
        .await?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await?;
    let response = String::from_utf8_lossy(&response);
    let (head, body) = response
        .split_once("\r\n\r\n")
        .context("the metrics endpoint answered no HTTP response")?;
    anyhow::ensure!(
        head.starts_with("HTTP/1.") && head.split(' ').nth(1) == Some("200"),
        "the metrics endpoint answered {}",
        head.lines().next().unwrap_or_default()
    );
    Ok(body.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batch_figures_come_from_the_histogram_and_the_delivered_counter() {
        let text = "# HELP zhongtai_exchange_batch_seconds Time\n\
            zhongtai_exchange_batch_seconds_sum{line=\"a\"} 0.5\n\
            zhongtai_exchange_batch_seconds_count{line=\"a\"} 10\n\
            zhongtai_exchange_batch_seconds_bucket{line=\"a\",le=\"0.001\"} 2\n\
            zhongtai_exchange_changes_delivered_total{line=\"a\",subscription=\"s\"} 1000\n";
        let after = BatchCounters::parse(text);
        assert_eq!(
            after,
            BatchCounters {
                batches: 10.0,
                batch_seconds: 0.5,
                delivered: 1000.0
            }
        );
        let figures = after.since(&BatchCounters::default(), Duration::from_secs(1));
        assert_eq!(figures.batches, 10);
        assert!((figures.mean_batch_ms - 50.0).abs() < 1e-9);
        assert!((figures.changes_per_batch - 100.0).abs() < 1e-9);
        assert!((figures.busy_share - 0.5).abs() < 1e-9);
    }
}
