//! Access requests (点菜): a department asks for named fields of a resource
//! for a purpose and a period; an approval (or policy) turns the request
//! into a grant.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;
use zhongtai_kit::{Actor, TenantId};

use super::masking::MaskingRule;
use super::names::stored_names;
use super::row_filter::RowFilter;
use super::validation::length_problem;

/// Longest purpose, in characters.
pub const MAX_PURPOSE_CHARS: usize = 2000;

/// Where a request stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AccessRequestState {
    PendingApproval,
    Approved,
    Rejected,
    Withdrawn,
}
stored_names!(AccessRequestState {
    PendingApproval => "pending_approval",
    Approved => "approved",
    Rejected => "rejected",
    Withdrawn => "withdrawn",
});

/// One field granted (or asked for) and how its values are masked; `None`
/// delivers them unmasked.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct FieldAccess {
    pub field: String,
    pub masking: Option<MaskingRule>,
}

/// A half-open interval of use, `[start, end)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Period {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
}

/// A stored access request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessRequest {
    pub id: Uuid,
    /// The requester's idempotency key.
    pub request_id: String,
    pub resource_id: Uuid,
    pub resource_version: i64,
    /// Owner of the resource: it reviews the request.
    pub owner: TenantId,
    pub requester: TenantId,
    /// Who will receive the data (the requester unless it named another).
    pub grantee: TenantId,
    /// The fields with the masking that will apply: the stricter of the
    /// requested one and the resource's default.
    pub fields: Vec<FieldAccess>,
    pub purpose: String,
    pub period: Period,
    pub row_filter: RowFilter,
    pub state: AccessRequestState,
    /// The approval-center application deciding it, once raised.
    pub application_id: Option<String>,
    pub grant_id: Option<Uuid>,
    pub requested_by: Actor,
    pub decision_reason: String,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl AccessRequest {
    fn changed(&self, now: DateTime<Utc>) -> Self {
        Self {
            version: self.version + 1,
            updated_at: now,
            ..self.clone()
        }
    }

    /// The request with its application recorded.
    pub fn with_application(&self, application_id: &str, now: DateTime<Utc>) -> Self {
        Self {
            application_id: Some(application_id.to_string()),
            ..self.changed(now)
        }
    }

    pub fn approved(&self, grant_id: Uuid, now: DateTime<Utc>) -> Self {
        Self {
            state: AccessRequestState::Approved,
            grant_id: Some(grant_id),
            ..self.changed(now)
        }
    }

    pub fn rejected(&self, reason: &str, now: DateTime<Utc>) -> Self {
        Self {
            state: AccessRequestState::Rejected,
            decision_reason: reason.to_string(),
            ..self.changed(now)
        }
    }

    pub fn withdrawn(&self, reason: &str, now: DateTime<Utc>) -> Self {
        Self {
            state: AccessRequestState::Withdrawn,
            decision_reason: reason.to_string(),
            ..self.changed(now)
        }
    }

    pub fn is_pending(&self) -> bool {
        self.state == AccessRequestState::PendingApproval
    }
}

/// A withdrawal reason's problem, if any.
pub fn reason_problem(reason: &str) -> Option<String> {
    length_problem(reason, MAX_PURPOSE_CHARS)
}
