//! Refusals by the server's protective layers, in the process-wide
//! Prometheus registry. Building either layer registers both families, so a
//! server exposes the same families whether or not rate limiting is on.

use std::sync::LazyLock;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use zhongtai_telemetry::metrics::AlwaysDescribed;

use super::admission::Priority;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ShedLabels {
    service: String,
    priority: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ServiceLabels {
    service: String,
}

pub(crate) struct ServerMetrics {
    shed: Family<ShedLabels, Counter>,
    rate_limited: Family<ServiceLabels, Counter>,
}

impl ServerMetrics {
    /// Serves `service`'s shed counters at 0 before the first refusal, so
    /// rates start from the beginning.
    pub(crate) fn admission_started(&self, service: &str) {
        for priority in [Priority::Sheddable, Priority::Normal, Priority::Critical] {
            let _ = self.shed.get_or_create(&ShedLabels {
                service: service.to_string(),
                priority: priority.as_str().to_string(),
            });
        }
    }

    /// Serves `service`'s rate-limit counter at 0 before the first refusal.
    pub(crate) fn rate_limit_started(&self, service: &str) {
        let _ = self.rate_limited.get_or_create(&ServiceLabels {
            service: service.to_string(),
        });
    }

    /// Counts one call of `service` refused by priority load shedding.
    pub(crate) fn shed(&self, service: &str, priority: Priority) {
        self.shed
            .get_or_create(&ShedLabels {
                service: service.to_string(),
                priority: priority.as_str().to_string(),
            })
            .inc();
    }

    /// Counts one call of `service` refused by the token bucket.
    pub(crate) fn rate_limited(&self, service: &str) {
        self.rate_limited
            .get_or_create(&ServiceLabels {
                service: service.to_string(),
            })
            .inc();
    }

    #[cfg(test)]
    pub(crate) fn shed_count(&self, service: &str, priority: Priority) -> u64 {
        self.shed
            .get_or_create(&ShedLabels {
                service: service.to_string(),
                priority: priority.as_str().to_string(),
            })
            .get()
    }

    #[cfg(test)]
    pub(crate) fn rate_limited_count(&self, service: &str) -> u64 {
        self.rate_limited
            .get_or_create(&ServiceLabels {
                service: service.to_string(),
            })
            .get()
    }
}

pub(crate) static METRICS: LazyLock<ServerMetrics> = LazyLock::new(|| {
    let metrics = ServerMetrics {
        shed: Family::default(),
        rate_limited: Family::default(),
    };
    zhongtai_telemetry::metrics::with_registry(|registry| {
        registry.register(
            "zhongtai_server_shed",
            "Calls refused by the gRPC server's priority load shedding",
            AlwaysDescribed(metrics.shed.clone()),
        );
        registry.register(
            "zhongtai_server_rate_limited",
            "Calls refused by the gRPC server's token bucket",
            AlwaysDescribed(metrics.rate_limited.clone()),
        );
    });
    metrics
});
