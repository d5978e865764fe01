//! Recording an action: one pending `audit_log` row plus its outbox event,
//! written through the caller's connection so they commit with the action.

use std::time::SystemTime;

use chrono::SubsecRound;
use sea_orm::{ConnectionTrait, DatabaseConnection, EntityTrait, NotSet, Set};
use zhongtai_contracts::events::v1::RecordAppended;
use zhongtai_events::{Event, outbox};

use crate::entity::audit_log;
use crate::{AuditError, AuditRecord, RECORD_APPENDED};

/// Appends `record` through the caller's connection or transaction: one
/// unsealed `audit_log` row and one `audit.record.appended` outbox event
/// (tenant = the record's tenant, subject = the record id), both committing
/// or rolling back with the caller's state change. `source` is the service
/// name the event carries.
pub async fn append<C: ConnectionTrait>(
    conn: &C,
    source: &str,
    record: &AuditRecord,
) -> Result<(), AuditError> {
    // Databases keep microseconds; storing exactly that makes the row, the
    // event and the hash agree even for a record built by hand.
    let at = record.at.trunc_subsecs(6);
    let row = audit_log::ActiveModel {
        id: NotSet,
        record_id: Set(record.id),
        at: Set(at),
        actor: Set(record.actor.clone()),
        tenant: Set(record.tenant.clone()),
        action: Set(record.action.clone()),
        target: Set(record.target.clone()),
        outcome: Set(record.outcome.as_str().to_owned()),
        reason: Set(record.reason.clone()),
        trace_id: Set(record.trace_id.clone()),
        peer: Set(record.peer.clone()),
        seq: Set(None),
        prev_hash: Set(None),
        hash: Set(None),
        sealed_at: Set(None),
    };
    audit_log::Entity::insert(row)
        .exec_without_returning(conn)
        .await?;

    let payload = RecordAppended {
        id: record.id.to_string(),
        time: Some(prost_types::Timestamp::from(SystemTime::from(at))),
        actor: record.actor.clone(),
        tenant: record.tenant.clone(),
        action: record.action.clone(),
        target: record.target.clone(),
        outcome: record.outcome.to_proto().into(),
        reason: record.reason.clone(),
        trace_id: record.trace_id.clone(),
        peer: record.peer.clone(),
    };
    let event = Event::new(
        RECORD_APPENDED,
        record.tenant.clone(),
        record.id.to_string(),
        &payload,
    );
    outbox::append(conn, source, vec![event]).await?;
    tracing::debug!(
        audit.record_id = %record.id,
        audit.action = %record.action,
        audit.outcome = record.outcome.as_str(),
        "audit record appended"
    );
    Ok(())
}

/// [`append`] in a transaction of its own, for actions that change nothing
/// else (a denial).
pub async fn append_alone(
    db: &DatabaseConnection,
    source: &str,
    record: &AuditRecord,
) -> Result<(), AuditError> {
    let txn = zhongtai_store::begin_write(db).await?;
    append(&txn, source, record).await?;
    txn.commit().await?;
    Ok(())
}
