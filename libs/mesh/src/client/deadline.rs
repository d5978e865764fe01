//! Every call gets a deadline: the caller's `grpc-timeout`, or the
//! channel's default written into the header so the server knows it too.
//! When it passes before the response headers arrive, the call ends with
//! `DEADLINE_EXCEEDED` (the server enforces the same header on its side).

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use http::{HeaderValue, Request, Response};
use pin_project_lite::pin_project;
use tower_layer::Layer;
use tower_service::Service;

pub(crate) const GRPC_TIMEOUT: &str = "grpc-timeout";

/// Largest value the header's 8 digits can carry.
const MAX_TIMEOUT_DIGITS: u64 = 99_999_999;

/// Applies [`DeadlineService`].
#[derive(Clone, Copy, Debug)]
pub struct DeadlineLayer {
    default_deadline: Duration,
}

impl DeadlineLayer {
    /// Calls without a `grpc-timeout` get `default_deadline`.
    pub fn new(default_deadline: Duration) -> Self {
        Self { default_deadline }
    }
}

impl<S> Layer<S> for DeadlineLayer {
    type Service = DeadlineService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        DeadlineService {
            inner,
            default_deadline: self.default_deadline,
        }
    }
}

/// Enforces each call's deadline; see the module documentation.
#[derive(Clone, Debug)]
pub struct DeadlineService<S> {
    inner: S,
    default_deadline: Duration,
}

impl<S> DeadlineService<S> {
    /// Wraps `inner`, giving calls without a deadline `default_deadline`.
    pub fn new(inner: S, default_deadline: Duration) -> Self {
        Self {
            inner,
            default_deadline,
        }
    }
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for DeadlineService<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    ResBody: Default,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = DeadlineFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<ReqBody>) -> Self::Future {
        let deadline = apply_deadline(&mut request, self.default_deadline);
        DeadlineFuture {
            inner: self.inner.call(request),
            sleep: tokio::time::sleep(deadline),
            deadline,
        }
    }
}

/// The call's deadline, writing the default into the request when it has
/// none (or one that does not parse).
pub(crate) fn apply_deadline<B>(request: &mut Request<B>, default: Duration) -> Duration {
    if let Some(deadline) = request_deadline(request) {
        return deadline;
    }
    request
        .headers_mut()
        .insert(GRPC_TIMEOUT, encode_timeout(default));
    default
}

/// The deadline the caller put in `grpc-timeout`, if any.
pub(crate) fn request_deadline<B>(request: &Request<B>) -> Option<Duration> {
    request
        .headers()
        .get(GRPC_TIMEOUT)
        .and_then(|value| parse_timeout(value.as_bytes()))
}

pin_project! {
    /// Response future of [`DeadlineService`].
    pub struct DeadlineFuture<F> {
        #[pin]
        inner: F,
        #[pin]
        sleep: tokio::time::Sleep,
        deadline: Duration,
    }
}

impl<F, E, B> Future for DeadlineFuture<F>
where
    F: Future<Output = Result<Response<B>, E>>,
    B: Default,
{
    type Output = Result<Response<B>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        if let Poll::Ready(result) = this.inner.poll(cx) {
            return Poll::Ready(result);
        }
        std::task::ready!(this.sleep.poll(cx));
        let status = tonic::Status::deadline_exceeded(format!(
            "no response within the call's deadline of {:?}",
            this.deadline
        ));
        Poll::Ready(Ok(status.into_http()))
    }
}

/// `grpc-timeout` as the spec writes it: at most 8 digits and a unit; the
/// coarsest unit that is exact, else the finest that fits (rounding down).
pub(crate) fn encode_timeout(timeout: Duration) -> HeaderValue {
    const UNITS: [(u128, &str); 6] = [
        (1, "n"),
        (1_000, "u"),
        (1_000_000, "m"),
        (1_000_000_000, "S"),
        (60_000_000_000, "M"),
        (3_600_000_000_000, "H"),
    ];
    let nanos = timeout.as_nanos();
    let fits = |(size, _): &&(u128, &str)| nanos / *size <= u128::from(MAX_TIMEOUT_DIGITS);
    let exact = UNITS
        .iter()
        .rev()
        .filter(fits)
        .find(|(size, _)| nanos.is_multiple_of(*size));
    let (size, unit) = exact
        .or_else(|| UNITS.iter().find(fits))
        .copied()
        .unwrap_or((3_600_000_000_000, "H"));
    let value = (nanos / size).min(u128::from(MAX_TIMEOUT_DIGITS));
    HeaderValue::from_str(&format!("{value}{unit}"))
        .unwrap_or_else(|_| HeaderValue::from_static("99999999H"))
}

/// Reads a `grpc-timeout` value; `None` when it is malformed.
pub(crate) fn parse_timeout(value: &[u8]) -> Option<Duration> {
    let (&unit, digits) = value.split_last()?;
    if digits.is_empty() || digits.len() > 8 || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let amount: u64 = std::str::from_utf8(digits).ok()?.parse().ok()?;
    Some(match unit {
        b'H' => Duration::from_secs(amount * 3600),
        b'M' => Duration::from_secs(amount * 60),
        b'S' => Duration::from_secs(amount),
        b'm' => Duration::from_millis(amount),
        b'u' => Duration::from_micros(amount),
        b'n' => Duration::from_nanos(amount),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use tonic::Code;
    use tower::ServiceExt;

    #[test]
    fn timeouts_round_trip_through_the_header() {
        for timeout in [
            Duration::from_nanos(5),
            Duration::from_millis(250),
            Duration::from_secs(30),
            Duration::from_secs(200_000),
            Duration::from_millis(1500),
        ] {
            let encoded = encode_timeout(timeout);
            assert!(encoded.len() <= 9, "{encoded:?}");
            assert_eq!(
                parse_timeout(encoded.as_bytes()),
                Some(timeout),
                "{encoded:?}"
            );
        }
        assert_eq!(encode_timeout(Duration::from_secs(30)), "30S");
        assert_eq!(
            encode_timeout(Duration::from_nanos(1_000_000_001)),
            "1000000u"
        );
        assert_eq!(
            encode_timeout(Duration::from_secs(3600 * 24 * 365 * 1000)),
            "8760000H"
        );
        assert_eq!(parse_timeout(b"100m"), Some(Duration::from_millis(100)));
        assert_eq!(parse_timeout(b"2H"), Some(Duration::from_secs(7200)));
        for bad in [&b""[..], b"m", b"12x", b"123456789S", b"-1S", b"1.5S"] {
            assert_eq!(parse_timeout(bad), None, "{bad:?}");
        }
    }

    #[tokio::test]
    async fn the_default_is_written_when_the_caller_set_none() {
        let inner = tower::service_fn(|request: Request<()>| async move {
            let header = request.headers().get(GRPC_TIMEOUT).cloned();
            Ok::<_, std::convert::Infallible>(Response::new(header))
        });
        let service = DeadlineLayer::new(Duration::from_millis(1500)).layer(inner);
        let response = service.clone().oneshot(Request::new(())).await;
        let header = response.ok().and_then(Response::into_body);
        assert_eq!(header, Some(HeaderValue::from_static("1500m")));

        let mut request = Request::new(());
        request
            .headers_mut()
            .insert(GRPC_TIMEOUT, HeaderValue::from_static("3S"));
        let response = service.oneshot(request).await;
        let header = response.ok().and_then(Response::into_body);
        assert_eq!(
            header,
            Some(HeaderValue::from_static("3S")),
            "the caller's deadline wins"
        );
    }

    #[tokio::test]
    async fn a_call_past_its_deadline_ends_with_deadline_exceeded() {
        let inner = tower::service_fn(|_: Request<()>| async {
            tokio::time::sleep(Duration::from_secs(30)).await;
            Ok::<_, std::convert::Infallible>(Response::new(tonic::body::Body::empty()))
        });
        let service = DeadlineLayer::new(Duration::from_millis(50)).layer(inner);
        let response =
            tokio::time::timeout(Duration::from_secs(10), service.oneshot(Request::new(())))
                .await
                .unwrap_or_else(|_| panic!("the deadline did not fire"))
                .unwrap_or_else(|never| match never {});
        let status = tonic::Status::from_header_map(response.headers());
        assert_eq!(status.map(|s| s.code()), Some(Code::DeadlineExceeded));
    }
}
