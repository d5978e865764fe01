//! The OpenTelemetry tracer provider that ships spans to a collector over
//! OTLP/gRPC.
//!
//! Spans are batched by the SDK's batch span processor, which exports from its
//! own thread; the tonic channel underneath does its I/O on the Tokio runtime
//! that was current when the provider was built. (The SDK's async-runtime
//! processor is still experimental and its shutdown ignores time limits, which
//! would make [`crate::TelemetryGuard`]'s drop unbounded.)

use opentelemetry_otlp::WithExportConfig;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::{Sampler, SdkTracerProvider};

use crate::TelemetryError;

/// The standard OpenTelemetry variable for the collector endpoint.
const ENDPOINT_ENV: &str = "OTEL_EXPORTER_OTLP_ENDPOINT";

/// The endpoint to export to: the configured one, else the standard
/// environment variable; blank values count as unset.
pub(crate) fn endpoint(configured: Option<&str>) -> Option<String> {
    let from_env = std::env::var(ENDPOINT_ENV).ok();
    [configured, from_env.as_deref()]
        .into_iter()
        .flatten()
        .map(str::trim)
        .find(|value| !value.is_empty())
        .map(str::to_string)
}

/// A provider exporting `service_name`'s spans to `endpoint`. Must run inside
/// a Tokio runtime (the gRPC channel is spawned on it).
pub(crate) fn tracer_provider(
    service_name: &str,
    endpoint: &str,
) -> Result<SdkTracerProvider, TelemetryError> {
    if tokio::runtime::Handle::try_current().is_err() {
        return Err(TelemetryError::NoRuntime {
            endpoint: endpoint.to_string(),
        });
    }
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_tonic()
        .with_endpoint(endpoint)
        .build()
        .map_err(|source| TelemetryError::Exporter {
            endpoint: endpoint.to_string(),
            source,
        })?;
    Ok(provider_builder(service_name)
        .with_batch_exporter(exporter)
        .build())
}

/// The provider settings shared by every exporter: resource and sampling.
/// Parent-based so a caller's sampling decision holds across the mesh;
/// always-on at the root, because volume is controlled at the collector.
pub(crate) fn provider_builder(
    service_name: &str,
) -> opentelemetry_sdk::trace::TracerProviderBuilder {
    SdkTracerProvider::builder()
        .with_resource(
            Resource::builder()
                .with_service_name(service_name.to_string())
                .build(),
        )
        .with_sampler(Sampler::ParentBased(Box::new(Sampler::AlwaysOn)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exporter_needs_a_runtime_and_says_so() {
        let error = tracer_provider("zhongtai-test", "http://127.0.0.1:4317")
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(error.contains("needs a Tokio runtime"), "{error}");
    }

    #[tokio::test]
    async fn malformed_endpoint_is_a_configuration_error() {
        let error = tracer_provider("zhongtai-test", "not a url at all")
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            error.contains("cannot set up trace export to not a url at all"),
            "{error}"
        );
    }

    #[tokio::test]
    async fn provider_builds_lazily_without_a_collector() {
        // Nothing listens there: building must not connect or fail.
        let port = zhongtai_testkit::free_port();
        let provider = tracer_provider("zhongtai-test", &format!("http://127.0.0.1:{port}"))
            .expect("provider builds");
        let result = tokio::task::spawn_blocking(move || {
            provider.shutdown_with_timeout(std::time::Duration::from_secs(2))
        })
        .await;
        assert!(result.is_ok());
    }
}
