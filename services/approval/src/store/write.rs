//! What every write of the approval center shares: a change's events and
//! audit record go into the same transaction, and failures of the database
//! are storage errors for the log.

use sea_orm::{ConnectionTrait, DbErr, SqlErr};
use zhongtai_audit::AuditRecord;
use zhongtai_events::Event;
use zhongtai_kit::TenantId;

use crate::domain::ApprovalError;

/// The service name events and audit records carry.
const SOURCE: &str = "approval";

/// Appends a change's `events` to the outbox and its `audit` record, through
/// the transaction that makes the change.
pub(super) async fn record<C: ConnectionTrait>(
    txn: &C,
    events: Vec<Event>,
    audit: &AuditRecord,
) -> Result<(), ApprovalError> {
    zhongtai_events::outbox::append(txn, SOURCE, events)
        .await
        .map_err(storage)?;
    zhongtai_audit::append(txn, SOURCE, audit)
        .await
        .map_err(storage)
}

pub(super) fn storage(e: impl std::fmt::Display) -> ApprovalError {
    ApprovalError::Storage(e.to_string())
}

pub(super) fn is_unique_violation(e: &DbErr) -> bool {
    matches!(e.sql_err(), Some(SqlErr::UniqueConstraintViolation(_)))
}

pub(super) fn department(tenant: &TenantId) -> String {
    tenant.department.clone().unwrap_or_default()
}

pub(super) fn to_json<T: serde::Serialize>(value: &T) -> Result<serde_json::Value, ApprovalError> {
    serde_json::to_value(value).map_err(storage)
}
