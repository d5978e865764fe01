//! [`MeshChannel`]: deadline → retry (idempotent unary calls only, within a
//! budget, on another instance) → power-of-two-choices balancer → one
//! HTTP/2 channel per instance.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::BodyExt;
use tokio::time::Instant;
use tonic::Code;
use tonic::body::Body;
use tower::ServiceExt;
use tower::retry::budget::{Budget, TpsBudget};
use tower_service::Service;
use zhongtai_contracts::common::v1::ErrorReason;

use super::ChannelConfig;
use super::deadline::{DeadlineService, GRPC_TIMEOUT, encode_timeout, request_deadline};
use super::pool::{Backend, Pool};
use crate::backoff::Backoff;
use crate::guarded_body::GuardedBody;
use crate::{BoxError, Discovery, is_retryable};

/// A balanced gRPC channel to every instance of one service. Cheap to
/// clone; clones share connections, load counts and the retry budget.
/// Usable wherever tonic expects a channel:
/// `ApprovalServiceClient::new(mesh_channel)`.
///
/// Failures are answered as gRPC statuses (trailers-only responses), so a
/// tonic client sees precise codes: `UNAVAILABLE` naming the service when
/// no instance can be reached, `DEADLINE_EXCEEDED` when the deadline
/// passes.
#[derive(Clone)]
pub struct MeshChannel {
    inner: DeadlineService<Balanced>,
    shared: Arc<Shared>,
}

impl MeshChannel {
    /// A channel following `discovery`. Connects lazily, on the first call
    /// to each instance; must be used inside a Tokio runtime.
    pub fn new(discovery: Discovery, config: ChannelConfig) -> Self {
        let budget = TpsBudget::new(
            config
                .retry_budget_window
                .clamp(Duration::from_secs(1), Duration::from_secs(60)),
            config.retry_budget_min_per_second.min(1_000_000),
            if config.retry_budget_ratio.is_nan() {
                0.0
            } else {
                config.retry_budget_ratio.clamp(0.0, 1000.0)
            },
        );
        let shared = Arc::new(Shared {
            service: discovery.service().to_string(),
            pool: Pool::new(&discovery, config.clone()),
            discovery,
            backoff: Backoff::new(config.retry_backoff, config.retry_backoff_max),
            budget,
            config: config.clone(),
        });
        let balanced = Balanced {
            shared: shared.clone(),
        };
        Self {
            inner: DeadlineService::new(balanced, config.default_deadline),
            shared,
        }
    }

    /// The service this channel calls.
    pub fn service(&self) -> &str {
        &self.shared.service
    }
}

impl std::fmt::Debug for MeshChannel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MeshChannel")
            .field("service", &self.shared.service)
            .field("instances", &self.shared.pool.backends().len())
            .field("config", &self.shared.config)
            .finish()
    }
}

type ResponseFuture = Pin<Box<dyn Future<Output = Result<Response<Body>, BoxError>> + Send>>;

impl Service<Request<Body>> for MeshChannel {
    type Response = Response<Body>;
    type Error = BoxError;
    type Future = ResponseFuture;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<Body>) -> Self::Future {
        Box::pin(self.inner.call(request))
    }
}

/// A request extension that keeps a call to one attempt although its
/// method is idempotent: the caller knows better (e.g. a gateway capability
/// not marked for retries).
#[derive(Clone, Copy, Debug, Default)]
pub struct SingleAttempt;

/// Everything below the deadline.
#[derive(Clone)]
struct Balanced {
    shared: Arc<Shared>,
}

impl Service<Request<Body>> for Balanced {
    type Response = Response<Body>;
    type Error = BoxError;
    type Future = ResponseFuture;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        // Each call waits for its instance's connection itself.
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<Body>) -> Self::Future {
        let shared = self.shared.clone();
        Box::pin(async move { Ok(shared.dispatch(request).await) })
    }
}

struct Shared {
    service: String,
    discovery: Discovery,
    pool: Pool,
    config: ChannelConfig,
    budget: TpsBudget,
    backoff: Backoff,
}

/// How one attempt went wrong.
enum Failure {
    /// No response: the connection could not be made or broke.
    Transport(Arc<Backend>, tonic::transport::Error),
    /// The instance answered UNAVAILABLE before doing anything.
    Unavailable(Response<Body>),
    /// The call's deadline passed (enforced by the connection too); final.
    DeadlineExceeded(Response<Body>),
}

impl Failure {
    fn may_retry(&self) -> bool {
        !matches!(self, Failure::DeadlineExceeded(_))
    }
}

impl Shared {
    async fn dispatch(&self, request: Request<Body>) -> Response<Body> {
        self.budget.deposit();
        let started = Instant::now();
        let deadline = request_deadline(&request).unwrap_or(self.config.default_deadline);
        let single = request.extensions().get::<SingleAttempt>().is_some();
        if self.config.max_attempts <= 1 || single || !is_retryable(request.uri().path()) {
            let backend = match self.wait_for_backend(&[], deadline).await {
                Ok(backend) => backend,
                Err(status) => return status.into_http(),
            };
            return match self.attempt(&backend, request).await {
                Ok(response) => response,
                Err(failure) => self.final_response(failure),
            };
        }

        let (parts, body) = request.into_parts();
        let body = match body.collect().await {
            Ok(collected) => collected.to_bytes(),
            Err(status) => return status.into_http(),
        };
        let max_attempts = if body.len() > self.config.max_retry_buffer_bytes {
            1
        } else {
            self.config.max_attempts
        };
        let mut tried: Vec<String> = Vec::new();
        let mut attempt: u32 = 1;
        loop {
            let remaining = deadline.saturating_sub(started.elapsed());
            let backend = match self.wait_for_backend(&tried, remaining).await {
                Ok(backend) => backend,
                Err(status) => return status.into_http(),
            };
            tried.push(backend.id.clone());
            let request = rebuild(&parts, &body, deadline.saturating_sub(started.elapsed()));
            let failure = match self.attempt(&backend, request).await {
                Ok(response) => return response,
                Err(failure) => failure,
            };
            let delay = self.backoff.delay(attempt);
            let time_left = started.elapsed() + delay < deadline;
            if !failure.may_retry()
                || attempt >= max_attempts
                || !time_left
                || !self.budget.withdraw()
            {
                return self.final_response(failure);
            }
            if let Failure::Transport(backend, error) = &failure {
                tracing::debug!(service = %self.service, instance = %backend.id, %error, attempt,
                    "attempt failed; retrying on another instance");
            }
            attempt += 1;
            tokio::time::sleep(delay).await;
        }
    }

    /// One attempt on one instance. A connection-level failure ejects it.
    async fn attempt(
        &self,
        backend: &Arc<Backend>,
        request: Request<Body>,
    ) -> Result<Response<Body>, Failure> {
        let in_flight = backend.start();
        match backend.channel().oneshot(request).await {
            Ok(response) => {
                backend.restore();
                if trailers_only_code(&response) == Some(Code::Unavailable) {
                    return Err(Failure::Unavailable(response));
                }
                Ok(response.map(|body| Body::new(GuardedBody::new(body, in_flight))))
            }
            Err(error) if is_timeout(&error) => {
                let status = tonic::Status::deadline_exceeded(format!(
                    "service {:?}: no response from instance {} within the call's deadline",
                    self.service, backend.id
                ));
                Err(Failure::DeadlineExceeded(status.into_http()))
            }
            Err(error) => {
                tracing::warn!(service = %self.service, instance = %backend.id,
                    address = %backend.address, error = %error_chain(&error),
                    ejection_ms = self.config.ejection.as_millis() as u64,
                    "instance unreachable; ejecting it");
                backend.eject(self.config.ejection);
                Err(Failure::Transport(backend.clone(), error))
            }
        }
    }

    /// An instance to try, waiting briefly for discovery when none is known.
    async fn wait_for_backend(
        &self,
        tried: &[String],
        remaining: Duration,
    ) -> Result<Arc<Backend>, tonic::Status> {
        if let Some(backend) = self.pool.pick(tried) {
            return Ok(backend);
        }
        let mut updates = self.discovery.subscribe();
        let wait = self.config.discovery_wait.min(remaining);
        let found = tokio::time::timeout(wait, async {
            loop {
                if let Some(backend) = self.pool.pick(tried) {
                    return Some(backend);
                }
                if updates.changed().await.is_err() {
                    return None;
                }
            }
        })
        .await;
        if let Ok(Some(backend)) = found {
            return Ok(backend);
        }
        let why = if self.discovery.is_synced() {
            "no instance is registered"
        } else {
            "the registry has not been reached yet"
        };
        Err(crate::rejection::status(
            Code::Unavailable,
            format!("service {:?} is unavailable: {why}", self.service),
            ErrorReason::DependencyUnavailable,
            None,
        ))
    }

    fn final_response(&self, failure: Failure) -> Response<Body> {
        match failure {
            Failure::Unavailable(response) | Failure::DeadlineExceeded(response) => response,
            Failure::Transport(backend, error) => self.transport_status(&backend, &error),
        }
    }

    fn transport_status(
        &self,
        backend: &Backend,
        error: &tonic::transport::Error,
    ) -> Response<Body> {
        crate::rejection::status(
            Code::Unavailable,
            format!(
                "service {:?}: instance {} at {} is unreachable: {}",
                self.service,
                backend.id,
                backend.address,
                error_chain(error)
            ),
            ErrorReason::DependencyUnavailable,
            None,
        )
        .into_http()
    }
}

/// A fresh copy of a buffered request, carrying the time left as its
/// deadline so the server does not work past it.
fn rebuild(parts: &http::request::Parts, body: &Bytes, remaining: Duration) -> Request<Body> {
    let mut request = Request::new(Body::new(http_body_util::Full::new(body.clone())));
    *request.method_mut() = parts.method.clone();
    *request.uri_mut() = parts.uri.clone();
    *request.version_mut() = parts.version;
    *request.headers_mut() = parts.headers.clone();
    *request.extensions_mut() = parts.extensions.clone();
    request
        .headers_mut()
        .insert(GRPC_TIMEOUT, encode_timeout(remaining));
    request
}

fn trailers_only_code<B>(response: &Response<B>) -> Option<Code> {
    response
        .headers()
        .get("grpc-status")
        .map(|value| Code::from_bytes(value.as_bytes()))
}

/// True when the connection gave up because the call's `grpc-timeout`
/// passed: the instance is slow or the deadline short, not unreachable.
fn is_timeout(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut current = Some(error);
    while let Some(cause) = current {
        if cause.is::<tonic::TimeoutExpired>() {
            return true;
        }
        current = cause.source();
    }
    false
}

/// The error with its causes: transport errors say little at the top level.
fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut message = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    message
}
