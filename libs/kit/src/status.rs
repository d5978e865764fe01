//! The one place where failures become gRPC statuses.
//!
//! Services map their domain errors to an [`ApiError`]; `ApiError` turns into a
//! `tonic::Status` with the platform's standard details: `google.rpc.ErrorInfo`
//! (reason from `zhongtai.common.v1.ErrorReason`, domain [`ERROR_DOMAIN`]),
//! `google.rpc.BadRequest` for field violations and `google.rpc.RetryInfo` when
//! a retry makes sense. Internal failures are logged with their cause and
//! returned without it.

use std::collections::HashMap;
use std::fmt;
use std::time::Duration;

use tonic::Code;
use tonic_types::{ErrorDetails, StatusExt};
use zhongtai_contracts::common::v1::ErrorReason;

/// `google.rpc.ErrorInfo.domain` of every error Zhongtai returns.
pub const ERROR_DOMAIN: &str = "zhongtai.gov";

/// A failure as the API reports it.
#[derive(Debug, Clone)]
pub struct ApiError {
    code: Code,
    reason: ErrorReason,
    message: String,
    violations: Vec<(String, String)>,
    metadata: HashMap<String, String>,
    retry_after: Option<Duration>,
}

impl ApiError {
    fn new(code: Code, reason: ErrorReason, message: impl Into<String>) -> Self {
        Self {
            code,
            reason,
            message: message.into(),
            violations: Vec::new(),
            metadata: HashMap::new(),
            retry_after: None,
        }
    }

    /// A single invalid request field.
    pub fn invalid_field(field: impl Into<String>, description: impl Into<String>) -> Self {
        let field = field.into();
        let description = description.into();
        Self::new(
            Code::InvalidArgument,
            ErrorReason::InvalidField,
            format!("invalid {field}: {description}"),
        )
        .with_violation(field, description)
    }

    /// Several invalid request fields at once (see [`crate::validation`]).
    pub fn invalid_fields(violations: Vec<(String, String)>) -> Self {
        let message = match violations.as_slice() {
            [(field, description)] => format!("invalid {field}: {description}"),
            _ => format!("{} invalid fields", violations.len()),
        };
        Self {
            violations,
            ..Self::new(Code::InvalidArgument, ErrorReason::InvalidField, message)
        }
    }

    /// The addressed entity does not exist or is not visible to the caller.
    pub fn not_found(kind: &str, id: &str) -> Self {
        Self::new(
            Code::NotFound,
            ErrorReason::NotFound,
            format!("{kind} {id} not found"),
        )
        .with_metadata("kind", kind)
        .with_metadata("id", id)
    }

    /// The entity already exists.
    pub fn already_exists(kind: &str, key: &str) -> Self {
        Self::new(
            Code::AlreadyExists,
            ErrorReason::AlreadyExists,
            format!("{kind} {key} already exists"),
        )
        .with_metadata("kind", kind)
        .with_metadata("key", key)
    }

    /// The entity's state does not allow the operation.
    pub fn failed_precondition(message: impl Into<String>) -> Self {
        Self::new(
            Code::FailedPrecondition,
            ErrorReason::FailedPrecondition,
            message,
        )
    }

    /// Optimistic concurrency check failed.
    pub fn version_conflict(kind: &str, id: &str) -> Self {
        Self::new(
            Code::Aborted,
            ErrorReason::VersionConflict,
            format!("{kind} {id} was changed concurrently; re-read and retry"),
        )
    }

    /// The caller is not authenticated.
    pub fn unauthenticated(message: impl Into<String>) -> Self {
        Self::new(Code::Unauthenticated, ErrorReason::Unauthenticated, message)
    }

    /// The caller may not do this; `reason_code` is a stable machine-readable
    /// explanation put in the ErrorInfo metadata.
    pub fn permission_denied(reason_code: &str, message: impl Into<String>) -> Self {
        Self::new(
            Code::PermissionDenied,
            ErrorReason::PermissionDenied,
            message,
        )
        .with_metadata("denial", reason_code)
    }

    /// The server is too busy to take this request now; the client should
    /// retry after `retry_after`.
    pub fn overloaded(message: impl Into<String>, retry_after: Duration) -> Self {
        Self::new(Code::ResourceExhausted, ErrorReason::Overloaded, message)
            .with_retry_after(retry_after)
    }

    /// A dependency (database, broker, another service) is unavailable.
    pub fn dependency_unavailable(dependency: &str) -> Self {
        Self::new(
            Code::Unavailable,
            ErrorReason::DependencyUnavailable,
            format!("{dependency} is unavailable, retry later"),
        )
        .with_metadata("dependency", dependency)
        .with_retry_after(Duration::from_secs(1))
    }

    /// An unexpected failure. The cause is logged here, with the current
    /// span's context, and not returned to the caller.
    pub fn internal(cause: impl fmt::Display) -> Self {
        tracing::error!(error = %cause, "internal error");
        Self::new(Code::Internal, ErrorReason::Internal, "internal error")
    }

    /// Adds a field violation (for `InvalidArgument`).
    pub fn with_violation(
        mut self,
        field: impl Into<String>,
        description: impl Into<String>,
    ) -> Self {
        self.violations.push((field.into(), description.into()));
        self
    }

    /// Adds an ErrorInfo metadata entry.
    pub fn with_metadata(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.metadata.insert(key.into(), value.into());
        self
    }

    /// Advises the caller when to retry.
    pub fn with_retry_after(mut self, delay: Duration) -> Self {
        self.retry_after = Some(delay);
        self
    }

    pub fn code(&self) -> Code {
        self.code
    }

    pub fn reason(&self) -> ErrorReason {
        self.reason
    }

    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}: {}", self.code, self.message)
    }
}

impl std::error::Error for ApiError {}

impl From<ApiError> for tonic::Status {
    fn from(error: ApiError) -> Self {
        let mut details = ErrorDetails::new();
        details.set_error_info(error.reason.as_str_name(), ERROR_DOMAIN, error.metadata);
        for (field, description) in error.violations {
            details.add_bad_request_violation(field, description);
        }
        if let Some(delay) = error.retry_after {
            details.set_retry_info(Some(delay));
        }
        tonic::Status::with_error_details(error.code, error.message, details)
    }
}

/// Reads the `ErrorInfo.reason` a Zhongtai service put on a status, if any.
pub fn reason_of(status: &tonic::Status) -> Option<ErrorReason> {
    let details = status.get_error_details();
    let info = details.error_info()?;
    if info.domain != ERROR_DOMAIN {
        return None;
    }
    ErrorReason::from_str_name(&info.reason)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_fields_carry_bad_request_details() {
        let status: tonic::Status = ApiError::invalid_fields(vec![
            ("name".into(), "must not be empty".into()),
            ("code".into(), "too long".into()),
        ])
        .into();
        assert_eq!(status.code(), Code::InvalidArgument);
        assert_eq!(reason_of(&status), Some(ErrorReason::InvalidField));
        let details = status.get_error_details();
        let bad_request = details.bad_request().expect("bad request details");
        assert_eq!(bad_request.field_violations.len(), 2);
        assert_eq!(bad_request.field_violations[0].field, "name");
    }

    #[test]
    fn not_found_names_kind_and_id() {
        let status: tonic::Status = ApiError::not_found("service item", "abc").into();
        assert_eq!(status.code(), Code::NotFound);
        assert_eq!(status.message(), "service item abc not found");
        let details = status.get_error_details();
        let info = details.error_info().expect("error info");
        assert_eq!(info.reason, "ERROR_REASON_NOT_FOUND");
        assert_eq!(info.metadata.get("id").map(String::as_str), Some("abc"));
    }

    #[test]
    fn internal_errors_hide_their_cause() {
        let status: tonic::Status = ApiError::internal("db password is hunter2").into();
        assert_eq!(status.code(), Code::Internal);
        assert!(!status.message().contains("hunter2"));
    }

    #[test]
    fn unavailable_dependencies_advise_a_retry() {
        let status: tonic::Status = ApiError::dependency_unavailable("database").into();
        assert_eq!(status.code(), Code::Unavailable);
        assert!(status.get_error_details().retry_info().is_some());
    }
}
