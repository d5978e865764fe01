//! gRPC answers the server layers give without calling the service: a
//! trailers-only HTTP 200 response carrying `grpc-status` and rich error
//! details (`google.rpc.ErrorInfo` in Zhongtai's domain, `RetryInfo`).

use std::time::Duration;

use tonic::Code;
use tonic_types::{ErrorDetails, QuotaViolation, StatusExt};
use zhongtai_contracts::common::v1::ErrorReason;

/// `google.rpc.ErrorInfo.domain` of every error Zhongtai returns.
pub const ERROR_DOMAIN: &str = "zhongtai.gov";

/// A status with `ErrorInfo { reason, domain: ERROR_DOMAIN }`, plus
/// `RetryInfo` when the caller should come back later.
pub(crate) fn status(
    code: Code,
    message: impl Into<String>,
    reason: ErrorReason,
    retry_after: Option<Duration>,
) -> tonic::Status {
    let mut details = ErrorDetails::new();
    details.set_error_info(
        reason.as_str_name(),
        ERROR_DOMAIN,
        std::collections::HashMap::new(),
    );
    if let Some(delay) = retry_after {
        details.set_retry_info(Some(delay));
    }
    if reason == ErrorReason::QuotaExceeded {
        details.set_quota_failure(vec![QuotaViolation::new(
            "requests per second",
            "the server's request rate limit is exhausted",
        )]);
    }
    tonic::Status::with_error_details(code, message, details)
}

/// The status as an immediate trailers-only response.
pub(crate) fn response<B: Default>(status: tonic::Status) -> http::Response<B> {
    status.into_http()
}

/// True for the standard health service, which load shedding and rate
/// limiting must never refuse: probes decide whether the instance lives.
pub(crate) fn is_health_check(path: &str) -> bool {
    path.starts_with("/grpc.health.v1.Health/")
}
