//! The process-wide Prometheus registry and its OpenMetrics text exposition.
//!
//! Every crate registers its metrics here, once, at start-up (typically from
//! a `LazyLock` or when a component is built):
//!
//! ```
//! use prometheus_client::metrics::counter::Counter;
//!
//! let delivered = Counter::<u64>::default();
//! zhongtai_telemetry::metrics::with_registry(|registry| {
//!     registry.register("doc_example_deliveries", "Changes delivered", delivered.clone());
//! });
//! delivered.inc();
//! assert!(zhongtai_telemetry::metrics::encode().contains("doc_example_deliveries_total 1"));
//! ```
//!
//! The gRPC metrics of [`crate::grpc`] live here too (see [`grpc`]).

pub(crate) mod grpc;

use std::sync::{LazyLock, Mutex, MutexGuard};

use prometheus_client::encoding::{EncodeMetric, MetricEncoder};
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::Registry;

static REGISTRY: LazyLock<Mutex<Registry>> = LazyLock::new(|| {
    let mut registry = Registry::default();
    grpc::register(&mut registry);
    Mutex::new(registry)
});

fn registry() -> MutexGuard<'static, Registry> {
    // A panic inside someone's `with_registry` closure leaves the registry
    // itself intact; keep serving it.
    REGISTRY
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Runs `f` with the process-wide registry, to register metrics into it.
///
/// Registration is meant for start-up; do not call this on a hot path, and do
/// not call [`encode`] from inside `f` (the registry is locked meanwhile).
pub fn with_registry<R>(f: impl FnOnce(&mut Registry) -> R) -> R {
    f(&mut registry())
}

/// The registry in the OpenMetrics text format, for a `/metrics` endpoint
/// (content type `application/openmetrics-text; version=1.0.0; charset=utf-8`).
pub fn encode() -> String {
    let mut out = String::with_capacity(16 * 1024);
    // Writing into a String cannot fail; an error could only come from a
    // metric's own encoder, and a partial page beats none.
    if let Err(error) = prometheus_client::encoding::text::encode(&mut out, &registry()) {
        tracing::warn!(%error, "metrics exposition incomplete");
    }
    out
}

/// A metric whose `# HELP` and `# TYPE` lines are served even while it has
/// no sample (a label family before its first event): the exposition skips
/// empty metrics otherwise, and dashboards and alerts must find every family
/// from start-up. Register label families wrapped in it:
///
/// ```
/// use prometheus_client::metrics::{counter::Counter, family::Family};
/// use zhongtai_telemetry::metrics::AlwaysDescribed;
///
/// let refusals = Family::<Vec<(String, String)>, Counter>::default();
/// zhongtai_telemetry::metrics::with_registry(|registry| {
///     registry.register("doc_example_refusals", "Refusals", AlwaysDescribed(refusals.clone()));
/// });
/// assert!(zhongtai_telemetry::metrics::encode().contains("# TYPE doc_example_refusals counter"));
/// ```
#[derive(Clone, Debug)]
pub struct AlwaysDescribed<M>(pub M);

impl<M: EncodeMetric> EncodeMetric for AlwaysDescribed<M> {
    fn encode(&self, encoder: MetricEncoder) -> Result<(), std::fmt::Error> {
        self.0.encode(encoder)
    }

    fn metric_type(&self) -> MetricType {
        self.0.metric_type()
    }

    fn is_empty(&self) -> bool {
        false
    }
}

/// The content type of [`encode`]'s output.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

#[cfg(test)]
mod tests {
    use prometheus_client::metrics::gauge::Gauge;

    use super::*;

    #[test]
    fn registered_metrics_appear_in_the_exposition() {
        let gauge = Gauge::<i64>::default();
        with_registry(|registry| {
            registry.register("metrics_test_queue_depth", "Items waiting", gauge.clone())
        });
        gauge.set(7);
        let text = encode();
        assert!(
            text.contains("# TYPE metrics_test_queue_depth gauge"),
            "{text}"
        );
        assert!(text.contains("metrics_test_queue_depth 7"), "{text}");
        assert!(text.ends_with("# EOF\n"), "{text}");
    }
}
