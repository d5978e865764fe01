//! The runner's Prometheus metrics, registered once in the process-wide
//! registry.

use std::sync::LazyLock;
use std::sync::atomic::AtomicU64;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use zhongtai_telemetry::metrics::AlwaysDescribed;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct LineLabels {
    pub line: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct SubscriptionLabels {
    pub line: String,
    pub subscription: String,
}

type F64Gauge = Gauge<f64, AtomicU64>;

pub(crate) struct RunnerMetrics {
    pub capture_lag_seconds: Family<LineLabels, F64Gauge>,
    pub subscription_lag_seconds: Family<SubscriptionLabels, F64Gauge>,
    pub captured: Family<LineLabels, Counter>,
    pub delivered: Family<SubscriptionLabels, Counter>,
    pub filtered: Family<SubscriptionLabels, Counter>,
    pub snapshot_rows: Family<LineLabels, F64Gauge>,
    pub snapshot_rows_total_estimate: Family<LineLabels, F64Gauge>,
    pub batch_seconds: Histogram,
}

pub(crate) static METRICS: LazyLock<RunnerMetrics> = LazyLock::new(|| {
    let metrics = RunnerMetrics {
        capture_lag_seconds: Family::default(),
        subscription_lag_seconds: Family::default(),
        captured: Family::default(),
        delivered: Family::default(),
        filtered: Family::default(),
        snapshot_rows: Family::default(),
        snapshot_rows_total_estimate: Family::default(),
        // 1 ms .. ~16 s.
        batch_seconds: Histogram::new(exponential_buckets(0.001, 2.0, 15)),
    };
    zhongtai_telemetry::metrics::with_registry(|registry| {
        registry.register(
            "zhongtai_exchange_line_capture_lag_seconds",
            "Source commit to capture of the line's last captured change",
            AlwaysDescribed(metrics.capture_lag_seconds.clone()),
        );
        registry.register(
            "zhongtai_exchange_subscription_lag_seconds",
            "Source commit to durable acceptance of the subscription's last delivered change",
            AlwaysDescribed(metrics.subscription_lag_seconds.clone()),
        );
        registry.register(
            "zhongtai_exchange_changes_captured",
            "Changes captured from the line's source",
            AlwaysDescribed(metrics.captured.clone()),
        );
        registry.register(
            "zhongtai_exchange_changes_delivered",
            "Changes durably accepted for the subscription",
            AlwaysDescribed(metrics.delivered.clone()),
        );
        registry.register(
            "zhongtai_exchange_changes_filtered",
            "Changes the subscription's row filter excluded",
            AlwaysDescribed(metrics.filtered.clone()),
        );
        registry.register(
            "zhongtai_exchange_snapshot_rows",
            "Rows copied by the line's initial snapshot",
            AlwaysDescribed(metrics.snapshot_rows.clone()),
        );
        registry.register(
            "zhongtai_exchange_snapshot_rows_total_estimate",
            "Rows the line's initial snapshot is expected to copy",
            AlwaysDescribed(metrics.snapshot_rows_total_estimate.clone()),
        );
        registry.register(
            "zhongtai_exchange_batch_seconds",
            "Time to deliver, journal and record one batch",
            metrics.batch_seconds.clone(),
        );
    });
    metrics
});

pub(crate) fn line(line_id: uuid::Uuid) -> LineLabels {
    LineLabels {
        line: line_id.to_string(),
    }
}

pub(crate) fn subscription(line_id: uuid::Uuid, subscription_id: uuid::Uuid) -> SubscriptionLabels {
    SubscriptionLabels {
        line: line_id.to_string(),
        subscription: subscription_id.to_string(),
    }
}

/// Seconds from `from` to `to`, never negative (clocks of source and
/// platform may disagree slightly).
pub(crate) fn seconds_between(
    from: chrono::DateTime<chrono::Utc>,
    to: chrono::DateTime<chrono::Utc>,
) -> f64 {
    let micros = (to - from).num_microseconds().unwrap_or(i64::MAX).max(0);
    micros as f64 / 1e6
}
