//! Tracing, OpenTelemetry export, W3C trace-context propagation over gRPC and
//! AMQP, and Prometheus metrics.

#![forbid(unsafe_code)]

pub mod propagation;
