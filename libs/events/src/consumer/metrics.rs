//! What consumers did with the events they were given, in the process-wide
//! Prometheus registry.

use std::sync::LazyLock;
use std::sync::atomic::AtomicU64;
use std::time::{Duration, SystemTime};

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use zhongtai_contracts::events::v1::EventEnvelope;
use zhongtai_telemetry::metrics::AlwaysDescribed;

/// The `outcome` label of `zhongtai_consumer_events_total`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum EventOutcome {
    /// The handler ran and its transaction committed.
    Handled,
    /// The inbox already held the event.
    Duplicate,
    /// The handler or the consumer's database failed (each attempt counts).
    Failed,
}

impl EventOutcome {
    fn as_str(self) -> &'static str {
        match self {
            Self::Handled => "handled",
            Self::Duplicate => "duplicate",
            Self::Failed => "failed",
        }
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct EventLabels {
    service: String,
    subscription: String,
    outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct SubscriptionLabels {
    service: String,
    subscription: String,
}

pub(crate) struct ConsumerMetrics {
    events: Family<EventLabels, Counter>,
    lag_seconds: Family<SubscriptionLabels, Gauge<f64, AtomicU64>>,
}

impl ConsumerMetrics {
    /// Counts one attempt at `envelope`; a handled event also sets the
    /// subscription's lag.
    pub(crate) fn observe(
        &self,
        service: &str,
        subscription: &str,
        envelope: &EventEnvelope,
        outcome: EventOutcome,
    ) {
        self.events
            .get_or_create(&EventLabels {
                service: service.to_string(),
                subscription: subscription.to_string(),
                outcome: outcome.as_str().to_string(),
            })
            .inc();
        if outcome == EventOutcome::Handled {
            let lag = lag_seconds(envelope, SystemTime::now());
            self.lag_seconds
                .get_or_create(&SubscriptionLabels {
                    service: service.to_string(),
                    subscription: subscription.to_string(),
                })
                .set(lag);
        }
    }
}

pub(crate) static METRICS: LazyLock<ConsumerMetrics> = LazyLock::new(|| {
    let metrics = ConsumerMetrics {
        events: Family::default(),
        lag_seconds: Family::default(),
    };
    zhongtai_telemetry::metrics::with_registry(|registry| {
        registry.register(
            "zhongtai_consumer_events",
            "Events consumed, by subscription and outcome (handled, duplicate, failed)",
            AlwaysDescribed(metrics.events.clone()),
        );
        registry.register(
            "zhongtai_consumer_lag_seconds",
            "Occurrence to handling of the subscription's last handled event",
            AlwaysDescribed(metrics.lag_seconds.clone()),
        );
    });
    metrics
});

/// Registers the consumer families (idempotent).
pub(crate) fn register() {
    LazyLock::force(&METRICS);
}

/// Seconds from the event's occurrence to `now`; 0 when it has no
/// occurrence time or the producer's clock runs ahead.
fn lag_seconds(envelope: &EventEnvelope, now: SystemTime) -> f64 {
    let Some(occurred_at) = envelope
        .occurred_at
        .and_then(|timestamp| SystemTime::try_from(timestamp).ok())
    else {
        return 0.0;
    };
    now.duration_since(occurred_at)
        .unwrap_or(Duration::ZERO)
        .as_secs_f64()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn occurred(at: SystemTime) -> EventEnvelope {
        EventEnvelope {
            occurred_at: Some(prost_types::Timestamp::from(at)),
            ..EventEnvelope::default()
        }
    }

    #[test]
    fn lag_is_occurrence_to_now_and_never_negative() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        let lag = lag_seconds(&occurred(now - Duration::from_millis(2500)), now);
        assert!((lag - 2.5).abs() < 1e-9, "{lag}");
        assert_eq!(
            lag_seconds(&occurred(now + Duration::from_secs(3)), now),
            0.0
        );
        assert_eq!(lag_seconds(&EventEnvelope::default(), now), 0.0);
    }
}
