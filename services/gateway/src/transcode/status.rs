//! gRPC statuses as HTTP responses: the status code (google.rpc mapping)
//! and a JSON error body with the status's details decoded.

use std::collections::BTreeMap;
use std::time::Duration;

use http::StatusCode;
use serde_json::{Map, Value as Json, json};
use tonic::Code;
use tonic_types::StatusExt;

/// The HTTP status for a gRPC code (google.rpc mapping; 499 for CANCELLED).
pub fn http_status(code: Code) -> StatusCode {
    match code {
        Code::Ok => StatusCode::OK,
        Code::InvalidArgument | Code::FailedPrecondition | Code::OutOfRange => {
            StatusCode::BAD_REQUEST
        }
        Code::Unauthenticated => StatusCode::UNAUTHORIZED,
        Code::PermissionDenied => StatusCode::FORBIDDEN,
        Code::NotFound => StatusCode::NOT_FOUND,
        Code::AlreadyExists | Code::Aborted => StatusCode::CONFLICT,
        Code::ResourceExhausted => StatusCode::TOO_MANY_REQUESTS,
        Code::Cancelled => StatusCode::from_u16(499).unwrap_or(StatusCode::BAD_REQUEST),
        Code::Unimplemented => StatusCode::NOT_IMPLEMENTED,
        Code::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        Code::DeadlineExceeded => StatusCode::GATEWAY_TIMEOUT,
        Code::Unknown | Code::Internal | Code::DataLoss => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// The canonical name of a gRPC code, as google.rpc.Code spells it.
fn code_name(code: Code) -> &'static str {
    match code {
        Code::Ok => "OK",
        Code::Cancelled => "CANCELLED",
        Code::Unknown => "UNKNOWN",
        Code::InvalidArgument => "INVALID_ARGUMENT",
        Code::DeadlineExceeded => "DEADLINE_EXCEEDED",
        Code::NotFound => "NOT_FOUND",
        Code::AlreadyExists => "ALREADY_EXISTS",
        Code::PermissionDenied => "PERMISSION_DENIED",
        Code::ResourceExhausted => "RESOURCE_EXHAUSTED",
        Code::FailedPrecondition => "FAILED_PRECONDITION",
        Code::Aborted => "ABORTED",
        Code::OutOfRange => "OUT_OF_RANGE",
        Code::Unimplemented => "UNIMPLEMENTED",
        Code::Internal => "INTERNAL",
        Code::Unavailable => "UNAVAILABLE",
        Code::DataLoss => "DATA_LOSS",
        Code::Unauthenticated => "UNAUTHENTICATED",
    }
}

/// The JSON error body for a backend status, details decoded:
/// `{"error":{"code":404,"status":"NOT_FOUND","message":"…","reason":"…",
/// "field_violations":[…],"retry_after_ms":200,"metadata":{…}}}`, absent
/// parts left out.
pub fn error_body(status: &tonic::Status) -> Json {
    let details = status.get_error_details();
    let (reason, metadata) = match details.error_info() {
        Some(info) => (
            info.reason.clone(),
            info.metadata
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        ),
        None => (String::new(), BTreeMap::new()),
    };
    let violations: Vec<(String, String)> = details
        .bad_request()
        .map(|bad| {
            bad.field_violations
                .iter()
                .map(|v| (v.field.clone(), v.description.clone()))
                .collect()
        })
        .unwrap_or_default();
    let retry_after = details.retry_info().and_then(|retry| retry.retry_delay);
    body(
        http_status(status.code()),
        status.code(),
        &reason,
        status.message(),
        &violations,
        retry_after,
        &metadata,
    )
}

/// The same shape for the gateway's own refusals.
pub fn gateway_error_body(
    http: StatusCode,
    grpc: Code,
    reason: &str,
    message: &str,
    field_violations: &[(String, String)],
    retry_after: Option<Duration>,
) -> Json {
    body(
        http,
        grpc,
        reason,
        message,
        field_violations,
        retry_after,
        &BTreeMap::new(),
    )
}

fn body(
    http: StatusCode,
    grpc: Code,
    reason: &str,
    message: &str,
    field_violations: &[(String, String)],
    retry_after: Option<Duration>,
    metadata: &BTreeMap<String, String>,
) -> Json {
    let mut error = Map::new();
    error.insert("code".into(), json!(http.as_u16()));
    error.insert("status".into(), json!(code_name(grpc)));
    error.insert("message".into(), json!(message));
    if !reason.is_empty() {
        error.insert("reason".into(), json!(reason));
    }
    if !field_violations.is_empty() {
        let violations: Vec<Json> = field_violations
            .iter()
            .map(|(field, description)| json!({"field": field, "description": description}))
            .collect();
        error.insert("field_violations".into(), Json::Array(violations));
    }
    if let Some(delay) = retry_after {
        let millis = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX);
        error.insert("retry_after_ms".into(), json!(millis));
    }
    if !metadata.is_empty() {
        let entries: Map<String, Json> = metadata
            .iter()
            .map(|(k, v)| (k.clone(), json!(v)))
            .collect();
        error.insert("metadata".into(), Json::Object(entries));
    }
    json!({ "error": error })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;
    use tonic_types::ErrorDetails;

    #[test]
    fn maps_every_code_like_google_rpc() {
        for (code, expected) in [
            (Code::Ok, 200),
            (Code::InvalidArgument, 400),
            (Code::FailedPrecondition, 400),
            (Code::OutOfRange, 400),
            (Code::Unauthenticated, 401),
            (Code::PermissionDenied, 403),
            (Code::NotFound, 404),
            (Code::AlreadyExists, 409),
            (Code::Aborted, 409),
            (Code::ResourceExhausted, 429),
            (Code::Cancelled, 499),
            (Code::Unimplemented, 501),
            (Code::Unavailable, 503),
            (Code::DeadlineExceeded, 504),
            (Code::Unknown, 500),
            (Code::Internal, 500),
            (Code::DataLoss, 500),
        ] {
            assert_eq!(http_status(code).as_u16(), expected, "{code:?}");
        }
    }

    #[test]
    fn error_body_decodes_the_status_details() {
        let mut details = ErrorDetails::new();
        details.set_error_info(
            "ERROR_REASON_INVALID_FIELD",
            "zhongtai.gov",
            HashMap::from([("kind".to_string(), "certificate".to_string())]),
        );
        details.add_bad_request_violation("token", "must not be empty");
        details.set_retry_info(Some(Duration::from_millis(200)));
        let status = tonic::Status::with_error_details(
            Code::InvalidArgument,
            "invalid token: must not be empty",
            details,
        );
        assert_eq!(
            error_body(&status),
            json!({"error": {
                "code": 400,
                "status": "INVALID_ARGUMENT",
                "message": "invalid token: must not be empty",
                "reason": "ERROR_REASON_INVALID_FIELD",
                "field_violations": [{"field": "token", "description": "must not be empty"}],
                "retry_after_ms": 200,
                "metadata": {"kind": "certificate"},
            }})
        );
    }

    #[test]
    fn absent_details_are_left_out() {
        let status = tonic::Status::not_found("certificate c-1 not found");
        assert_eq!(
            error_body(&status),
            json!({"error": {"code": 404, "status": "NOT_FOUND", "message": "certificate c-1 not found"}})
        );
    }

    #[test]
    fn gateway_refusals_have_the_same_shape() {
        let body = gateway_error_body(
            StatusCode::TOO_MANY_REQUESTS,
            Code::ResourceExhausted,
            "ERROR_REASON_OVERLOADED",
            "quota exhausted",
            &[],
            Some(Duration::from_secs(2)),
        );
        assert_eq!(
            body,
            json!({"error": {
                "code": 429,
                "status": "RESOURCE_EXHAUSTED",
                "message": "quota exhausted",
                "reason": "ERROR_REASON_OVERLOADED",
                "retry_after_ms": 2000,
            }})
        );
    }
}
