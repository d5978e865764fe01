//! Tracing, OpenTelemetry export, W3C trace-context propagation over gRPC and
//! AMQP, and Prometheus metrics: everything a Zhongtai process needs to be
//! observed, set up in one place.
//!
//! A service calls [`init`] once, first thing in `main`, and keeps the
//! returned [`TelemetryGuard`] alive until it exits:
//!
//! ```no_run
//! # async fn run() -> Result<(), zhongtai_telemetry::TelemetryError> {
//! use zhongtai_telemetry::{LogFormat, TelemetryConfig};
//!
//! let _telemetry = zhongtai_telemetry::init(&TelemetryConfig {
//!     service_name: "zhongtai-approval".into(),
//!     log_format: LogFormat::Json,
//!     log_filter: None,
//!     otlp_endpoint: Some("http://otel-collector:4317".into()),
//! })?;
//! # Ok(()) }
//! ```
//!
//! * [`grpc`] holds the tower layers that trace and measure every gRPC call,
//!   server side and client side, and carry the trace context between them.
//! * [`metrics`] holds the process-wide Prometheus registry and its text
//!   exposition.
//! * [`propagation`] carries W3C trace context through HTTP headers and string
//!   maps (event envelopes, AMQP headers).

#![forbid(unsafe_code)]

mod config;
mod error;
mod filter;
mod format;
pub mod grpc;
mod init;
pub mod metrics;
mod otlp;
pub mod propagation;

pub use config::{LogFormat, TelemetryConfig};
pub use error::TelemetryError;
pub use init::{TelemetryGuard, init};
