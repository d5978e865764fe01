//! A tiny inner service for exercising the server layers without a network.

use std::convert::Infallible;
use std::future::Ready;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use bytes::Bytes;
use http::{Request, Response};
use http_body::Frame;
use http_body_util::StreamBody;
use tokio::sync::mpsc;
use tokio_stream::StreamExt;
use tokio_stream::wrappers::UnboundedReceiverStream;
use tonic::Code;

type Sender = mpsc::UnboundedSender<Result<Frame<Bytes>, tonic::Status>>;

/// Answers every call at once with headers and a body that streams whatever
/// [`send`](Self::send) pushes until [`finish`](Self::finish).
#[derive(Clone, Default)]
pub(crate) struct StreamingService {
    calls: Arc<AtomicUsize>,
    open_bodies: Arc<Mutex<Vec<Sender>>>,
}

impl StreamingService {
    pub(crate) fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }

    pub(crate) fn send(&self, chunk: Bytes) {
        for body in self.bodies().iter() {
            let _ = body.send(Ok(Frame::data(chunk.clone())));
        }
    }

    pub(crate) fn finish(&self) {
        self.bodies().clear();
    }

    fn bodies(&self) -> std::sync::MutexGuard<'_, Vec<Sender>> {
        self.open_bodies
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl<B> tower_service::Service<Request<B>> for StreamingService {
    type Response = Response<tonic::body::Body>;
    type Error = Infallible;
    type Future = Ready<Result<Self::Response, Infallible>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, _: Request<B>) -> Self::Future {
        self.calls.fetch_add(1, Ordering::SeqCst);
        let (sender, receiver) = mpsc::unbounded_channel();
        self.bodies().push(sender);
        let stream = UnboundedReceiverStream::new(receiver).map(|frame| frame);
        let body = tonic::body::Body::new(StreamBody::new(stream));
        std::future::ready(Ok(Response::new(body)))
    }
}

pub(crate) fn request(path: &str) -> Request<tonic::body::Body> {
    let mut request = Request::new(tonic::body::Body::empty());
    *request.uri_mut() = path.parse().unwrap_or_else(|e| panic!("path {path}: {e}"));
    request
}

/// The status of a trailers-only response; `None` when the service answered.
pub(crate) fn grpc_code<B>(response: &Response<B>) -> Option<Code> {
    response
        .headers()
        .get("grpc-status")
        .map(|value| Code::from_bytes(value.as_bytes()))
}
