//! The backend under every path: a tonic server that answers
//! `VerifyCertificate` with a pre-encoded response, so the benchmark
//! measures the hops in front of it rather than the verification.

use std::convert::Infallible;
use std::task::{Context, Poll};

use bytes::Bytes;
use futures::future::BoxFuture;
use http::{HeaderMap, HeaderValue, Request, Response};
use http_body_util::{BodyExt as _, StreamBody};
use tokio::net::TcpListener;
use tokio_stream::wrappers::TcpListenerStream;
use tonic::body::Body;
use tonic::server::NamedService;

use crate::payload;

/// Answers the benchmarked method; every other path gets `UNIMPLEMENTED`.
#[derive(Clone, Debug)]
pub struct CertificateBackend {
    response_frame: Bytes,
}

impl CertificateBackend {
    /// A backend answering with [`payload::response`].
    pub fn new() -> Self {
        Self {
            response_frame: payload::frame(&payload::response()),
        }
    }
}

impl Default for CertificateBackend {
    fn default() -> Self {
        Self::new()
    }
}

impl NamedService for CertificateBackend {
    const NAME: &'static str = payload::SERVICE;
}

impl tower_service::Service<Request<Body>> for CertificateBackend {
    type Response = Response<Body>;
    type Error = Infallible;
    type Future = BoxFuture<'static, Result<Response<Body>, Infallible>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<Body>) -> Self::Future {
        let known = request.uri().path() == payload::METHOD_PATH;
        let frame = self.response_frame.clone();
        Box::pin(async move {
            // Read the whole request so the stream ends cleanly on both
            // sides (a proxy in front may otherwise reset it).
            let _ = request.into_body().collect().await;
            Ok(if known {
                grpc_response(Some(frame), 0)
            } else {
                grpc_response(None, tonic::Code::Unimplemented as i32)
            })
        })
    }
}

fn grpc_response(message: Option<Bytes>, grpc_status: i32) -> Response<Body> {
    let mut trailers = HeaderMap::new();
    trailers.insert("grpc-status", HeaderValue::from(grpc_status));
    let frames = message
        .map(http_body::Frame::data)
        .into_iter()
        .chain(std::iter::once(http_body::Frame::trailers(trailers)))
        .map(Ok::<_, Infallible>);
    let body = StreamBody::new(futures::stream::iter(frames));
    let mut response = Response::new(Body::new(body));
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/grpc"),
    );
    response
}

/// Serves the backend on `listener` (plaintext HTTP/2) until `shutdown`
/// completes.
pub async fn serve(
    listener: TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send,
) -> Result<(), tonic::transport::Error> {
    tonic::transport::Server::builder()
        .tcp_nodelay(true)
        .add_service(CertificateBackend::new())
        .serve_with_incoming_shutdown(TcpListenerStream::new(listener), shutdown)
        .await
}
