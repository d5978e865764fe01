//! A token bucket shared by every connection of a server: `rate` calls per
//! second on average, bursts up to `burst`. Calls beyond it are refused at
//! once rather than queued, so a flood cannot build up latency.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, LazyLock, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use http::{Request, Response};
use pin_project_lite::pin_project;
use tokio::time::Instant;
use tonic::Code;
use tower_layer::Layer;
use tower_service::Service;
use zhongtai_contracts::common::v1::ErrorReason;

use super::metrics::METRICS;
use crate::rejection::{is_health_check, response, status};

#[derive(Debug)]
struct TokenBucket {
    rate_per_second: f64,
    capacity: f64,
    tokens: f64,
    refilled_at: Instant,
}

impl TokenBucket {
    fn new(rate_per_second: u32, burst: u32) -> Self {
        let capacity = f64::from(burst.max(1));
        Self {
            rate_per_second: f64::from(rate_per_second.max(1)),
            capacity,
            tokens: capacity,
            refilled_at: Instant::now(),
        }
    }

    /// Takes a token, or says how long until one is available.
    fn take(&mut self, now: Instant) -> Result<(), Duration> {
        let elapsed = now
            .saturating_duration_since(self.refilled_at)
            .as_secs_f64();
        self.tokens = (self.tokens + elapsed * self.rate_per_second).min(self.capacity);
        self.refilled_at = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            Ok(())
        } else {
            let missing = 1.0 - self.tokens;
            Err(Duration::from_secs_f64(missing / self.rate_per_second))
        }
    }
}

/// Limits the request rate of every service it wraps, together.
#[derive(Clone, Debug)]
pub struct RateLimitLayer {
    bucket: Arc<Mutex<TokenBucket>>,
    /// The `service` label of the refusal counter.
    service: Arc<str>,
}

impl RateLimitLayer {
    /// `rate_per_second` calls per second on average (at least 1), up to
    /// `burst` at once (at least 1). Refusals are counted without a
    /// service name until [`with_service`](Self::with_service) gives one.
    pub fn new(rate_per_second: u32, burst: u32) -> Self {
        // Registered with the layer, so the families are served before the
        // first refusal.
        LazyLock::force(&METRICS);
        Self {
            bucket: Arc::new(Mutex::new(TokenBucket::new(rate_per_second, burst))),
            service: Arc::from(""),
        }
    }

    /// Names the service whose calls this layer limits, for its metrics.
    pub fn with_service(mut self, service: &str) -> Self {
        self.service = Arc::from(service);
        METRICS.rate_limit_started(service);
        self
    }

    fn take(&self) -> Result<(), Duration> {
        self.bucket
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .take(Instant::now())
    }
}

impl<S> Layer<S> for RateLimitLayer {
    type Service = RateLimitService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RateLimitService {
            inner,
            limit: self.clone(),
        }
    }
}

/// The service [`RateLimitLayer`] produces.
#[derive(Clone, Debug)]
pub struct RateLimitService<S> {
    inner: S,
    limit: RateLimitLayer,
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for RateLimitService<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    ResBody: Default,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = RateLimitFuture<S::Future, ResBody>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<ReqBody>) -> Self::Future {
        let path = request.uri().path();
        if is_health_check(path) {
            return RateLimitFuture::Passed {
                inner: self.inner.call(request),
            };
        }
        match self.limit.take() {
            Ok(()) => RateLimitFuture::Passed {
                inner: self.inner.call(request),
            },
            Err(wait) => {
                tracing::debug!(path, "refusing call: rate limit exhausted");
                METRICS.rate_limited(&self.limit.service);
                let refusal = status(
                    Code::ResourceExhausted,
                    "request rate limit exceeded",
                    ErrorReason::QuotaExceeded,
                    Some(wait.max(Duration::from_millis(1))),
                );
                RateLimitFuture::Refused {
                    response: Some(response(refusal)),
                }
            }
        }
    }
}

pin_project! {
    /// Response future of [`RateLimitService`].
    #[project = RateLimitFutureProjection]
    pub enum RateLimitFuture<F, B> {
        /// Within the limit; the service runs.
        Passed { #[pin] inner: F },
        /// Over the limit; refused without calling the service.
        Refused { response: Option<Response<B>> },
    }
}

impl<F, E, B> Future for RateLimitFuture<F, B>
where
    F: Future<Output = Result<Response<B>, E>>,
    B: Default,
{
    type Output = Result<Response<B>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project() {
            RateLimitFutureProjection::Passed { inner } => inner.poll(cx),
            RateLimitFutureProjection::Refused { response } => {
                Poll::Ready(Ok(response.take().unwrap_or_else(|| {
                    crate::rejection::response(tonic::Status::internal(
                        "rate limit response polled after completion",
                    ))
                })))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::test_support::{StreamingService, grpc_code, request};
    use tonic_types::StatusExt;
    use tower::ServiceExt;

    async fn call(layer: &RateLimitLayer, path: &str) -> Option<Code> {
        let service = layer.layer(StreamingService::default());
        match service.oneshot(request(path)).await {
            Ok(response) => grpc_code(&response),
            Err(never) => match never {},
        }
    }

    #[tokio::test]
    async fn a_burst_passes_then_excess_is_refused_with_quota_exceeded() {
        let layer = RateLimitLayer::new(1, 3);
        for _ in 0..3 {
            assert_eq!(call(&layer, "/t.S/Work").await, None);
        }
        let service = layer.layer(StreamingService::default());
        let refused = match service.oneshot(request("/t.S/Work")).await {
            Ok(response) => response,
            Err(never) => match never {},
        };
        let status = tonic::Status::from_header_map(refused.headers())
            .unwrap_or_else(|| panic!("no status on refusal"));
        assert_eq!(status.code(), Code::ResourceExhausted);
        let details = status.get_error_details();
        let info = details
            .error_info()
            .unwrap_or_else(|| panic!("no ErrorInfo"));
        assert_eq!(info.reason, ErrorReason::QuotaExceeded.as_str_name());
        let delay = details
            .retry_info()
            .and_then(|info| info.retry_delay)
            .unwrap_or_else(|| panic!("no RetryInfo"));
        assert!(
            delay > Duration::ZERO && delay <= Duration::from_secs(1),
            "{delay:?}"
        );
    }

    // Paused time: no token refills between the calls.
    #[tokio::test(start_paused = true)]
    async fn each_refusal_is_counted_for_its_service() {
        // A service name of its own: other tests share the process registry.
        let service = "rate-limit-counting-test";
        let layer = RateLimitLayer::new(1, 2).with_service(service);
        assert!(
            zhongtai_telemetry::metrics::encode().contains(&format!(
                "zhongtai_server_rate_limited_total{{service=\"{service}\"}} 0"
            )),
            "served at 0 before the first refusal"
        );
        for _ in 0..2 {
            assert_eq!(call(&layer, "/t.S/Work").await, None);
        }
        for _ in 0..3 {
            assert_eq!(
                call(&layer, "/t.S/Work").await,
                Some(Code::ResourceExhausted)
            );
        }
        assert_eq!(call(&layer, "/grpc.health.v1.Health/Check").await, None);
        assert_eq!(METRICS.rate_limited_count(service), 3);
        let exposition = zhongtai_telemetry::metrics::encode();
        assert!(
            exposition.contains(&format!(
                "zhongtai_server_rate_limited_total{{service=\"{service}\"}} 3"
            )),
            "{exposition}"
        );
    }

    #[tokio::test]
    async fn health_checks_are_exempt() {
        let layer = RateLimitLayer::new(1, 1);
        assert_eq!(call(&layer, "/t.S/Work").await, None);
        assert_eq!(
            call(&layer, "/t.S/Work").await,
            Some(Code::ResourceExhausted)
        );
        for _ in 0..5 {
            assert_eq!(call(&layer, "/grpc.health.v1.Health/Check").await, None);
        }
    }

    #[test]
    fn tokens_refill_at_the_configured_rate() {
        let mut bucket = TokenBucket::new(10, 2);
        let start = Instant::now();
        assert!(bucket.take(start).is_ok());
        assert!(bucket.take(start).is_ok());
        let wait = bucket.take(start).err().unwrap_or_default();
        assert!(wait > Duration::from_millis(90) && wait <= Duration::from_millis(100));
        assert!(bucket.take(start + Duration::from_millis(100)).is_ok());
        assert!(bucket.take(start + Duration::from_millis(100)).is_err());
        // Idle time never stores more than the burst.
        let later = start + Duration::from_secs(60);
        assert!(bucket.take(later).is_ok());
        assert!(bucket.take(later).is_ok());
        assert!(bucket.take(later).is_err());
    }
}
