//! Client side: open `grpc.client`, send its trace context, measure.

use std::sync::Arc;
use std::task::{Context, Poll};

use tower_layer::Layer;
use tower_service::Service;
use tracing::field::Empty;
use tracing_opentelemetry::OpenTelemetrySpanExt;

use super::call::Call;
use super::future::ResponseFuture;
use super::method::{MethodTable, split_path};
use crate::metrics::grpc::Side;
use crate::propagation::inject_into_headers;

/// Traces and measures every call made through a gRPC client channel.
///
/// For each request it opens a `grpc.client` span (a child of the current
/// span), writes that span's W3C trace context into the request headers so
/// the server continues the trace, and records `grpc_client_requests_total`,
/// `grpc_client_request_duration_seconds` and `grpc_client_in_flight` with
/// the target service as the `service` label.
///
/// Works over any `tower::Service<http::Request<B>>`, e.g. a tonic `Channel`:
/// `ServiceBuilder::new().layer(ClientTelemetryLayer::new("catalog")).service(channel)`.
#[derive(Clone)]
pub struct ClientTelemetryLayer {
    methods: Arc<MethodTable>,
}

impl ClientTelemetryLayer {
    /// A layer for calls to `target_service`.
    pub fn new(target_service: impl Into<String>) -> Self {
        let target: String = target_service.into();
        Self {
            methods: Arc::new(MethodTable::new(Side::Client, Arc::from(target))),
        }
    }
}

impl std::fmt::Debug for ClientTelemetryLayer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientTelemetryLayer")
            .field("target_service", &self.methods.service())
            .finish()
    }
}

impl<S> Layer<S> for ClientTelemetryLayer {
    type Service = ClientTelemetry<S>;

    fn layer(&self, inner: S) -> Self::Service {
        ClientTelemetry {
            inner,
            methods: self.methods.clone(),
        }
    }
}

/// The service made by [`ClientTelemetryLayer`].
#[derive(Clone)]
pub struct ClientTelemetry<S> {
    inner: S,
    methods: Arc<MethodTable>,
}

impl<S, ReqBody, ResBody> Service<http::Request<ReqBody>> for ClientTelemetry<S>
where
    S: Service<http::Request<ReqBody>, Response = http::Response<ResBody>>,
{
    type Response = http::Response<super::TelemetryBody<ResBody>>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: http::Request<ReqBody>) -> Self::Future {
        let path = request.uri().path();
        let (rpc_service, rpc_method) = split_path(path);
        let span = tracing::info_span!(
            "grpc.client",
            otel.name = path.trim_start_matches('/'),
            otel.kind = "client",
            otel.status_code = Empty,
            rpc.system = "grpc",
            rpc.service = rpc_service,
            rpc.method = rpc_method,
            rpc.grpc.status_code = Empty,
            peer.service = self.methods.service(),
        );
        let metrics = self.methods.get(path);
        inject_into_headers(&span.context(), request.headers_mut());
        let call = Call::start(Side::Client, metrics, span.clone());
        let inner = span.in_scope(|| self.inner.call(request));
        ResponseFuture::new(inner, span, call)
    }
}
