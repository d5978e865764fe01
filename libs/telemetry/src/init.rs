//! Installs the process-wide subscriber: log lines, filter, and (when a
//! collector is configured) the OpenTelemetry layer; plus the W3C propagator.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_subscriber::Layer;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

use crate::{TelemetryConfig, TelemetryError, filter, format, otlp};

/// How long dropping the guard may wait for queued spans to reach the
/// collector.
const SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(5);

/// Set by the first successful [`init`]; later calls do nothing.
static INSTALLED: AtomicBool = AtomicBool::new(false);

/// Keeps trace export running. Dropping it flushes queued spans and shuts the
/// exporter down, waiting at most a few seconds; keep it alive in `main`.
#[must_use = "dropping the guard stops trace export"]
#[derive(Debug)]
pub struct TelemetryGuard {
    provider: Option<SdkTracerProvider>,
}

impl TelemetryGuard {
    fn inactive() -> Self {
        Self { provider: None }
    }

    /// True when this guard owns a trace exporter (an OTLP endpoint was
    /// configured and this was the call that installed telemetry).
    pub fn is_exporting(&self) -> bool {
        self.provider.is_some()
    }
}

impl Drop for TelemetryGuard {
    fn drop(&mut self) {
        let Some(provider) = self.provider.take() else {
            return;
        };
        // Bounded by SHUTDOWN_TIMEOUT whatever the collector does.
        if let Err(error) = provider.shutdown_with_timeout(SHUTDOWN_TIMEOUT) {
            tracing::warn!(%error, "trace exporter did not shut down cleanly");
        }
    }
}

/// Installs logging and tracing for this process.
///
/// * log lines on standard error in `config.log_format`;
/// * an `EnvFilter` on those lines from `RUST_LOG`, else `config.log_filter`,
///   else `info`, with h2/hyper/tonic/tower off and sqlx/sea-orm at `warn`
///   unless a directive names them;
/// * when an OTLP endpoint is configured (or `OTEL_EXPORTER_OTLP_ENDPOINT` is
///   set), spans exported over OTLP/gRPC with `service.name` set, batched,
///   sampled parent-based always-on, filtered at `info` independently of the
///   log filter — call from inside the Tokio runtime then;
/// * the W3C trace-context propagator as the global propagator.
///
/// Only the first call in a process installs anything; later calls (and a
/// call after another subscriber was installed, as test harnesses do) return
/// a guard that does nothing.
pub fn init(config: &TelemetryConfig) -> Result<TelemetryGuard, TelemetryError> {
    if INSTALLED.load(Ordering::Acquire) {
        return Ok(TelemetryGuard::inactive());
    }
    let log_filter = filter::env_filter(config.log_filter.as_deref())?;
    let provider = match otlp::endpoint(config.otlp_endpoint.as_deref()) {
        Some(endpoint) => Some(otlp::tracer_provider(&config.service_name, &endpoint)?),
        None => None,
    };
    // Spans are filtered on their own: turning logs down to `warn` must not
    // cut the `grpc.server` / `grpc.client` spans out of traces (nor stop
    // trace context from being passed on).
    let otel_layer = match &provider {
        Some(provider) => Some(
            tracing_opentelemetry::layer()
                .with_tracer(provider.tracer(env!("CARGO_PKG_NAME")))
                .with_filter(filter::trace_filter()?),
        ),
        None => None,
    };

    if INSTALLED.swap(true, Ordering::AcqRel) {
        shut_down_unused(provider);
        return Ok(TelemetryGuard::inactive());
    }
    let installed = tracing_subscriber::registry()
        .with(format::stderr_layer(config.log_format).with_filter(log_filter))
        .with(otel_layer)
        .try_init();
    if let Err(error) = installed {
        // Someone else owns the global subscriber; theirs stays.
        tracing::debug!(%error, "a global subscriber is already installed, keeping it");
        shut_down_unused(provider);
        return Ok(TelemetryGuard::inactive());
    }

    opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());
    if let Some(provider) = &provider {
        opentelemetry::global::set_tracer_provider(provider.clone());
    }
    tracing::debug!(
        service = %config.service_name,
        exporting = provider.is_some(),
        "telemetry installed"
    );
    Ok(TelemetryGuard { provider })
}

fn shut_down_unused(provider: Option<SdkTracerProvider>) {
    if let Some(provider) = provider {
        let _ = provider.shutdown_with_timeout(SHUTDOWN_TIMEOUT);
    }
}
