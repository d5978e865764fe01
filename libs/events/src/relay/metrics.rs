//! The relay's Prometheus metrics: what it published and what still waits,
//! in the process-wide registry.

use std::sync::LazyLock;
use std::sync::atomic::AtomicU64;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use zhongtai_telemetry::metrics::AlwaysDescribed;

use super::backlog::{BACKLOG_COUNT_CAP, Backlog};

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ServiceLabels {
    service: String,
}

pub(crate) struct RelayMetrics {
    backlog: Family<ServiceLabels, Gauge>,
    oldest_age_seconds: Family<ServiceLabels, Gauge<f64, AtomicU64>>,
    published: Family<ServiceLabels, Counter>,
}

impl RelayMetrics {
    /// Creates the service's samples, so they are served from the start.
    pub(crate) fn start(&self, service: &str) {
        let labels = labels(service);
        let _ = self.backlog.get_or_create(&labels);
        let _ = self.oldest_age_seconds.get_or_create(&labels);
        let _ = self.published.get_or_create(&labels);
    }

    pub(crate) fn published(&self, service: &str, count: usize) {
        self.published
            .get_or_create(&labels(service))
            .inc_by(u64::try_from(count).unwrap_or(u64::MAX));
    }

    pub(crate) fn backlog(&self, service: &str, backlog: &Backlog) {
        let labels = labels(service);
        self.backlog
            .get_or_create(&labels)
            .set(i64::try_from(backlog.count).unwrap_or(i64::MAX));
        self.oldest_age_seconds
            .get_or_create(&labels)
            .set(backlog.oldest_age_seconds(chrono::Utc::now()));
    }
}

fn labels(service: &str) -> ServiceLabels {
    ServiceLabels {
        service: service.to_string(),
    }
}

pub(crate) static METRICS: LazyLock<RelayMetrics> = LazyLock::new(|| {
    let metrics = RelayMetrics {
        backlog: Family::default(),
        oldest_age_seconds: Family::default(),
        published: Family::default(),
    };
    zhongtai_telemetry::metrics::with_registry(|registry| {
        registry.register(
            "zhongtai_outbox_backlog",
            format!(
                "Events committed to the outbox but not yet published to the broker \
                 (counted up to {BACKLOG_COUNT_CAP})"
            ),
            AlwaysDescribed(metrics.backlog.clone()),
        );
        registry.register(
            "zhongtai_outbox_oldest_event_age_seconds",
            "Age of the oldest unpublished outbox event (0 when the outbox is drained)",
            AlwaysDescribed(metrics.oldest_age_seconds.clone()),
        );
        registry.register(
            "zhongtai_outbox_published",
            "Outbox events published to the broker and marked sent",
            AlwaysDescribed(metrics.published.clone()),
        );
    });
    metrics
});
