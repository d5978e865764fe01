//! gRPC status codes as they appear on the wire (`grpc-status`), with the
//! names used as metric labels and the rules for what counts as an error.

use http::{HeaderMap, HeaderValue, StatusCode};

/// A gRPC status code, 0 (`OK`) to 16 (`Unauthenticated`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct GrpcCode(u8);

/// Label names, indexed by code; the spelling of the gRPC reference
/// implementation, which dashboards built for gRPC services expect.
const NAMES: [&str; GrpcCode::COUNT] = [
    "OK",
    "Canceled",
    "Unknown",
    "InvalidArgument",
    "DeadlineExceeded",
    "NotFound",
    "AlreadyExists",
    "PermissionDenied",
    "ResourceExhausted",
    "FailedPrecondition",
    "Aborted",
    "OutOfRange",
    "Unimplemented",
    "Internal",
    "Unavailable",
    "DataLoss",
    "Unauthenticated",
];

impl GrpcCode {
    pub(crate) const COUNT: usize = 17;
    pub(crate) const OK: Self = Self(0);
    pub(crate) const CANCELLED: Self = Self(1);
    pub(crate) const UNKNOWN: Self = Self(2);
    pub(crate) const UNIMPLEMENTED: Self = Self(12);
    pub(crate) const INTERNAL: Self = Self(13);
    pub(crate) const UNAVAILABLE: Self = Self(14);
    pub(crate) const UNAUTHENTICATED: Self = Self(16);
    pub(crate) const PERMISSION_DENIED: Self = Self(7);

    /// Parses a `grpc-status` value; anything but a known code is `Unknown`,
    /// as the gRPC spec asks of receivers.
    pub(crate) fn from_header(value: &HeaderValue) -> Self {
        std::str::from_utf8(value.as_bytes())
            .ok()
            .and_then(|text| text.trim().parse::<u8>().ok())
            .filter(|code| usize::from(*code) < Self::COUNT)
            .map_or(Self::UNKNOWN, Self)
    }

    /// The status carried in `headers` (trailers, or a trailers-only
    /// response's headers), if any.
    pub(crate) fn from_headers(headers: &HeaderMap) -> Option<Self> {
        headers.get("grpc-status").map(Self::from_header)
    }

    /// The status a gRPC client derives from a non-200 HTTP response (a
    /// proxy's error page, a non-gRPC endpoint), per the gRPC HTTP mapping.
    pub(crate) fn from_http_status(status: StatusCode) -> Self {
        match status.as_u16() {
            400 => Self::INTERNAL,
            401 => Self::UNAUTHENTICATED,
            403 => Self::PERMISSION_DENIED,
            404 => Self::UNIMPLEMENTED,
            429 | 502..=504 => Self::UNAVAILABLE,
            _ => Self::UNKNOWN,
        }
    }

    pub(crate) fn index(self) -> usize {
        usize::from(self.0)
    }

    pub(crate) fn value(self) -> i64 {
        i64::from(self.0)
    }

    pub(crate) fn name(self) -> &'static str {
        NAMES[self.index()]
    }

    /// Whether a server span ends in error: only codes that point at the
    /// server itself, per the OpenTelemetry RPC conventions. A `NotFound` is
    /// the server doing its job.
    pub(crate) fn is_server_fault(self) -> bool {
        matches!(self.0, 2 | 4 | 12 | 13 | 14 | 15)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_wire_values() {
        assert_eq!(
            GrpcCode::from_header(&HeaderValue::from_static("0")),
            GrpcCode::OK
        );
        assert_eq!(
            GrpcCode::from_header(&HeaderValue::from_static("5")).name(),
            "NotFound"
        );
        assert_eq!(
            GrpcCode::from_header(&HeaderValue::from_static("16")).name(),
            "Unauthenticated"
        );
        assert_eq!(
            GrpcCode::from_header(&HeaderValue::from_static("17")),
            GrpcCode::UNKNOWN
        );
        assert_eq!(
            GrpcCode::from_header(&HeaderValue::from_static("x")),
            GrpcCode::UNKNOWN
        );
        assert_eq!(
            GrpcCode::from_header(&HeaderValue::from_static("")),
            GrpcCode::UNKNOWN
        );
    }

    #[test]
    fn maps_http_statuses() {
        assert_eq!(
            GrpcCode::from_http_status(StatusCode::NOT_FOUND),
            GrpcCode::UNIMPLEMENTED
        );
        assert_eq!(
            GrpcCode::from_http_status(StatusCode::BAD_GATEWAY),
            GrpcCode::UNAVAILABLE
        );
        assert_eq!(
            GrpcCode::from_http_status(StatusCode::IM_A_TEAPOT),
            GrpcCode::UNKNOWN
        );
    }

    #[test]
    fn server_faults_exclude_caller_mistakes() {
        assert!(GrpcCode::INTERNAL.is_server_fault());
        assert!(GrpcCode::UNAVAILABLE.is_server_fault());
        assert!(!GrpcCode::OK.is_server_fault());
        assert!(!GrpcCode::from_header(&HeaderValue::from_static("5")).is_server_fault());
        assert!(!GrpcCode::CANCELLED.is_server_fault());
    }
}
