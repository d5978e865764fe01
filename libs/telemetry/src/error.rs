//! Why telemetry could not be set up.

/// A telemetry set-up failure. Each is a configuration problem the operator
/// can fix; none is raised after start-up.
#[derive(Debug, thiserror::Error)]
pub enum TelemetryError {
    /// The log filter (from `RUST_LOG` or the configuration) does not parse.
    #[error("invalid log filter `{directives}`: {source}")]
    InvalidFilter {
        directives: String,
        #[source]
        source: tracing_subscriber::filter::ParseError,
    },
    /// Exporting over OTLP/gRPC needs a Tokio runtime to drive the channel.
    #[error(
        "exporting traces to {endpoint} needs a Tokio runtime: call telemetry init from inside the runtime"
    )]
    NoRuntime { endpoint: String },
    /// The OTLP exporter refused its configuration (usually a malformed
    /// endpoint).
    #[error("cannot set up trace export to {endpoint}: {source}")]
    Exporter {
        endpoint: String,
        #[source]
        source: opentelemetry_otlp::ExporterBuildError,
    },
}
