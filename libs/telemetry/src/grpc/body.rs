//! The response body of both layers: passes frames through untouched and
//! finishes the call when the trailers (with `grpc-status`) go by.

use std::pin::Pin;
use std::task::{Context, Poll, ready};

use http_body::{Body, Frame, SizeHint};
use pin_project_lite::pin_project;

use super::call::Call;
use super::status::GrpcCode;

pin_project! {
    /// Response body of [`super::ServerTelemetry`] and
    /// [`super::ClientTelemetry`]; behaves exactly like the body it wraps.
    pub struct TelemetryBody<B> {
        #[pin]
        inner: B,
        call: Option<Call>,
    }
}

impl<B> TelemetryBody<B> {
    pub(crate) fn new(inner: B, call: Option<Call>) -> Self {
        Self { inner, call }
    }
}

impl<B: Body> Body for TelemetryBody<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let this = self.project();
        let frame = ready!(this.inner.poll_frame(cx));
        let outcome = match &frame {
            Some(Ok(frame)) => frame
                .trailers_ref()
                .map(|trailers| GrpcCode::from_headers(trailers).unwrap_or(GrpcCode::UNKNOWN)),
            // A stream that breaks, or ends without trailers, has no status:
            // the receiver reports it as unknown.
            Some(Err(_)) | None => Some(GrpcCode::UNKNOWN),
        };
        if let Some(code) = outcome
            && let Some(call) = this.call.take()
        {
            call.finish(code);
        }
        Poll::Ready(frame)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
