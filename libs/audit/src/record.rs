//! What one audit record says: who did what to what, for which tenant, and
//! how it ended.

use chrono::{DateTime, SubsecRound, Utc};
use uuid::Uuid;
use zhongtai_contracts::events::v1::AuditOutcome;

/// How an audited action ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// Allowed and carried out.
    Allowed,
    /// Refused (authorisation or tenant isolation).
    Denied,
    /// Allowed, but it failed.
    Failed,
}

impl Outcome {
    /// The stored (and hashed) form: `allowed`, `denied` or `failed`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Allowed => "allowed",
            Self::Denied => "denied",
            Self::Failed => "failed",
        }
    }

    pub(crate) fn to_proto(self) -> AuditOutcome {
        match self {
            Self::Allowed => AuditOutcome::Allowed,
            Self::Denied => AuditOutcome::Denied,
            Self::Failed => AuditOutcome::Failed,
        }
    }
}

impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One security-relevant action.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditRecord {
    /// Record id, time-ordered (UUIDv7).
    pub id: Uuid,
    /// When the action happened, at the microsecond precision databases keep.
    pub at: DateTime<Utc>,
    /// Who acted: the token subject, or `anonymous`.
    pub actor: String,
    /// Tenant the actor acted for, e.g. `331100/housing-fund`.
    pub tenant: String,
    /// What was attempted, e.g. the full gRPC method name.
    pub action: String,
    /// What it was attempted on, e.g. `service_item/0190c3e5-…`.
    pub target: String,
    /// How it ended.
    pub outcome: Outcome,
    /// Machine-readable reason of a denial or failure; empty when allowed.
    pub reason: String,
    /// W3C trace id of the request, when traced.
    pub trace_id: String,
    /// Where the request came from (mesh identity or address).
    pub peer: String,
}

impl AuditRecord {
    /// A record of an action happening now; reason, trace id and peer start
    /// empty.
    pub fn new(
        actor: impl Into<String>,
        tenant: impl Into<String>,
        action: impl Into<String>,
        target: impl Into<String>,
        outcome: Outcome,
    ) -> Self {
        Self {
            id: Uuid::now_v7(),
            at: Utc::now().trunc_subsecs(6),
            actor: actor.into(),
            tenant: tenant.into(),
            action: action.into(),
            target: target.into(),
            outcome,
            reason: String::new(),
            trace_id: String::new(),
            peer: String::new(),
        }
    }

    /// Sets why the action was denied or failed.
    pub fn with_reason(mut self, reason: impl Into<String>) -> Self {
        self.reason = reason.into();
        self
    }

    /// Sets the trace id of the request.
    pub fn with_trace_id(mut self, trace_id: impl Into<String>) -> Self {
        self.trace_id = trace_id.into();
        self
    }

    /// Sets where the request came from.
    pub fn with_peer(mut self, peer: impl Into<String>) -> Self {
        self.peer = peer.into();
        self
    }
}

#[cfg(test)]
mod tests {
    use chrono::Timelike;

    use super::*;

    #[test]
    fn new_records_keep_microseconds_and_builders_fill_the_rest() {
        let record = AuditRecord::new(
            "alice",
            "331100/housing-fund",
            "/zhongtai.approval.v1.ApprovalService/CreateServiceItem",
            "service_item/1",
            Outcome::Denied,
        )
        .with_reason("ROLE_NOT_ALLOWED")
        .with_trace_id("4bf92f3577b34da6a3ce929d0e0e4736")
        .with_peer("10.0.0.7:51234");
        assert_eq!(record.at.nanosecond() % 1_000, 0);
        assert_eq!(record.id.get_version_num(), 7);
        assert_eq!(record.reason, "ROLE_NOT_ALLOWED");
        assert_eq!(record.trace_id, "4bf92f3577b34da6a3ce929d0e0e4736");
        assert_eq!(record.peer, "10.0.0.7:51234");
        assert_eq!(record.outcome.to_string(), "denied");
    }
}
