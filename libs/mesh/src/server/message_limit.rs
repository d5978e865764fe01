//! Refuses oversize request messages as they stream in, by reading each
//! gRPC message's 5-byte prefix (1 compression flag, 4 bytes big-endian
//! length), without buffering the message. The refusal is a
//! `RESOURCE_EXHAUSTED` status with `MESSAGE_TOO_LARGE`; tonic's own limit
//! would answer `OUT_OF_RANGE`, which callers cannot tell from a bad value.

use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::Request;
use http_body::{Body, Frame, SizeHint};
use pin_project_lite::pin_project;
use tonic::Code;
use tower_layer::Layer;
use tower_service::Service;
use zhongtai_contracts::common::v1::ErrorReason;

use crate::BoxError;
use crate::rejection::status;

const PREFIX_LEN: usize = 5;

/// Bounds the size of every request message.
#[derive(Clone, Copy, Debug)]
pub struct MessageLimitLayer {
    max_message_bytes: usize,
}

impl MessageLimitLayer {
    /// Refuses any request message longer than `max_message_bytes`.
    pub fn new(max_message_bytes: usize) -> Self {
        Self { max_message_bytes }
    }
}

impl<S> Layer<S> for MessageLimitLayer {
    type Service = MessageLimitService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        MessageLimitService {
            inner,
            max_message_bytes: self.max_message_bytes,
        }
    }
}

/// The service [`MessageLimitLayer`] produces.
#[derive(Clone, Debug)]
pub struct MessageLimitService<S> {
    inner: S,
    max_message_bytes: usize,
}

impl<S, ReqBody> Service<Request<ReqBody>> for MessageLimitService<S>
where
    S: Service<Request<tonic::body::Body>>,
    ReqBody: Body<Data = Bytes> + Send + 'static,
    ReqBody::Error: Into<BoxError>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<ReqBody>) -> Self::Future {
        let limit = self.max_message_bytes;
        self.inner.call(request.map(|body| {
            tonic::body::Body::new(LimitedBody {
                inner: body,
                reader: PrefixReader::new(limit),
                failed: false,
            })
        }))
    }
}

/// Follows message boundaries across arbitrarily split data frames.
#[derive(Debug)]
struct PrefixReader {
    limit: usize,
    prefix: [u8; PREFIX_LEN],
    prefix_filled: usize,
    payload_left: usize,
}

impl PrefixReader {
    fn new(limit: usize) -> Self {
        Self {
            limit,
            prefix: [0; PREFIX_LEN],
            prefix_filled: 0,
            payload_left: 0,
        }
    }

    /// Reads one chunk; fails with the declared length of the first message
    /// over the limit.
    fn read(&mut self, mut chunk: &[u8]) -> Result<(), u64> {
        while !chunk.is_empty() {
            if self.payload_left > 0 {
                let skipped = self.payload_left.min(chunk.len());
                self.payload_left -= skipped;
                chunk = &chunk[skipped..];
                continue;
            }
            let wanted = PREFIX_LEN - self.prefix_filled;
            let taken = wanted.min(chunk.len());
            self.prefix[self.prefix_filled..self.prefix_filled + taken]
                .copy_from_slice(&chunk[..taken]);
            self.prefix_filled += taken;
            chunk = &chunk[taken..];
            if self.prefix_filled == PREFIX_LEN {
                self.prefix_filled = 0;
                let [_, a, b, c, d] = self.prefix;
                let declared = u32::from_be_bytes([a, b, c, d]);
                let declared_usize = usize::try_from(declared).unwrap_or(usize::MAX);
                if declared_usize > self.limit {
                    return Err(u64::from(declared));
                }
                self.payload_left = declared_usize;
            }
        }
        Ok(())
    }
}

pin_project! {
    struct LimitedBody<B> {
        #[pin]
        inner: B,
        reader: PrefixReader,
        failed: bool,
    }
}

impl<B> Body for LimitedBody<B>
where
    B: Body<Data = Bytes>,
    B::Error: Into<BoxError>,
{
    type Data = Bytes;
    type Error = tonic::Status;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, tonic::Status>>> {
        let this = self.project();
        if *this.failed {
            return Poll::Ready(None);
        }
        let frame = match std::task::ready!(this.inner.poll_frame(cx)) {
            None => return Poll::Ready(None),
            Some(Err(error)) => {
                return Poll::Ready(Some(Err(tonic::Status::from_error(error.into()))));
            }
            Some(Ok(frame)) => frame,
        };
        if let Some(data) = frame.data_ref()
            && let Err(declared) = this.reader.read(data)
        {
            *this.failed = true;
            let limit = this.reader.limit;
            tracing::debug!(declared, limit, "refusing oversize request message");
            return Poll::Ready(Some(Err(status(
                Code::ResourceExhausted,
                format!("request message of {declared} bytes exceeds the limit of {limit} bytes"),
                ErrorReason::MessageTooLarge,
                None,
            ))));
        }
        Poll::Ready(Some(Ok(frame)))
    }

    fn is_end_stream(&self) -> bool {
        self.failed || self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;
    use std::convert::Infallible;
    use tonic_types::StatusExt;
    use tower::ServiceExt;

    fn message(len: usize) -> Vec<u8> {
        let mut bytes = vec![0u8];
        bytes.extend_from_slice(&u32::try_from(len).unwrap_or(u32::MAX).to_be_bytes());
        bytes.extend(std::iter::repeat_n(7u8, len));
        bytes
    }

    /// Sends `chunks` as separate data frames through the layer and reads the
    /// body the way the server would; returns the bytes read or the status.
    async fn read_through(limit: usize, chunks: Vec<Vec<u8>>) -> Result<Vec<u8>, tonic::Status> {
        let frames = chunks
            .into_iter()
            .map(|chunk| Ok::<_, Infallible>(Frame::data(Bytes::from(chunk))));
        let body = http_body_util::StreamBody::new(futures::stream::iter(frames));
        let inner = tower::service_fn(|request: Request<tonic::body::Body>| async move {
            let collected = request.into_body().collect().await;
            Ok::<_, Infallible>(collected.map(|c| c.to_bytes().to_vec()))
        });
        let service = MessageLimitLayer::new(limit).layer(inner);
        match service.oneshot(Request::new(body)).await {
            Ok(result) => result,
            Err(never) => match never {},
        }
    }

    #[tokio::test]
    async fn messages_within_the_limit_pass_untouched() {
        let mut stream = message(10);
        stream.extend(message(0));
        stream.extend(message(10));
        let read = read_through(10, vec![stream.clone()]).await;
        assert_eq!(read.ok(), Some(stream));
    }

    #[tokio::test]
    async fn an_oversize_message_is_resource_exhausted_with_details() {
        let Err(status) = read_through(10, vec![message(11)]).await else {
            panic!("oversize message passed");
        };
        assert_eq!(status.code(), Code::ResourceExhausted);
        let details = status.get_error_details();
        let info = details
            .error_info()
            .unwrap_or_else(|| panic!("no ErrorInfo"));
        assert_eq!(info.reason, ErrorReason::MessageTooLarge.as_str_name());
    }

    #[tokio::test]
    async fn prefixes_split_across_frames_are_still_read() {
        // Small message, then a large one whose prefix arrives byte by byte
        // across frames that also end the previous payload.
        let mut stream = message(3);
        stream.extend(message(100));
        let mut chunks: Vec<Vec<u8>> = Vec::new();
        let (first, rest) = stream.split_at(6);
        chunks.push(first.to_vec());
        for byte in &rest[..6] {
            chunks.push(vec![*byte]);
        }
        chunks.push(rest[6..].to_vec());
        let result = read_through(50, chunks.clone()).await;
        assert_eq!(
            result.err().map(|s| s.code()),
            Some(Code::ResourceExhausted)
        );
        let whole: Vec<u8> = chunks.concat();
        assert_eq!(read_through(100, chunks).await.ok(), Some(whole));
    }

    #[test]
    fn the_reader_tracks_boundaries_in_any_split() {
        let mut stream = message(5);
        stream.extend(message(9));
        stream.extend(message(2));
        for split in 0..stream.len() {
            let mut reader = PrefixReader::new(8);
            let (a, b) = stream.split_at(split);
            let outcome = reader.read(a).and_then(|()| reader.read(b));
            assert_eq!(outcome, Err(9), "split at {split}");
            let mut reader = PrefixReader::new(9);
            assert_eq!(
                reader.read(a).and_then(|()| reader.read(b)),
                Ok(()),
                "split at {split}"
            );
        }
    }
}
