//! What a process tells [`crate::init`] about how it wants to be observed.

use serde::{Deserialize, Serialize};

/// Logging and tracing settings of one process.
#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct TelemetryConfig {
    /// The OpenTelemetry resource's `service.name`, e.g. `zhongtai-approval`.
    pub service_name: String,
    /// How log lines are written to standard error.
    #[serde(default)]
    pub log_format: LogFormat,
    /// `EnvFilter` directives (`info,zhongtai_approval=debug`). `RUST_LOG`
    /// wins when it is set. Noisy transport and database crates stay quiet
    /// unless a directive names them.
    #[serde(default)]
    pub log_filter: Option<String>,
    /// OTLP/gRPC collector endpoint (`OTEL_EXPORTER_OTLP_ENDPOINT`). Spans are
    /// exported only when it is set; when it is `None` the environment
    /// variable is consulted, so the standard OpenTelemetry setup works too.
    #[serde(default)]
    pub otlp_endpoint: Option<String>,
}

impl TelemetryConfig {
    /// Settings for `service_name` with JSON logs, the default filter and no
    /// explicit OTLP endpoint.
    pub fn new(service_name: impl Into<String>) -> Self {
        Self {
            service_name: service_name.into(),
            log_format: LogFormat::default(),
            log_filter: None,
            otlp_endpoint: None,
        }
    }
}

/// Shape of the log lines.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// One JSON object per line, for log collectors. The default, because
    /// production is where logs are read by machines.
    #[default]
    Json,
    /// Multi-line, human-oriented output for local development.
    Pretty,
    /// One short human-readable line per event.
    Compact,
}

impl std::str::FromStr for LogFormat {
    type Err = String;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        match value.to_ascii_lowercase().as_str() {
            "json" => Ok(Self::Json),
            "pretty" => Ok(Self::Pretty),
            "compact" => Ok(Self::Compact),
            other => Err(format!(
                "unknown log format {other:?}: expected json, pretty or compact"
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_format_is_lowercase_in_config_files() {
        let config: TelemetryConfig =
            serde_json::from_str(r#"{"service_name":"zhongtai-test","log_format":"compact"}"#)
                .expect("valid config");
        assert_eq!(config.log_format, LogFormat::Compact);
        assert_eq!(config.log_filter, None);
        assert_eq!(
            serde_json::to_string(&LogFormat::Pretty).expect("serialisable"),
            "\"pretty\""
        );
        assert!(serde_json::from_str::<LogFormat>("\"xml\"").is_err());
    }
}
