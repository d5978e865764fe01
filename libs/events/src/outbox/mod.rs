//! The transactional outbox: services append events with the same
//! connection or transaction as their state change, so both commit or roll
//! back together. The [`Relay`](crate::Relay) publishes what committed.

pub(crate) mod entity;

use std::time::SystemTime;

use prost::Message as _;
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, Set};
use zhongtai_contracts::events::v1::EventEnvelope;
use zhongtai_store::statements::{STATEMENT_BYTES, chunks_within};

use crate::envelope::{Event, encode};
use crate::error::EventError;

/// Rows per INSERT statement: keeps the bind-parameter count far below the
/// limits of PostgreSQL (65 535) and SQLite (32 766).
const INSERT_CHUNK: usize = 500;

/// Longest routing key AMQP can carry (a short string).
const MAX_ROUTING_KEY_BYTES: usize = 255;

/// Inserts the events into the outbox table using the caller's connection or
/// transaction (so they commit or roll back with the state change). Assigns
/// UUIDv7 ids, occurred_at = now, the current trace context, `source`.
///
/// Append after the state change in the same transaction: the row locks the
/// change takes order concurrent writers of one subject, so their events get
/// increasing `seq` and are published in commit order. Returns the envelopes
/// exactly as they will be published.
pub async fn append<C: ConnectionTrait>(
    conn: &C,
    source: &str,
    events: Vec<Event>,
) -> Result<Vec<EventEnvelope>, EventError> {
    if events.is_empty() {
        return Ok(Vec::new());
    }
    for event in &events {
        validate_event_type(&event.event_type)?;
    }
    let occurred_at = prost_types::Timestamp::from(SystemTime::now());
    let created_at = chrono::Utc::now();
    let trace_context = zhongtai_telemetry::propagation::current_context_map();
    let envelopes: Vec<EventEnvelope> = events
        .into_iter()
        .map(|event| EventEnvelope {
            id: uuid::Uuid::now_v7().to_string(),
            r#type: event.event_type,
            tenant: event.tenant,
            source: source.to_owned(),
            subject: event.subject,
            occurred_at: Some(occurred_at),
            trace_context: trace_context.clone(),
            payload: Some(event.payload),
        })
        .collect();

    // Each row carries its envelope, and type, tenant and subject again.
    let row_bytes = |envelope: &EventEnvelope| {
        envelope.encoded_len()
            + envelope.r#type.len()
            + envelope.tenant.len()
            + envelope.subject.len()
            + 64
    };
    for chunk in chunks_within(&envelopes, INSERT_CHUNK, STATEMENT_BYTES, row_bytes) {
        let rows = chunk.iter().map(|envelope| entity::ActiveModel {
            seq: sea_orm::NotSet,
            id: Set(envelope.id.clone()),
            event_type: Set(envelope.r#type.clone()),
            tenant: Set(envelope.tenant.clone()),
            subject: Set(envelope.subject.clone()),
            envelope: Set(encode(envelope)),
            created_at: Set(created_at),
            published_at: Set(None),
            attempts: Set(0),
            last_error: Set(None),
        });
        entity::Entity::insert_many(rows)
            .exec_without_returning(conn)
            .await?;
    }
    for envelope in &envelopes {
        tracing::debug!(
            event.id = %envelope.id,
            event.r#type = %envelope.r#type,
            event.subject = %envelope.subject,
            "event appended to outbox"
        );
    }
    Ok(envelopes)
}

/// Number of events not yet confirmed by the broker (the relay's backlog).
pub async fn pending_count<C: ConnectionTrait>(conn: &C) -> Result<u64, EventError> {
    Ok(entity::Entity::find()
        .filter(entity::Column::PublishedAt.is_null())
        .count(conn)
        .await?)
}

/// Rejects event types the broker could not route: they would sit in the
/// outbox forever, so the service's transaction must fail instead.
fn validate_event_type(event_type: &str) -> Result<(), EventError> {
    let problem = if event_type.is_empty() {
        Some("is empty")
    } else if event_type.len() > MAX_ROUTING_KEY_BYTES {
        Some("is longer than 255 bytes")
    } else if event_type.split('.').any(str::is_empty) {
        Some("has an empty dot-separated word")
    } else if event_type.contains(['*', '#']) {
        Some("contains a topic wildcard")
    } else {
        None
    };
    match problem {
        Some(problem) => Err(EventError::InvalidEnvelope(format!(
            "event type {event_type:?} {problem}"
        ))),
        None => Ok(()),
    }
}

/// Marks the given events confirmed, in one statement.
pub(crate) async fn mark_published<C: ConnectionTrait>(
    conn: &C,
    ids: Vec<String>,
) -> Result<(), EventError> {
    if ids.is_empty() {
        return Ok(());
    }
    entity::Entity::update_many()
        .col_expr(entity::Column::PublishedAt, Expr::value(chrono::Utc::now()))
        .col_expr(
            entity::Column::Attempts,
            Expr::col(entity::Column::Attempts).add(1),
        )
        .col_expr(
            entity::Column::LastError,
            Expr::value(Option::<String>::None),
        )
        .filter(entity::Column::Id.is_in(ids))
        .exec(conn)
        .await?;
    Ok(())
}

/// Records a failed publish attempt on one event.
pub(crate) async fn record_failure<C: ConnectionTrait>(
    conn: &C,
    id: &str,
    error: &str,
) -> Result<(), EventError> {
    // Bounded so a huge error text never bloats the table.
    let error: String = error.chars().take(1000).collect();
    entity::Entity::update_many()
        .col_expr(
            entity::Column::Attempts,
            Expr::col(entity::Column::Attempts).add(1),
        )
        .col_expr(entity::Column::LastError, Expr::value(error))
        .filter(entity::Column::Id.eq(id))
        .exec(conn)
        .await?;
    Ok(())
}

/// Deletes events confirmed before `cutoff`; returns how many.
pub(crate) async fn delete_published_before<C: ConnectionTrait>(
    conn: &C,
    cutoff: chrono::DateTime<chrono::Utc>,
) -> Result<u64, EventError> {
    let result = entity::Entity::delete_many()
        .filter(entity::Column::PublishedAt.lt(cutoff))
        .exec(conn)
        .await?;
    Ok(result.rows_affected)
}

#[cfg(test)]
mod tests {
    use super::validate_event_type;

    #[test]
    fn event_types_must_be_routable() {
        assert!(validate_event_type("approval.application.approved").is_ok());
        assert!(validate_event_type("").is_err());
        assert!(validate_event_type("approval..approved").is_err());
        assert!(validate_event_type("approval.*.approved").is_err());
        assert!(validate_event_type("approval.#").is_err());
        assert!(validate_event_type(&"a".repeat(256)).is_err());
    }
}
