//! The gateway's own answers when it does not forward a call: one reason
//! code per cause (documented in docs/gateway.md), rendered as HTTP/JSON or
//! as a gRPC status with `ErrorInfo` (and `RetryInfo` where waiting helps).

use std::time::Duration;

use http::{HeaderValue, StatusCode};
use tonic::Code;
use tonic_types::{ErrorDetails, StatusExt as _};

use crate::audit::record::CallOutcome;
use crate::transcode::gateway_error_body;

/// `ErrorInfo.domain` of the gateway's refusals.
pub const ERROR_DOMAIN: &str = "gateway.zhongtai.gov";

/// Why a call was not forwarded, and how to say so.
#[derive(Debug, Clone)]
pub struct Refusal {
    pub http: StatusCode,
    pub grpc: Code,
    /// e.g. `SIGNATURE_INVALID`.
    pub reason: &'static str,
    pub message: String,
    pub outcome: CallOutcome,
    pub retry_after: Option<Duration>,
    pub violations: Vec<(String, String)>,
    /// Headers the answer carries besides the error (the caller's limit
    /// standing on a limit refusal).
    pub headers: Box<http::HeaderMap>,
}

impl Refusal {
    fn new(
        http: StatusCode,
        grpc: Code,
        reason: &'static str,
        outcome: CallOutcome,
        message: impl Into<String>,
    ) -> Self {
        Self {
            http,
            grpc,
            reason,
            message: message.into(),
            outcome,
            retry_after: None,
            violations: Vec::new(),
            headers: Box::default(),
        }
    }

    pub fn unauthenticated(reason: &'static str, message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            Code::Unauthenticated,
            reason,
            CallOutcome::RejectedAuth,
            message,
        )
    }

    pub fn forbidden(reason: &'static str, message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            Code::PermissionDenied,
            reason,
            CallOutcome::RejectedPermission,
            message,
        )
    }

    pub fn no_capability(message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            Code::Unimplemented,
            "CAPABILITY_NOT_FOUND",
            CallOutcome::RejectedPermission,
            message,
        )
    }

    /// A request that does not make a request message: the message names
    /// the field, and the field violation carries it for programs.
    pub fn invalid(field: impl Into<String>, description: impl Into<String>) -> Self {
        let (field, description) = (field.into(), description.into());
        let mut refusal = Self::new(
            StatusCode::BAD_REQUEST,
            Code::InvalidArgument,
            "REQUEST_INVALID",
            CallOutcome::RejectedInvalid,
            format!("field \"{field}\": {description}"),
        );
        refusal.violations.push((field, description));
        refusal
    }

    pub fn too_large(limit: usize) -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            Code::ResourceExhausted,
            "BODY_TOO_LARGE",
            CallOutcome::RejectedInvalid,
            format!("the request body is larger than {limit} bytes"),
        )
    }

    pub fn unsupported_media_type(got: &str) -> Self {
        Self::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Code::InvalidArgument,
            "UNSUPPORTED_MEDIA_TYPE",
            CallOutcome::RejectedInvalid,
            format!("send the body as application/json (got {got:?})"),
        )
    }

    pub fn limited(
        reason: &'static str,
        message: impl Into<String>,
        retry_after: Duration,
    ) -> Self {
        let mut refusal = Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            Code::ResourceExhausted,
            reason,
            CallOutcome::RejectedLimit,
            message,
        );
        refusal.retry_after = Some(retry_after);
        refusal
    }

    pub fn shed(retry_after: Duration) -> Self {
        let mut refusal = Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            Code::Unavailable,
            "OVERLOADED",
            CallOutcome::Shed,
            "the gateway is overloaded; retry after the advised delay",
        );
        refusal.retry_after = Some(retry_after);
        refusal
    }

    pub fn backend(
        reason: &'static str,
        message: impl Into<String>,
        retry_after: Option<Duration>,
    ) -> Self {
        let (http, grpc) = if reason == "BACKEND_TIMEOUT" {
            (StatusCode::GATEWAY_TIMEOUT, Code::DeadlineExceeded)
        } else {
            (StatusCode::SERVICE_UNAVAILABLE, Code::Unavailable)
        };
        let mut refusal = Self::new(http, grpc, reason, CallOutcome::BackendFailed, message);
        refusal.retry_after = retry_after;
        refusal
    }

    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            Code::Internal,
            "INTERNAL",
            CallOutcome::BackendFailed,
            message,
        )
    }

    /// The HTTP/JSON answer.
    pub fn into_http(self) -> http::Response<axum::body::Body> {
        let body = gateway_error_body(
            self.http,
            self.grpc,
            self.reason,
            &self.message,
            &self.violations,
            self.retry_after,
        );
        let bytes = serde_json::to_vec(&body).unwrap_or_default();
        let mut response = http::Response::new(axum::body::Body::from(bytes));
        *response.status_mut() = self.http;
        response.headers_mut().extend(*self.headers);
        response.headers_mut().insert(
            http::header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        if let Some(retry_after) = self.retry_after {
            response
                .headers_mut()
                .insert(http::header::RETRY_AFTER, retry_after_header(retry_after));
        }
        response
    }

    /// The gRPC answer: a trailers-only response with the status and its
    /// details.
    pub fn into_grpc(self) -> http::Response<axum::body::Body> {
        let mut details = ErrorDetails::with_error_info(
            self.reason,
            ERROR_DOMAIN,
            std::collections::HashMap::<String, String>::new(),
        );
        if let Some(retry_after) = self.retry_after {
            details.set_retry_info(Some(retry_after));
        }
        if !self.violations.is_empty() {
            details.set_bad_request(
                self.violations
                    .iter()
                    .map(|(field, description)| {
                        tonic_types::FieldViolation::new(field.clone(), description.clone())
                    })
                    .collect::<Vec<_>>(),
            );
        }
        let status = tonic::Status::with_error_details(self.grpc, self.message, details);
        let mut response = status.into_http::<axum::body::Body>();
        response.headers_mut().extend(*self.headers);
        if let Some(retry_after) = self.retry_after {
            response
                .headers_mut()
                .insert(http::header::RETRY_AFTER, retry_after_header(retry_after));
        }
        response
    }
}

/// Whole seconds, at least 1 (the header has no finer unit).
pub(crate) fn retry_after_header(delay: Duration) -> HeaderValue {
    let seconds = delay.as_secs_f64().ceil().max(1.0) as u64;
    HeaderValue::from(seconds)
}
