//! What every write of the approval center shares: a change's events and
//! audit record go into the same transaction, and failures of the database
//! are storage errors for the log.

use std::future::Future;

use sea_orm::{
    ActiveModelBehavior, ActiveModelTrait, ConnectionTrait, DatabaseConnection, DbErr, EntityTrait,
    IntoActiveModel, SqlErr,
};
use tokio::sync::Notify;
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
        .map_err(|e| storage_behind(e.database(), &e))?;
    zhongtai_audit::append(txn, SOURCE, audit)
        .await
        .map_err(|e| storage_behind(e.database(), &e))
}

/// Inserts the row an idempotent create makes, with its `events` and
/// `audit` record, and pokes the relay. `Ok(None)`: inserted. A unique
/// violation means either a concurrent request with the same request id
/// won the race (`Ok(Some(what it created))`, found by `created_before`)
/// or the natural key is taken (`taken()`).
pub(super) async fn insert_once<A, T, Found>(
    db: &DatabaseConnection,
    outbox: &Notify,
    row: A,
    events: Vec<Event>,
    audit: &AuditRecord,
    created_before: impl FnOnce() -> Found,
    taken: impl FnOnce() -> ApprovalError,
) -> Result<Option<T>, ApprovalError>
where
    A: ActiveModelTrait + ActiveModelBehavior + Send,
    <A::Entity as EntityTrait>::Model: IntoActiveModel<A>,
    Found: Future<Output = Result<Option<T>, ApprovalError>>,
{
    let txn = zhongtai_store::begin_write(db).await.map_err(storage)?;
    match row.insert(&txn).await {
        Ok(_) => {}
        Err(e) if is_unique_violation(&e) => {
            drop(txn);
            return created_before().await?.map(Some).ok_or_else(taken);
        }
        Err(e) => return Err(storage(e)),
    }
    record(&txn, events, audit).await?;
    txn.commit().await.map_err(storage)?;
    outbox.notify_one();
    Ok(None)
}

/// A database failure as the domain sees it: unavailable (worth a retry)
/// or a plain storage failure.
pub(super) fn storage(e: DbErr) -> ApprovalError {
    storage_behind(Some(&e), &e)
}

/// A failure of a library writing through the transaction (outbox, audit
/// log), judged by the database error behind it.
fn storage_behind(database: Option<&DbErr>, e: &dyn std::fmt::Display) -> ApprovalError {
    if database.is_some_and(zhongtai_store::is_unavailable) {
        ApprovalError::StorageUnavailable(e.to_string())
    } else {
        storage_failure(e)
    }
}

/// Stored data or a write that cannot be what it should (a bad document, a
/// failed outbox append): the cause is for the log.
pub(super) fn storage_failure(e: impl std::fmt::Display) -> ApprovalError {
    ApprovalError::Storage(e.to_string())
}

pub(super) fn is_unique_violation(e: &DbErr) -> bool {
    matches!(e.sql_err(), Some(SqlErr::UniqueConstraintViolation(_)))
}

pub(super) fn department(tenant: &TenantId) -> String {
    tenant.department.clone().unwrap_or_default()
}

pub(super) fn to_json<T: serde::Serialize>(value: &T) -> Result<serde_json::Value, ApprovalError> {
    serde_json::to_value(value).map_err(storage_failure)
}
