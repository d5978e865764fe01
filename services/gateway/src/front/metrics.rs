//! The front door's Prometheus metrics, registered once in the
//! process-wide registry.

use std::sync::LazyLock;
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use zhongtai_telemetry::metrics::AlwaysDescribed;

use crate::audit::record::CallOutcome;
use crate::domain::CapabilityPriority;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CallLabels {
    capability: String,
    outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CapabilityLabels {
    capability: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PriorityLabels {
    priority: String,
}

pub(crate) struct FrontMetrics {
    calls: Family<CallLabels, Counter>,
    duration: Family<CapabilityLabels, Histogram>,
    shed: Family<PriorityLabels, Counter>,
    pub config_revision: Gauge,
    pub concurrency_limit: Gauge,
    pub in_flight: Gauge,
}

impl FrontMetrics {
    pub fn observe(&self, capability: &str, outcome: CallOutcome, latency: Duration) {
        self.calls
            .get_or_create(&CallLabels {
                capability: capability.to_string(),
                outcome: outcome.as_str().to_string(),
            })
            .inc();
        self.duration
            .get_or_create(&CapabilityLabels {
                capability: capability.to_string(),
            })
            .observe(latency.as_secs_f64());
    }

    pub fn shed(&self, priority: CapabilityPriority) {
        self.shed
            .get_or_create(&PriorityLabels {
                priority: priority.as_str().to_string(),
            })
            .inc();
    }
}

pub(crate) static METRICS: LazyLock<FrontMetrics> = LazyLock::new(|| {
    let metrics = FrontMetrics {
        calls: Family::default(),
        // 50 µs .. ~6.5 s.
        duration: Family::new_with_constructor(|| {
            Histogram::new(exponential_buckets(0.000_05, 2.0, 18))
        }),
        shed: Family::default(),
        config_revision: Gauge::default(),
        concurrency_limit: Gauge::default(),
        in_flight: Gauge::default(),
    };
    zhongtai_telemetry::metrics::with_registry(|registry| {
        registry.register(
            "zhongtai_gateway_calls",
            "Front-door calls by capability and outcome",
            AlwaysDescribed(metrics.calls.clone()),
        );
        registry.register(
            "zhongtai_gateway_call_duration_seconds",
            "Time in the gateway per call, by capability",
            AlwaysDescribed(metrics.duration.clone()),
        );
        registry.register(
            "zhongtai_gateway_shed",
            "Calls refused by load shedding, by capability priority",
            AlwaysDescribed(metrics.shed.clone()),
        );
        registry.register(
            "zhongtai_gateway_config_revision",
            "Configuration revision this instance enforces",
            metrics.config_revision.clone(),
        );
        registry.register(
            "zhongtai_gateway_concurrency_limit",
            "Current adaptive concurrency limit of the front door",
            metrics.concurrency_limit.clone(),
        );
        registry.register(
            "zhongtai_gateway_in_flight",
            "Calls in the front door now",
            metrics.in_flight.clone(),
        );
    });
    metrics
});
