//! One gRPC call in progress: its span, its start time and its metric
//! handles, finished exactly once with the final status — or as `Canceled`
//! when it is dropped before a status was seen.

use std::sync::Arc;
use std::time::Instant;

use tracing::Span;

use super::status::GrpcCode;
use crate::metrics::grpc::{MethodMetrics, Side};

pub(crate) struct Call {
    side: Side,
    metrics: Arc<MethodMetrics>,
    span: Span,
    started: Instant,
    finished: bool,
}

impl Call {
    pub(crate) fn start(side: Side, metrics: Arc<MethodMetrics>, span: Span) -> Self {
        metrics.started();
        Self {
            side,
            metrics,
            span,
            started: Instant::now(),
            finished: false,
        }
    }

    /// Records the final status.
    pub(crate) fn finish(mut self, code: GrpcCode) {
        self.record(code);
    }

    /// Records a call whose inner service failed without any response: the
    /// server could not handle it; the client could not reach the peer
    /// (which tonic reports to callers as `Unavailable`).
    pub(crate) fn fail(self) {
        let code = match self.side {
            Side::Server => GrpcCode::INTERNAL,
            Side::Client => GrpcCode::UNAVAILABLE,
        };
        self.finish(code);
    }

    fn record(&mut self, code: GrpcCode) {
        if self.finished {
            return;
        }
        self.finished = true;
        self.metrics.finished(code, self.started.elapsed());
        self.span.record("rpc.grpc.status_code", code.value());
        let is_error = match self.side {
            Side::Server => code.is_server_fault(),
            Side::Client => code != GrpcCode::OK,
        };
        if is_error {
            self.span.record("otel.status_code", "error");
        }
    }
}

impl Drop for Call {
    fn drop(&mut self) {
        // No status seen: the response (or its stream) was abandoned.
        self.record(GrpcCode::CANCELLED);
    }
}
