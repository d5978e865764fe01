//! Calling the backend of a capability: found through discovery (the
//! platform's balanced channel per service), within the capability's
//! deadline, retried on another instance only when the capability is marked
//! idempotent, behind a circuit breaker per backend service.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, HeaderValue};
use http_body_util::{BodyExt as _, Full};
use tonic::Code;
use tower::ServiceExt as _;
use zhongtai_kit::Platform;
use zhongtai_mesh::{BreakerConfig, CircuitBreaker, SingleAttempt};

use super::refusal::Refusal;
use super::snapshot::Route;

/// What the backend answered.
pub struct BackendReply {
    /// Its response headers (trailers-only answers carry the status here).
    pub headers: HeaderMap,
    /// The raw response body: length-prefixed messages.
    pub body: Bytes,
    /// The trailers, if any.
    pub trailers: Option<HeaderMap>,
    /// The call's status, details included.
    pub status: tonic::Status,
}

/// The backends of every capability.
pub struct Backends {
    platform: Platform,
    breaker: BreakerConfig,
    breakers: Mutex<HashMap<String, CircuitBreaker>>,
}

impl Backends {
    pub fn new(platform: Platform, breaker: BreakerConfig) -> Self {
        Self {
            platform,
            breaker,
            breakers: Mutex::new(HashMap::new()),
        }
    }

    fn breaker(&self, service: &str) -> CircuitBreaker {
        let mut breakers = match self.breakers.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        breakers
            .entry(service.to_string())
            .or_insert_with(|| CircuitBreaker::new(self.breaker))
            .clone()
    }

    /// Sends one framed request message to the capability's backend method
    /// as the app (`authorization`), with `extra` headers (trace context).
    pub async fn call(
        &self,
        route: &Route,
        framed: Bytes,
        authorization: HeaderValue,
        extra: &HeaderMap,
    ) -> Result<BackendReply, Refusal> {
        let capability = &route.capability;
        let service = capability.backend.service.as_str();
        let permit = self.breaker(service).try_call().map_err(|open| {
            Refusal::backend(
                "CIRCUIT_OPEN",
                format!("backend {service} is failing; calls are paused briefly"),
                Some(open.retry_after),
            )
        })?;
        let timeout = capability.timeout;
        let mut request = http::Request::new(tonic::body::Body::new(Full::new(framed)));
        *request.method_mut() = http::Method::POST;
        *request.uri_mut() = capability
            .backend
            .grpc_method
            .parse()
            .map_err(|_| Refusal::internal("the capability's backend method is not a path"))?;
        let headers = request.headers_mut();
        for (name, value) in extra {
            headers.insert(name, value.clone());
        }
        headers.insert(
            http::header::CONTENT_TYPE,
            HeaderValue::from_static("application/grpc"),
        );
        headers.insert(http::header::TE, HeaderValue::from_static("trailers"));
        headers.insert(http::header::AUTHORIZATION, authorization);
        headers.insert("grpc-timeout", grpc_timeout(timeout));
        if !capability.idempotent {
            request.extensions_mut().insert(SingleAttempt);
        }
        let channel = self.platform.channel(service);
        // The channel enforces the deadline; this bound only guards against
        // a body that never ends.
        let reply = tokio::time::timeout(timeout + Duration::from_millis(250), async {
            let response = channel.oneshot(request).await?;
            let (parts, body) = response.into_parts();
            let collected = body.collect().await?;
            let trailers = collected.trailers().cloned();
            Ok::<_, tonic::Status>((parts.headers, collected.to_bytes(), trailers))
        })
        .await;
        let reply = match reply {
            Ok(Ok((headers, body, trailers))) => {
                let status = trailers
                    .as_ref()
                    .and_then(tonic::Status::from_header_map)
                    .or_else(|| tonic::Status::from_header_map(&headers))
                    .unwrap_or_else(|| {
                        tonic::Status::unknown("the backend answered without a gRPC status")
                    });
                BackendReply {
                    headers,
                    body,
                    trailers,
                    status,
                }
            }
            Ok(Err(status)) => BackendReply {
                headers: HeaderMap::new(),
                body: Bytes::new(),
                trailers: None,
                status,
            },
            Err(_) => BackendReply {
                headers: HeaderMap::new(),
                body: Bytes::new(),
                trailers: None,
                status: tonic::Status::deadline_exceeded(format!(
                    "backend {service} did not answer within {} ms",
                    timeout.as_millis()
                )),
            },
        };
        match reply.status.code() {
            Code::Unavailable | Code::DeadlineExceeded => permit.failure(),
            _ => permit.success(),
        }
        Ok(reply)
    }
}

/// `grpc-timeout` in milliseconds (at most 8 digits, as the spec allows).
fn grpc_timeout(timeout: Duration) -> HeaderValue {
    let millis = timeout.as_millis().clamp(1, 99_999_999);
    HeaderValue::from_str(&format!("{millis}m")).unwrap_or(HeaderValue::from_static("5000m"))
}
