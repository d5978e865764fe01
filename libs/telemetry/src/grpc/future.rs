//! The response future of both layers: polls the inner service inside the
//! call's span, then hands the call to the response body unless the status is
//! already known from the response headers.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use pin_project_lite::pin_project;
use tracing::Span;

use super::body::TelemetryBody;
use super::call::Call;
use super::status::GrpcCode;

pin_project! {
    /// Future of [`super::ServerTelemetry`] and [`super::ClientTelemetry`].
    pub struct ResponseFuture<F> {
        #[pin]
        inner: F,
        span: Span,
        call: Option<Call>,
    }
}

impl<F> ResponseFuture<F> {
    pub(crate) fn new(inner: F, span: Span, call: Call) -> Self {
        Self {
            inner,
            span,
            call: Some(call),
        }
    }
}

impl<F, B, E> Future for ResponseFuture<F>
where
    F: Future<Output = Result<http::Response<B>, E>>,
{
    type Output = Result<http::Response<TelemetryBody<B>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let result = {
            let _entered = this.span.enter();
            ready!(this.inner.poll(cx))
        };
        let call = this.call.take();
        Poll::Ready(match result {
            Ok(response) => Ok(track_body(response, call)),
            Err(error) => {
                if let Some(call) = call {
                    call.fail();
                }
                Err(error)
            }
        })
    }
}

/// Finishes the call now when the headers carry the status (trailers-only
/// responses, non-gRPC error pages); otherwise the body finishes it when the
/// trailers arrive.
fn track_body<B>(
    response: http::Response<B>,
    call: Option<Call>,
) -> http::Response<TelemetryBody<B>> {
    let (parts, body) = response.into_parts();
    let pending = call.and_then(|call| {
        let status = GrpcCode::from_headers(&parts.headers).or_else(|| {
            (parts.status != http::StatusCode::OK).then(|| GrpcCode::from_http_status(parts.status))
        });
        match status {
            Some(code) => {
                call.finish(code);
                None
            }
            None => Some(call),
        }
    });
    http::Response::from_parts(parts, TelemetryBody::new(body, pending))
}
