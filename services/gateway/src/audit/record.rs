//! One audited front-door call, as the gateway records it.

use std::time::Duration;

use chrono::{DateTime, Utc};
use uuid::Uuid;
use zhongtai_kit::TenantId;

/// The protocol an integrator called with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CallProtocol {
    /// HTTP/JSON, transcoded to the backend method.
    HttpJson,
    /// gRPC passed through to the backend method.
    Grpc,
}

impl CallProtocol {
    /// Every protocol, in contract order.
    pub const ALL: [Self; 2] = [Self::HttpJson, Self::Grpc];

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::HttpJson => "http_json",
            Self::Grpc => "grpc",
        }
    }

    /// Inverse of [`CallProtocol::as_str`].
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.as_str() == name)
    }
}

/// How the gateway handled a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CallOutcome {
    /// Forwarded; the backend answered, whatever its status.
    Forwarded,
    /// Refused: authentication failed (signature, key, skew, replay).
    RejectedAuth,
    /// Refused: the app may not call the capability, or is disabled.
    RejectedPermission,
    /// Refused: rate limit, quota or concurrency cap.
    RejectedLimit,
    /// Refused: shed under overload.
    Shed,
    /// Refused: malformed request.
    RejectedInvalid,
    /// Backend unreachable, timed out, or its circuit open.
    BackendFailed,
}

impl CallOutcome {
    /// Every outcome, in contract order.
    pub const ALL: [Self; 7] = [
        Self::Forwarded,
        Self::RejectedAuth,
        Self::RejectedPermission,
        Self::RejectedLimit,
        Self::Shed,
        Self::RejectedInvalid,
        Self::BackendFailed,
    ];

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Forwarded => "forwarded",
            Self::RejectedAuth => "rejected_auth",
            Self::RejectedPermission => "rejected_permission",
            Self::RejectedLimit => "rejected_limit",
            Self::Shed => "shed",
            Self::RejectedInvalid => "rejected_invalid",
            Self::BackendFailed => "backend_failed",
        }
    }

    /// Inverse of [`CallOutcome::as_str`].
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|o| o.as_str() == name)
    }

    /// Whether the gateway refused the call before any backend saw it.
    pub fn is_refusal(self) -> bool {
        !matches!(self, Self::Forwarded | Self::BackendFailed)
    }
}

/// One front-door call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallRecord {
    /// UUIDv7 of the arrival time, so ids sort by time.
    pub id: Uuid,
    /// When the call arrived.
    pub time: DateTime<Utc>,
    /// The calling app, when it could be identified.
    pub app_id: Option<Uuid>,
    /// The tenant sponsoring that app; decides who may read the record.
    pub sponsor: Option<TenantId>,
    /// App key the request was signed with (empty when none was given).
    pub app_key: String,
    /// Capability name (empty when no route matched).
    pub capability: String,
    /// Capability version.
    pub capability_version: String,
    /// HTTP/JSON or gRPC.
    pub protocol: CallProtocol,
    /// HTTP method as received.
    pub http_method: String,
    /// Request path as received, without the query string.
    pub path: String,
    /// HTTP status returned.
    pub http_status: u16,
    /// Numeric gRPC status code returned.
    pub grpc_code: i32,
    /// How the call was handled.
    pub outcome: CallOutcome,
    /// Reason code of a refusal or failure (e.g. `QUOTA_EXCEEDED`).
    pub error_reason: String,
    /// Total time in the gateway.
    pub latency: Duration,
    /// Request body bytes.
    pub request_bytes: u64,
    /// Response body bytes.
    pub response_bytes: u64,
    /// Backend instance address that served it.
    pub backend_instance: String,
    /// W3C trace id.
    pub trace_id: String,
    /// Client IP address.
    pub client_ip: String,
}

impl CallRecord {
    /// A record of a call arriving at `time`, with a fresh time-ordered id
    /// and everything else empty; the front door fills in what it learns.
    pub fn arrived(time: DateTime<Utc>, protocol: CallProtocol, outcome: CallOutcome) -> Self {
        let millis = u64::try_from(time.timestamp_millis()).unwrap_or(0);
        let timestamp = uuid::Timestamp::from_unix(
            uuid::NoContext,
            millis / 1000,
            u32::try_from((millis % 1000) * 1_000_000).unwrap_or(0),
        );
        Self {
            id: Uuid::new_v7(timestamp),
            time,
            app_id: None,
            sponsor: None,
            app_key: String::new(),
            capability: String::new(),
            capability_version: String::new(),
            protocol,
            http_method: String::new(),
            path: String::new(),
            http_status: 0,
            grpc_code: 0,
            outcome,
            error_reason: String::new(),
            latency: Duration::ZERO,
            request_bytes: 0,
            response_bytes: 0,
            backend_instance: String::new(),
            trace_id: String::new(),
            client_ip: String::new(),
        }
    }

    /// Whether the call failed after it was let through: a backend failure,
    /// or a forwarded call answered with a non-success status.
    pub fn is_error(&self) -> bool {
        match self.outcome {
            CallOutcome::BackendFailed => true,
            CallOutcome::Forwarded => match self.protocol {
                CallProtocol::HttpJson => !(200..300).contains(&self.http_status),
                CallProtocol::Grpc => self.grpc_code != 0,
            },
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for outcome in CallOutcome::ALL {
            assert_eq!(CallOutcome::from_name(outcome.as_str()), Some(outcome));
        }
        for protocol in CallProtocol::ALL {
            assert_eq!(CallProtocol::from_name(protocol.as_str()), Some(protocol));
        }
        assert_eq!(CallOutcome::from_name("FORWARDED"), None);
        assert_eq!(CallProtocol::from_name("http"), None);
    }

    #[test]
    fn ids_follow_the_arrival_time() {
        let earlier = DateTime::<Utc>::from_timestamp(1_780_000_000, 0).unwrap_or_default();
        let later = earlier + chrono::Duration::milliseconds(5);
        let first = CallRecord::arrived(later, CallProtocol::Grpc, CallOutcome::Forwarded);
        let second = CallRecord::arrived(earlier, CallProtocol::Grpc, CallOutcome::Forwarded);
        assert!(second.id < first.id);
        assert_eq!(first.id.get_version_num(), 7);
    }

    #[test]
    fn errors_are_failures_after_admission() {
        let mut call =
            CallRecord::arrived(Utc::now(), CallProtocol::HttpJson, CallOutcome::Forwarded);
        call.http_status = 200;
        assert!(!call.is_error());
        call.http_status = 503;
        assert!(call.is_error());
        call.outcome = CallOutcome::RejectedLimit;
        assert!(!call.is_error(), "refusals are counted apart from errors");
        call.outcome = CallOutcome::BackendFailed;
        assert!(call.is_error());

        let mut grpc = CallRecord::arrived(Utc::now(), CallProtocol::Grpc, CallOutcome::Forwarded);
        assert!(!grpc.is_error());
        grpc.grpc_code = 5;
        assert!(grpc.is_error());
    }

    #[test]
    fn refusals_include_shedding() {
        assert!(CallOutcome::Shed.is_refusal());
        assert!(CallOutcome::RejectedAuth.is_refusal());
        assert!(!CallOutcome::Forwarded.is_refusal());
        assert!(!CallOutcome::BackendFailed.is_refusal());
    }
}
