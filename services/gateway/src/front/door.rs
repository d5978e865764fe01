//! One call through the front door, in the order that keeps refusals cheap:
//! route (in memory) → shed by priority → read the body (bounded) →
//! authenticate (signature, then the app, then the nonce) → limits →
//! consent → forward → answer, and the call is audited whatever happened.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use bytes::Bytes;
use chrono::{DateTime, Utc};
use http::{HeaderMap, HeaderValue, Method};
use http_body_util::{BodyExt as _, Limited};
use tonic::Code;
use tonic_types::StatusExt as _;
use uuid::Uuid;
use zhongtai_kit::host::INSTANCE_HEADER;
use zhongtai_mesh::{AdaptiveLimiter, Priority};

use super::concurrency::ConcurrencyCaps;
use super::consent::ConsentCheck;
use super::forward::{BackendReply, Backends};
use super::metrics::METRICS;
use super::refusal::Refusal;
use super::snapshot::{PathParams, Route, Snapshot, SnapshotCell};
use super::tokens::AppTokens;
use crate::audit::record::{CallOutcome, CallProtocol, CallRecord};
use crate::audit::writer::AuditWriter;
use crate::domain::{App, CapabilityPriority, HttpMethod, SigningCredential};
use crate::limits::{Admission, NonceStore, SharedLimits};
use crate::signing;
use crate::transcode::{self, frame, unframe};

/// What the front door needs, shared by every connection.
pub struct FrontDoor {
    pub(crate) snapshot: SnapshotCell,
    pub(crate) nonces: NonceStore,
    pub(crate) limits: SharedLimits,
    pub(crate) shedder: AdaptiveLimiter,
    pub(crate) backends: Backends,
    pub(crate) tokens: Arc<AppTokens>,
    pub(crate) audit: AuditWriter,
    pub(crate) caps: ConcurrencyCaps,
    pub(crate) consents: ConsentCheck,
    pub(crate) clock_skew: Duration,
    pub(crate) max_body_bytes: usize,
}

/// What is known about a call so far, for its audit record.
struct Call {
    started: Instant,
    time: DateTime<Utc>,
    protocol: CallProtocol,
    method: Method,
    path: String,
    app: Option<App>,
    app_key: String,
    capability: String,
    capability_version: String,
    request_bytes: u64,
    client_ip: String,
    trace_id: String,
    /// The backend instance that answered (its `zhongtai-instance` header).
    backend_instance: String,
}

/// How it ended.
struct Ending {
    response: http::Response<Body>,
    outcome: CallOutcome,
    reason: String,
    grpc_code: Code,
    response_bytes: u64,
}

impl FrontDoor {
    /// Serves one request.
    pub async fn handle(
        &self,
        request: http::Request<Body>,
        peer: Option<SocketAddr>,
    ) -> http::Response<Body> {
        let (parts, body) = request.into_parts();
        let protocol = if is_grpc(&parts.headers) {
            CallProtocol::Grpc
        } else {
            CallProtocol::HttpJson
        };
        let mut call = Call {
            started: Instant::now(),
            time: Utc::now(),
            protocol,
            method: parts.method.clone(),
            path: parts.uri.path().to_string(),
            app: None,
            app_key: header_text(&parts.headers, "x-zt-app-key")
                .chars()
                .take(64)
                .collect(),
            capability: String::new(),
            capability_version: String::new(),
            request_bytes: 0,
            client_ip: peer.map(|p| p.ip().to_string()).unwrap_or_default(),
            trace_id: String::new(),
            backend_instance: String::new(),
        };
        let span = tracing::info_span!("gateway.call", path = %call.path, capability = tracing::field::Empty, app = tracing::field::Empty);
        zhongtai_telemetry::propagation::set_parent_from_headers(&span, &parts.headers);
        let ending = {
            use tracing::Instrument as _;
            async {
                call.trace_id =
                    zhongtai_telemetry::propagation::current_trace_id().unwrap_or_default();
                match self.serve(&mut call, parts, body).await {
                    Ok(ending) => ending,
                    Err(refusal) => refused(protocol, refusal),
                }
            }
            .instrument(span)
            .await
        };
        self.finish(call, ending)
    }

    async fn serve(
        &self,
        call: &mut Call,
        parts: http::request::Parts,
        body: Body,
    ) -> Result<Ending, Refusal> {
        let snapshot = self.snapshot.get();
        let (route, path_params) = route_of(&snapshot, call.protocol, &parts)?;
        call.capability = route.capability.name.as_str().to_string();
        call.capability_version = route.capability.version.clone();
        tracing::Span::current().record("capability", call.capability.as_str());

        let shed_permit = self
            .shedder
            .try_acquire(priority_of(route.capability.priority))
            .map_err(|shed| {
                METRICS.shed(route.capability.priority);
                Refusal::shed(shed.retry_after)
            })?;

        // The app a key names, before anything is verified: refusals are
        // then audited under it, so its owner sees them.
        if let Some(credential) = snapshot.credential(&call.app_key) {
            call.app = snapshot.app(&credential.credential.app_id).cloned();
        }
        let body = self.read_body(&parts.headers, body).await?;
        call.request_bytes = body.len() as u64;
        if call.protocol == CallProtocol::HttpJson {
            check_json_media_type(&parts.headers, &body)?;
        }

        let now = Utc::now();
        let (credential, app) = self.authenticate(&snapshot, &parts, &body, now)?;
        call.app = Some(app.clone());
        tracing::Span::current().record("app", tracing::field::display(app.id));
        if !app
            .allowed_capabilities
            .iter()
            .any(|name| name == &route.capability.name)
        {
            return Err(Refusal::forbidden(
                "CAPABILITY_NOT_ALLOWED",
                format!("app {} may not call {}", app.id, route.capability.name),
            ));
        }
        self.claim_nonce(&credential, &parts.headers, now).await?;

        let limits = snapshot
            .limits(app.id, route.capability.name.as_str())
            .cloned();
        let _concurrency = match &limits {
            Some(limits) if limits.max_concurrency > 0 => Some(
                self.caps
                    .try_enter(
                        app.id,
                        route.capability.name.as_str(),
                        limits.max_concurrency,
                    )
                    .ok_or_else(|| {
                        Refusal::limited(
                            "CONCURRENCY_LIMITED",
                            format!(
                                "at most {} calls of {} at once",
                                limits.max_concurrency, route.capability.name
                            ),
                            Duration::from_millis(100),
                        )
                    })?,
            ),
            _ => None,
        };
        let admission = match &limits {
            Some(limits) => Some(self.admit(app.id, &route, limits, now).await?),
            None => None,
        };

        let (framed, request_message) =
            match call.protocol {
                CallProtocol::HttpJson => {
                    let message = route
                        .transcoder
                        .request(&path_params, parts.uri.query(), &body)
                        .map_err(|e| Refusal::invalid(e.field.clone(), e.message.clone()))?;
                    let framed = frame(&prost::Message::encode_to_vec(&message));
                    (framed, Some(message))
                }
                CallProtocol::Grpc => {
                    let message =
                        if route.capability.consent_required {
                            Some(route.transcoder.decode_grpc_request(&body).map_err(|e| {
                                Refusal::invalid(e.field.clone(), e.message.clone())
                            })?)
                        } else {
                            None
                        };
                    (body.clone(), message)
                }
            };
        let token = self
            .tokens
            .token(app.id, &app.sponsor)
            .map_err(|e| Refusal::internal(e.to_string()))?;
        if route.capability.consent_required {
            let consent_id = request_message
                .as_ref()
                .and_then(|m| transcode::string_field(m, "consent_id"))
                .unwrap_or_default();
            self.consents
                .check(&consent_id, app.id, token.authorization.clone(), now)
                .await?;
        }

        // The platform channel carries the trace context itself.
        let extra = HeaderMap::new();
        let started = Instant::now();
        let reply = self
            .backends
            .call(&route, framed, token.authorization.clone(), &extra)
            .await?;
        let overloaded = matches!(
            reply.status.code(),
            Code::ResourceExhausted | Code::Unavailable | Code::DeadlineExceeded
        );
        shed_permit.complete(started.elapsed(), overloaded);
        call.backend_instance = header_text(&reply.headers, INSTANCE_HEADER).to_string();
        Ok(self.answer(call.protocol, &route, reply, admission.as_ref()))
    }

    async fn read_body(&self, headers: &HeaderMap, body: Body) -> Result<Bytes, Refusal> {
        let declared = headers
            .get(http::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        if declared.is_some_and(|length| length > self.max_body_bytes as u64) {
            return Err(Refusal::too_large(self.max_body_bytes));
        }
        match Limited::new(body, self.max_body_bytes).collect().await {
            Ok(collected) => Ok(collected.to_bytes()),
            Err(e)
                if e.downcast_ref::<http_body_util::LengthLimitError>()
                    .is_some() =>
            {
                Err(Refusal::too_large(self.max_body_bytes))
            }
            Err(e) => Err(Refusal::invalid(
                "body",
                format!("the request body could not be read: {e}"),
            )),
        }
    }

    /// The credential and app of a correctly signed request.
    pub(crate) fn authenticate(
        &self,
        snapshot: &Snapshot,
        parts: &http::request::Parts,
        body: &[u8],
        now: DateTime<Utc>,
    ) -> Result<(SigningCredential, App), Refusal> {
        let signed = signing::parse_signature_headers(&parts.headers)
            .map_err(|e| Refusal::unauthenticated(e.reason(), e.to_string()))?;
        let credential = snapshot.credential(&signed.app_key).ok_or_else(|| {
            Refusal::unauthenticated(
                "APP_KEY_UNKNOWN",
                format!("app key {} is not known (or was revoked)", signed.app_key),
            )
        })?;
        if !credential.credential.accepts_at(now) {
            return Err(Refusal::unauthenticated(
                "CREDENTIAL_EXPIRED",
                format!(
                    "app key {} has expired; use its replacement",
                    signed.app_key
                ),
            ));
        }
        let query = match is_grpc(&parts.headers) {
            true => None,
            false => parts.uri.query(),
        };
        signing::verify(
            &credential.secret,
            &signed,
            parts.method.as_str(),
            parts.uri.path(),
            query,
            &parts.headers,
            body,
            now,
            self.clock_skew,
        )
        .map_err(|e| Refusal::unauthenticated(e.reason(), e.to_string()))?;
        let app = snapshot.app(&credential.credential.app_id).ok_or_else(|| {
            Refusal::unauthenticated("APP_KEY_UNKNOWN", "the app of this key is not known")
        })?;
        if app.state == crate::domain::AppState::Disabled {
            return Err(Refusal::forbidden(
                "APP_DISABLED",
                format!("app {} is disabled: {}", app.id, app.disabled_reason),
            ));
        }
        Ok((credential.clone(), app.clone()))
    }

    /// Last of the authentication steps, as it costs a shared write: only
    /// correctly signed requests of enabled apps get to burn a nonce.
    pub(crate) async fn claim_nonce(
        &self,
        credential: &SigningCredential,
        headers: &HeaderMap,
        now: DateTime<Utc>,
    ) -> Result<(), Refusal> {
        let nonce = header_text(headers, "x-zt-nonce");
        let remember_until =
            now + chrono::Duration::from_std(self.clock_skew * 2).unwrap_or_default();
        match self
            .nonces
            .claim(&credential.credential.app_key, nonce, remember_until)
            .await
        {
            Ok(true) => Ok(()),
            Ok(false) => Err(Refusal::unauthenticated(
                "NONCE_REPLAYED",
                "this nonce was used already: every request needs a new one",
            )),
            Err(e) => {
                tracing::error!(error = %e, "replay check failed");
                Err(Refusal::backend(
                    "BACKEND_UNAVAILABLE",
                    "replay protection is unavailable; retry shortly",
                    Some(Duration::from_secs(1)),
                ))
            }
        }
    }

    async fn admit(
        &self,
        app: Uuid,
        route: &Route,
        limits: &crate::domain::Limits,
        now: DateTime<Utc>,
    ) -> Result<Admission, Refusal> {
        match self
            .limits
            .admit(app, &route.capability.name, limits, now)
            .await
        {
            Ok(Ok(admission)) => Ok(admission),
            Ok(Err(refused)) => {
                let message = match refused.reason {
                    crate::limits::LimitReason::RateLimited => {
                        format!("rate limit of {} reached", route.capability.name)
                    }
                    crate::limits::LimitReason::QuotaExceeded(window) => format!(
                        "{} quota of {} used up",
                        window.as_str(),
                        route.capability.name
                    ),
                };
                let mut refusal =
                    Refusal::limited(refused.reason.reason(), message, refused.retry_after);
                if refused.reason == crate::limits::LimitReason::RateLimited {
                    refusal
                        .headers
                        .insert("x-ratelimit-remaining", HeaderValue::from(0u64));
                    refusal.headers.insert(
                        "x-ratelimit-reset",
                        HeaderValue::from(refused.retry_after.as_secs_f64().ceil() as u64),
                    );
                }
                quota_headers(&mut refusal.headers, &refused.quotas);
                Err(refusal)
            }
            Err(e) => {
                tracing::error!(error = %e, "limit counters unavailable");
                Err(Refusal::backend(
                    "BACKEND_UNAVAILABLE",
                    "limit counters are unavailable; retry shortly",
                    Some(Duration::from_secs(1)),
                ))
            }
        }
    }

    /// The backend's answer in the caller's protocol.
    fn answer(
        &self,
        protocol: CallProtocol,
        route: &Route,
        reply: BackendReply,
        admission: Option<&Admission>,
    ) -> Ending {
        let code = reply.status.code();
        let outcome = CallOutcome::Forwarded;
        let mut ending = match protocol {
            CallProtocol::Grpc => {
                let response_bytes = reply.body.len() as u64;
                let mut response = http::Response::new(grpc_body(reply.body, reply.trailers));
                *response.headers_mut() = reply.headers;
                Ending {
                    response,
                    outcome,
                    reason: String::new(),
                    grpc_code: code,
                    response_bytes,
                }
            }
            CallProtocol::HttpJson if code == Code::Ok => {
                let json = unframe(&reply.body)
                    .map_err(|e| e.to_string())
                    .and_then(|message| {
                        route
                            .transcoder
                            .response_json(&message)
                            .map_err(|e| e.to_string())
                    });
                match json {
                    Ok(json) => {
                        let response_bytes = json.len() as u64;
                        let mut response = http::Response::new(Body::from(json));
                        response.headers_mut().insert(
                            http::header::CONTENT_TYPE,
                            HeaderValue::from_static("application/json"),
                        );
                        Ending {
                            response,
                            outcome,
                            reason: String::new(),
                            grpc_code: code,
                            response_bytes,
                        }
                    }
                    Err(e) => {
                        tracing::error!(error = %e, capability = %route.capability.name, "backend response does not render");
                        refused(
                            protocol,
                            Refusal::internal("the backend's answer could not be rendered"),
                        )
                    }
                }
            }
            CallProtocol::HttpJson => {
                let body = transcode::error_body(&reply.status);
                let bytes = serde_json::to_vec(&body).unwrap_or_default();
                let response_bytes = bytes.len() as u64;
                let mut response = http::Response::new(Body::from(bytes));
                *response.status_mut() = transcode::http_status(code);
                response.headers_mut().insert(
                    http::header::CONTENT_TYPE,
                    HeaderValue::from_static("application/json"),
                );
                // A backend shedding load advises when to retry (RetryInfo);
                // HTTP callers read that from Retry-After, as on the
                // gateway's own 429/503.
                if let Some(delay) = reply
                    .status
                    .get_error_details()
                    .retry_info()
                    .and_then(|retry| retry.retry_delay)
                {
                    response.headers_mut().insert(
                        http::header::RETRY_AFTER,
                        super::refusal::retry_after_header(delay),
                    );
                }
                Ending {
                    response,
                    outcome,
                    reason: reason_of(&reply.status),
                    grpc_code: code,
                    response_bytes,
                }
            }
        };
        if let Some(admission) = admission {
            limit_headers(ending.response.headers_mut(), admission);
        }
        ending
    }

    fn finish(&self, call: Call, ending: Ending) -> http::Response<Body> {
        let latency = call.started.elapsed();
        METRICS.observe(&call.capability, ending.outcome, latency);
        METRICS
            .concurrency_limit
            .set(i64::try_from(self.shedder.limit()).unwrap_or(i64::MAX));
        let http_status = match call.protocol {
            CallProtocol::HttpJson => ending.response.status().as_u16(),
            CallProtocol::Grpc => 200,
        };
        self.audit.record(CallRecord {
            id: Uuid::now_v7(),
            time: call.time,
            app_id: call.app.as_ref().map(|app| app.id),
            sponsor: call.app.as_ref().map(|app| app.sponsor.clone()),
            app_key: call.app_key,
            capability: call.capability,
            capability_version: call.capability_version,
            protocol: call.protocol,
            http_method: call.method.as_str().to_string(),
            path: call.path,
            http_status,
            grpc_code: ending.grpc_code as i32,
            outcome: ending.outcome,
            error_reason: ending.reason,
            latency,
            request_bytes: call.request_bytes,
            response_bytes: ending.response_bytes,
            backend_instance: call.backend_instance,
            trace_id: call.trace_id,
            client_ip: call.client_ip,
        });
        ending.response
    }
}

fn refused(protocol: CallProtocol, refusal: Refusal) -> Ending {
    let outcome = refusal.outcome;
    let reason = refusal.reason.to_string();
    let grpc_code = refusal.grpc;
    let response = match protocol {
        CallProtocol::HttpJson => refusal.into_http(),
        CallProtocol::Grpc => refusal.into_grpc(),
    };
    Ending {
        response,
        outcome,
        reason,
        grpc_code,
        response_bytes: 0,
    }
}

fn route_of(
    snapshot: &Snapshot,
    protocol: CallProtocol,
    parts: &http::request::Parts,
) -> Result<(Arc<Route>, PathParams), Refusal> {
    let path = parts.uri.path();
    match protocol {
        CallProtocol::Grpc => snapshot
            .route_grpc(path)
            .map(|route| (route, Vec::new()))
            .ok_or_else(|| Refusal::no_capability(format!("no capability opens {path}"))),
        CallProtocol::HttpJson => {
            let method = HttpMethod::from_name(parts.method.as_str()).ok_or_else(|| {
                Refusal::no_capability(format!("no capability answers {} {path}", parts.method))
            })?;
            snapshot.route_http(method, path).ok_or_else(|| {
                Refusal::no_capability(format!("no capability answers {} {path}", parts.method))
            })
        }
    }
}

fn priority_of(priority: CapabilityPriority) -> Priority {
    match priority {
        CapabilityPriority::Critical => Priority::Critical,
        CapabilityPriority::Normal => Priority::Normal,
        CapabilityPriority::Low => Priority::Sheddable,
    }
}

fn is_grpc(headers: &HeaderMap) -> bool {
    headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/grpc"))
}

fn header_text<'a>(headers: &'a HeaderMap, name: &str) -> &'a str {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
}

/// A body, if any, must be JSON.
fn check_json_media_type(headers: &HeaderMap, body: &[u8]) -> Result<(), Refusal> {
    if body.is_empty() {
        return Ok(());
    }
    let media_type = header_text(headers, "content-type");
    let essence = media_type.split(';').next().unwrap_or_default().trim();
    if essence.eq_ignore_ascii_case("application/json") || essence.is_empty() {
        Ok(())
    } else {
        Err(Refusal::unsupported_media_type(media_type))
    }
}

fn reason_of(status: &tonic::Status) -> String {
    use tonic_types::StatusExt as _;
    status
        .get_details_error_info()
        .map(|info| info.reason)
        .unwrap_or_default()
}

/// The caller's standing after this call: `X-RateLimit-*` for the rate
/// limit, `X-Zt-Quota-<Window>-Remaining` per quota.
fn limit_headers(headers: &mut HeaderMap, admission: &Admission) {
    if let Some(rate) = &admission.rate {
        headers.insert("x-ratelimit-limit", HeaderValue::from(rate.limit));
        headers.insert("x-ratelimit-remaining", HeaderValue::from(rate.remaining));
        headers.insert(
            "x-ratelimit-reset",
            HeaderValue::from(rate.reset_after.as_secs_f64().ceil() as u64),
        );
    }
    quota_headers(headers, &admission.quotas);
}

/// `X-Zt-Quota-<Window>-Remaining` per quota.
fn quota_headers(headers: &mut HeaderMap, quotas: &[crate::limits::QuotaStanding]) {
    for quota in quotas {
        let name = match quota.window {
            crate::domain::QuotaWindow::Day => "x-zt-quota-day-remaining",
            crate::domain::QuotaWindow::Month => "x-zt-quota-month-remaining",
        };
        headers.insert(name, HeaderValue::from(quota.remaining));
    }
}

/// A gRPC response body: the messages, then the trailers.
fn grpc_body(data: Bytes, trailers: Option<HeaderMap>) -> Body {
    use http_body::Frame;
    let mut frames = vec![Ok::<_, std::convert::Infallible>(Frame::data(data))];
    if let Some(trailers) = trailers {
        frames.push(Ok(Frame::trailers(trailers)));
    }
    Body::new(http_body_util::StreamBody::new(futures::stream::iter(
        frames,
    )))
}
