//! Server side: continue the caller's trace, open `grpc.server`, measure.

use std::sync::Arc;
use std::task::{Context, Poll};

use tower_layer::Layer;
use tower_service::Service;
use tracing::field::Empty;

use super::call::Call;
use super::future::ResponseFuture;
use super::method::{MethodTable, split_path};
use crate::metrics::grpc::Side;
use crate::propagation::set_parent_from_headers;

/// Traces and measures every call a gRPC server handles.
///
/// For each request it continues the trace in the `traceparent` header (when
/// there is one), opens a `grpc.server` span with `rpc.service`, `rpc.method`
/// and, once known, `rpc.grpc.status_code`, and records
/// `grpc_server_requests_total`, `grpc_server_request_duration_seconds` and
/// `grpc_server_in_flight`. The status comes from the response headers
/// (trailers-only responses) or from the trailers after the body.
///
/// Place it outermost so rejected and shed calls are counted too:
/// `Server::builder().layer(ServerTelemetryLayer::new("approval"))`.
#[derive(Clone)]
pub struct ServerTelemetryLayer {
    methods: Arc<MethodTable>,
}

impl ServerTelemetryLayer {
    /// A layer for the server of `service` (the metrics' `service` label).
    pub fn new(service: &'static str) -> Self {
        Self {
            methods: Arc::new(MethodTable::new(Side::Server, Arc::from(service))),
        }
    }
}

impl std::fmt::Debug for ServerTelemetryLayer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerTelemetryLayer")
            .field("service", &self.methods.service())
            .finish()
    }
}

impl<S> Layer<S> for ServerTelemetryLayer {
    type Service = ServerTelemetry<S>;

    fn layer(&self, inner: S) -> Self::Service {
        ServerTelemetry {
            inner,
            methods: self.methods.clone(),
        }
    }
}

/// The service made by [`ServerTelemetryLayer`].
#[derive(Clone)]
pub struct ServerTelemetry<S> {
    inner: S,
    methods: Arc<MethodTable>,
}

impl<S, ReqBody, ResBody> Service<http::Request<ReqBody>> for ServerTelemetry<S>
where
    S: Service<http::Request<ReqBody>, Response = http::Response<ResBody>>,
{
    type Response = http::Response<super::TelemetryBody<ResBody>>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<ReqBody>) -> Self::Future {
        let path = request.uri().path();
        let (rpc_service, rpc_method) = split_path(path);
        let span = tracing::info_span!(
            "grpc.server",
            otel.name = path.trim_start_matches('/'),
            otel.kind = "server",
            otel.status_code = Empty,
            rpc.system = "grpc",
            rpc.service = rpc_service,
            rpc.method = rpc_method,
            rpc.grpc.status_code = Empty,
        );
        set_parent_from_headers(&span, request.headers());
        let call = Call::start(Side::Server, self.methods.get(path), span.clone());
        let inner = span.in_scope(|| self.inner.call(request));
        ResponseFuture::new(inner, span, call)
    }
}
