//! Priority-aware concurrency limit: past a share of its capacity the
//! server refuses the least important calls first, so that what matters
//! still gets through when it is overloaded.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, LazyLock};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response};
use pin_project_lite::pin_project;
use tonic::Code;
use tower_layer::Layer;
use tower_service::Service;
use zhongtai_contracts::common::v1::ErrorReason;

use super::metrics::METRICS;
use crate::BoxError;
use crate::guarded_body::GuardedBody;
use crate::rejection::{is_health_check, response, status};

/// How much a call matters when the server must refuse some.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Priority {
    /// Refused first: batch work, prefetching, anything a caller can redo
    /// later.
    Sheddable,
    /// Ordinary traffic.
    #[default]
    Normal,
    /// Refused only when the server is completely full.
    Critical,
}

impl Priority {
    /// The lowercase name metrics and logs use.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Sheddable => "sheddable",
            Self::Normal => "normal",
            Self::Critical => "critical",
        }
    }
}

/// Capacity and shedding thresholds of an [`AdmissionLayer`].
#[derive(Clone)]
pub struct AdmissionConfig {
    /// The Zhongtai service this server runs: the `service` label of its
    /// refusal counter.
    pub service: String,
    /// Calls processed at once (including those still streaming their
    /// response). At least 1.
    pub max_in_flight: usize,
    /// Ranks a call by its HTTP/2 path (`/package.Service/Method`).
    pub classify: Arc<dyn Fn(&str) -> Priority + Send + Sync>,
    /// Sheddable calls are refused once this percentage of capacity is in
    /// use.
    pub sheddable_percent: u8,
    /// Normal calls are refused once this percentage of capacity is in use.
    pub normal_percent: u8,
    /// How long refused callers are told to wait (`RetryInfo`).
    pub retry_after: Duration,
}

impl AdmissionConfig {
    /// `max_in_flight` calls at once; everything Normal; sheddable calls
    /// refused above 50% of capacity, normal ones above 90%, critical ones
    /// only when full. Refusals are counted without a service name until
    /// [`with_service`](Self::with_service) gives one.
    pub fn new(max_in_flight: usize) -> Self {
        Self {
            service: String::new(),
            max_in_flight: max_in_flight.max(1),
            classify: Arc::new(|_| Priority::Normal),
            sheddable_percent: 50,
            normal_percent: 90,
            retry_after: Duration::from_millis(200),
        }
    }

    /// Names the service whose calls this layer admits, for its metrics.
    pub fn with_service(mut self, service: impl Into<String>) -> Self {
        self.service = service.into();
        self
    }

    /// Calls of `priority` are admitted while fewer than this many are in
    /// flight.
    fn limit(&self, priority: Priority) -> usize {
        let capacity = self.max_in_flight.max(1);
        let share = |percent: u8| {
            let percent = usize::from(percent.min(100));
            (capacity.saturating_mul(percent) / 100).max(1)
        };
        match priority {
            Priority::Critical => capacity,
            Priority::Normal => share(self.normal_percent),
            Priority::Sheddable => share(self.sheddable_percent),
        }
    }
}

impl std::fmt::Debug for AdmissionConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AdmissionConfig")
            .field("service", &self.service)
            .field("max_in_flight", &self.max_in_flight)
            .field("sheddable_percent", &self.sheddable_percent)
            .field("normal_percent", &self.normal_percent)
            .field("retry_after", &self.retry_after)
            .finish_non_exhaustive()
    }
}

struct Admission {
    config: AdmissionConfig,
    in_flight: AtomicUsize,
}

impl Admission {
    /// Takes a slot if a call of `priority` may run now.
    fn try_admit(self: &Arc<Self>, priority: Priority) -> Option<Slot> {
        let limit = self.config.limit(priority);
        self.in_flight
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |current| {
                (current < limit).then_some(current + 1)
            })
            .ok()
            .map(|_| Slot {
                admission: self.clone(),
            })
    }
}

/// One admitted call; frees its slot when dropped.
struct Slot {
    admission: Arc<Admission>,
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.admission.in_flight.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Applies one shared [`AdmissionConfig`] to every connection's service.
#[derive(Clone)]
pub struct AdmissionLayer {
    admission: Arc<Admission>,
}

impl AdmissionLayer {
    /// A layer whose services share one in-flight count.
    pub fn new(config: AdmissionConfig) -> Self {
        // Registered with the layer, so the families are served before the
        // first refusal.
        LazyLock::force(&METRICS);
        if !config.service.is_empty() {
            METRICS.admission_started(&config.service);
        }
        Self {
            admission: Arc::new(Admission {
                config,
                in_flight: AtomicUsize::new(0),
            }),
        }
    }

    /// Calls currently admitted and not finished (health checks excluded).
    pub fn in_flight(&self) -> usize {
        self.admission.in_flight.load(Ordering::Acquire)
    }
}

impl std::fmt::Debug for AdmissionLayer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AdmissionLayer")
            .field("config", &self.admission.config)
            .field("in_flight", &self.in_flight())
            .finish()
    }
}

impl<S> Layer<S> for AdmissionLayer {
    type Service = AdmissionService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        AdmissionService {
            inner,
            admission: self.admission.clone(),
        }
    }
}

/// The service [`AdmissionLayer`] produces.
#[derive(Clone)]
pub struct AdmissionService<S> {
    inner: S,
    admission: Arc<Admission>,
}

impl<S> std::fmt::Debug for AdmissionService<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AdmissionService")
            .field(
                "in_flight",
                &self.admission.in_flight.load(Ordering::Acquire),
            )
            .finish_non_exhaustive()
    }
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for AdmissionService<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    ResBody: http_body::Body<Data = Bytes> + Send + 'static,
    ResBody::Error: Into<BoxError>,
{
    type Response = Response<tonic::body::Body>;
    type Error = S::Error;
    type Future = AdmissionFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<ReqBody>) -> Self::Future {
        let path = request.uri().path();
        if is_health_check(path) {
            return AdmissionFuture::Admitted {
                inner: self.inner.call(request),
                slot: None,
            };
        }
        let priority = (self.admission.config.classify)(path);
        match self.admission.try_admit(priority) {
            Some(slot) => AdmissionFuture::Admitted {
                inner: self.inner.call(request),
                slot: Some(slot),
            },
            None => {
                tracing::debug!(path, ?priority, "shedding call: server overloaded");
                METRICS.shed(&self.admission.config.service, priority);
                let refusal = status(
                    Code::ResourceExhausted,
                    format!("server overloaded: {priority:?} calls are being shed"),
                    ErrorReason::Overloaded,
                    Some(self.admission.config.retry_after),
                );
                AdmissionFuture::Refused {
                    response: Some(response(refusal)),
                }
            }
        }
    }
}

pin_project! {
    /// Response future of [`AdmissionService`].
    #[project = AdmissionFutureProjection]
    pub enum AdmissionFuture<F> {
        /// Running; the slot (none for health checks) moves into the body.
        Admitted { #[pin] inner: F, slot: Option<Slot> },
        /// Refused without calling the service.
        Refused { response: Option<Response<tonic::body::Body>> },
    }
}

impl<F, E, ResBody> Future for AdmissionFuture<F>
where
    F: Future<Output = Result<Response<ResBody>, E>>,
    ResBody: http_body::Body<Data = Bytes> + Send + 'static,
    ResBody::Error: Into<BoxError>,
{
    type Output = Result<Response<tonic::body::Body>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project() {
            AdmissionFutureProjection::Admitted { inner, slot } => {
                let response = std::task::ready!(inner.poll(cx))?;
                let slot = slot.take();
                Poll::Ready(Ok(response.map(|body| match slot {
                    Some(slot) => tonic::body::Body::new(GuardedBody::new(body, slot)),
                    None => tonic::body::Body::new(body),
                })))
            }
            AdmissionFutureProjection::Refused { response } => {
                Poll::Ready(Ok(response.take().unwrap_or_else(|| {
                    crate::rejection::response(tonic::Status::internal(
                        "admission response polled after completion",
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
    use tower::ServiceExt;

    fn layer(max_in_flight: usize) -> AdmissionLayer {
        named_layer("admission-test", max_in_flight)
    }

    fn named_layer(service: &str, max_in_flight: usize) -> AdmissionLayer {
        let mut config = AdmissionConfig::new(max_in_flight).with_service(service);
        config.classify = Arc::new(|path: &str| {
            if path.ends_with("/Critical") {
                Priority::Critical
            } else if path.ends_with("/Batch") {
                Priority::Sheddable
            } else {
                Priority::Normal
            }
        });
        AdmissionLayer::new(config)
    }

    async fn call(
        layer: &AdmissionLayer,
        inner: &StreamingService,
        path: &str,
    ) -> Response<tonic::body::Body> {
        let service = layer.layer(inner.clone());
        match service.oneshot(request(path)).await {
            Ok(response) => response,
            Err(never) => match never {},
        }
    }

    #[tokio::test]
    async fn sheds_by_priority_as_capacity_fills() {
        let layer = layer(10);
        let inner = StreamingService::default();
        let mut held = Vec::new();
        for _ in 0..5 {
            let response = call(&layer, &inner, "/t.S/Work").await;
            assert_eq!(
                grpc_code(&response),
                None,
                "admitted calls reach the service"
            );
            held.push(response);
        }
        let batch = call(&layer, &inner, "/t.S/Batch").await;
        assert_eq!(grpc_code(&batch), Some(Code::ResourceExhausted));
        for _ in 0..4 {
            held.push(call(&layer, &inner, "/t.S/Work").await);
        }
        assert_eq!(layer.in_flight(), 9);
        let normal = call(&layer, &inner, "/t.S/Work").await;
        assert_eq!(grpc_code(&normal), Some(Code::ResourceExhausted));
        held.push(call(&layer, &inner, "/t.S/Critical").await);
        assert_eq!(layer.in_flight(), 10);
        let critical = call(&layer, &inner, "/t.S/Critical").await;
        assert_eq!(grpc_code(&critical), Some(Code::ResourceExhausted));
        let health = call(&layer, &inner, "/grpc.health.v1.Health/Check").await;
        assert_eq!(
            grpc_code(&health),
            None,
            "the health check is never refused"
        );
        assert_eq!(inner.calls(), 11);

        held.clear();
        assert_eq!(layer.in_flight(), 0);
        let batch = call(&layer, &inner, "/t.S/Batch").await;
        assert_eq!(grpc_code(&batch), None);
    }

    #[tokio::test]
    async fn each_refusal_is_counted_with_its_service_and_priority() {
        // A service name of its own: other tests share the process registry.
        let service = "admission-counting-test";
        let layer = named_layer(service, 2);
        let before = zhongtai_telemetry::metrics::encode();
        for priority in ["sheddable", "normal", "critical"] {
            assert!(
                before.contains(&format!(
                    "zhongtai_server_shed_total{{service=\"{service}\",priority=\"{priority}\"}} 0"
                )),
                "served at 0 before the first refusal: {before}"
            );
        }
        let inner = StreamingService::default();
        let _held = call(&layer, &inner, "/t.S/Work").await;
        for _ in 0..3 {
            let refused = call(&layer, &inner, "/t.S/Batch").await;
            assert_eq!(grpc_code(&refused), Some(Code::ResourceExhausted));
        }
        let _second = call(&layer, &inner, "/t.S/Critical").await;
        let refused = call(&layer, &inner, "/t.S/Critical").await;
        assert_eq!(grpc_code(&refused), Some(Code::ResourceExhausted));

        assert_eq!(METRICS.shed_count(service, Priority::Sheddable), 3);
        assert_eq!(METRICS.shed_count(service, Priority::Critical), 1);
        assert_eq!(METRICS.shed_count(service, Priority::Normal), 0);
        let exposition = zhongtai_telemetry::metrics::encode();
        assert!(
            exposition.contains(&format!(
                "zhongtai_server_shed_total{{service=\"{service}\",priority=\"sheddable\"}} 3"
            )),
            "{exposition}"
        );
    }

    #[tokio::test]
    async fn refusals_carry_the_overloaded_reason_and_a_retry_delay() {
        let layer = layer(1);
        let inner = StreamingService::default();
        let _held = call(&layer, &inner, "/t.S/Work").await;
        let refused = call(&layer, &inner, "/t.S/Work").await;
        let status = tonic::Status::from_header_map(refused.headers())
            .unwrap_or_else(|| panic!("refusal has no status"));
        use tonic_types::StatusExt;
        let details = status.get_error_details();
        let info = details
            .error_info()
            .unwrap_or_else(|| panic!("no ErrorInfo"));
        assert_eq!(info.reason, ErrorReason::Overloaded.as_str_name());
        assert_eq!(info.domain, crate::ERROR_DOMAIN);
        assert!(details.retry_info().is_some());
    }

    #[tokio::test]
    async fn a_slot_is_held_until_the_response_body_ends() {
        use http_body_util::BodyExt;
        let layer = layer(4);
        let inner = StreamingService::default();
        let response = call(&layer, &inner, "/t.S/Work").await;
        assert_eq!(layer.in_flight(), 1, "headers sent, body still streaming");
        inner.send(Bytes::from_static(b"chunk"));
        inner.finish();
        let collected = response
            .into_body()
            .collect()
            .await
            .unwrap_or_else(|e| panic!("body: {e}"));
        assert_eq!(collected.to_bytes(), Bytes::from_static(b"chunk"));
        assert_eq!(layer.in_flight(), 0);
    }
}
