//! Lines and subscriptions in their contract form, and back. Shared by the
//! API and the events the store publishes.

use std::time::Duration;

use zhongtai_contracts::exchange::v1 as pb;
use zhongtai_kit::proto::{tenant_message, timestamp};

use crate::convert::policy::{fields_message, row_filter_message};
use crate::domain::{
    EnclaveSourceSpec, Line, LineState, LogSourceSpec, PushSourceSpec, SnapshotProgress,
    SnapshotState, SourceSpec, SourceTable, Subscription, SubscriptionState,
};

use super::domain::definition::HEARTBEAT_DEFAULT_MS;

pub fn line_state_message(state: LineState) -> pb::LineState {
    match state {
        LineState::Provisioning => pb::LineState::Provisioning,
        LineState::Snapshotting => pb::LineState::Snapshotting,
        LineState::Streaming => pb::LineState::Streaming,
        LineState::Paused => pb::LineState::Paused,
        LineState::Failed => pb::LineState::Failed,
        LineState::Degraded => pb::LineState::Degraded,
        LineState::Deleted => pb::LineState::Deleted,
    }
}

/// The domain state of a contract state; `None` for UNSPECIFIED and values
/// the contract does not define.
pub fn line_state(value: i32) -> Option<LineState> {
    match pb::LineState::try_from(value).ok()? {
        pb::LineState::Unspecified => None,
        pb::LineState::Provisioning => Some(LineState::Provisioning),
        pb::LineState::Snapshotting => Some(LineState::Snapshotting),
        pb::LineState::Streaming => Some(LineState::Streaming),
        pb::LineState::Paused => Some(LineState::Paused),
        pb::LineState::Failed => Some(LineState::Failed),
        pb::LineState::Degraded => Some(LineState::Degraded),
        pb::LineState::Deleted => Some(LineState::Deleted),
    }
}

pub fn subscription_state_message(state: SubscriptionState) -> pb::SubscriptionState {
    match state {
        SubscriptionState::Active => pb::SubscriptionState::Active,
        SubscriptionState::Paused => pb::SubscriptionState::Paused,
        SubscriptionState::Revoked => pb::SubscriptionState::Revoked,
        SubscriptionState::Degraded => pb::SubscriptionState::Degraded,
        SubscriptionState::Deleted => pb::SubscriptionState::Deleted,
    }
}

fn snapshot_state_message(state: SnapshotState) -> pb::SnapshotState {
    match state {
        SnapshotState::Pending => pb::SnapshotState::Pending,
        SnapshotState::Running => pb::SnapshotState::Running,
        SnapshotState::Completed => pb::SnapshotState::Completed,
        SnapshotState::Failed => pb::SnapshotState::Failed,
        SnapshotState::Skipped => pb::SnapshotState::Skipped,
    }
}

pub fn duration_message(duration: Duration) -> prost_types::Duration {
    prost_types::Duration {
        seconds: i64::try_from(duration.as_secs()).unwrap_or(i64::MAX),
        nanos: i32::try_from(duration.subsec_nanos()).unwrap_or(0),
    }
}

pub fn millis_message(ms: i64) -> prost_types::Duration {
    duration_message(Duration::from_millis(u64::try_from(ms).unwrap_or(0)))
}

pub fn snapshot_message(snapshot: &SnapshotProgress) -> pb::SnapshotProgress {
    pb::SnapshotProgress {
        state: snapshot_state_message(snapshot.state) as i32,
        rows_done: snapshot.rows_done,
        rows_total: snapshot.rows_total,
        rows_per_second: snapshot.rows_per_second,
        eta: snapshot
            .eta_secs
            .filter(|secs| secs.is_finite() && *secs >= 0.0)
            .map(|secs| duration_message(Duration::from_secs_f64(secs.min(1e12)))),
        start_time: snapshot.started_at.map(timestamp),
        complete_time: snapshot.completed_at.map(timestamp),
        tables: snapshot
            .tables
            .iter()
            .map(|t| pb::TableSnapshotProgress {
                table: t.table.clone(),
                rows_done: t.rows_done,
                rows_total: t.rows_total,
                completed: t.completed,
            })
            .collect(),
        consistent_position: snapshot.consistent_position.clone(),
    }
}

fn table_message(table: &SourceTable) -> pb::SourceTable {
    pb::SourceTable {
        schema: table.schema.clone(),
        name: table.name.clone(),
        key_columns: table.key_columns.clone(),
    }
}

/// A contract table; an empty schema is `public`.
pub fn source_table(table: &pb::SourceTable) -> SourceTable {
    SourceTable {
        schema: if table.schema.is_empty() {
            "public".into()
        } else {
            table.schema.clone()
        },
        name: table.name.clone(),
        key_columns: table.key_columns.clone(),
    }
}

pub fn source_message(source: &SourceSpec) -> pb::line::Source {
    match source {
        SourceSpec::Log(log) => pb::line::Source::LogSource(pb::LogSource {
            connection_ref: log.connection_ref.clone(),
            publication: log.publication.clone(),
            slot: log.slot.clone(),
            tables: log.tables.iter().map(table_message).collect(),
            snapshot_mode: if log.snapshot {
                pb::SnapshotMode::Initial
            } else {
                pb::SnapshotMode::Never
            } as i32,
            heartbeat_interval: Some(duration_message(Duration::from_millis(
                log.heartbeat_interval_ms,
            ))),
        }),
        SourceSpec::Push(push) => pb::line::Source::PushSource(pb::PushSource {
            tables: push.tables.iter().map(table_message).collect(),
            producer_subject: push.producer_subject.clone(),
        }),
        SourceSpec::Enclave(enclave) => pb::line::Source::EnclaveSource(pb::EnclaveSource {
            enclave_id: enclave.enclave_id.to_string(),
            tables: enclave.tables.clone(),
        }),
    }
}

/// Milliseconds of a heartbeat interval; unset means the default, and a
/// negative or absurd value maps to 0 so the range rule reports it.
pub fn heartbeat_ms(interval: Option<&prost_types::Duration>) -> u64 {
    let Some(interval) = interval else {
        return HEARTBEAT_DEFAULT_MS;
    };
    if interval.seconds < 0 || interval.nanos < 0 {
        return 0;
    }
    u64::try_from(interval.seconds)
        .unwrap_or(0)
        .saturating_mul(1000)
        .saturating_add(u64::try_from(interval.nanos / 1_000_000).unwrap_or(0))
}

/// The domain source of a contract source; `Err((field, problem))` for
/// what cannot even be read (the rules check the rest).
pub fn source(source: &pb::line::Source) -> Result<SourceSpec, (String, String)> {
    Ok(match source {
        pb::line::Source::LogSource(log) => SourceSpec::Log(LogSourceSpec {
            connection_ref: log.connection_ref.clone(),
            publication: log.publication.clone(),
            slot: log.slot.clone(),
            tables: log.tables.iter().map(source_table).collect(),
            snapshot: match pb::SnapshotMode::try_from(log.snapshot_mode) {
                Ok(pb::SnapshotMode::Unspecified | pb::SnapshotMode::Initial) => true,
                Ok(pb::SnapshotMode::Never) => false,
                Err(_) => {
                    return Err((
                        "line.log_source.snapshot_mode".into(),
                        format!("{} is not a snapshot mode", log.snapshot_mode),
                    ));
                }
            },
            heartbeat_interval_ms: heartbeat_ms(log.heartbeat_interval.as_ref()),
        }),
        pb::line::Source::PushSource(push) => SourceSpec::Push(PushSourceSpec {
            tables: push.tables.iter().map(source_table).collect(),
            producer_subject: push.producer_subject.clone(),
        }),
        pb::line::Source::EnclaveSource(enclave) => SourceSpec::Enclave(EnclaveSourceSpec {
            enclave_id: if enclave.enclave_id.is_empty() {
                uuid::Uuid::nil()
            } else {
                uuid::Uuid::parse_str(&enclave.enclave_id)
                    .map_err(|e| ("line.enclave_source.enclave_id".to_string(), e.to_string()))?
            },
            tables: enclave.tables.clone(),
        }),
    })
}

/// The contract form of a line.
pub fn line_message(line: &Line) -> pb::Line {
    pb::Line {
        id: line.id.to_string(),
        owner: Some(tenant_message(&line.owner)),
        name: line.name.clone(),
        description: line.description.clone(),
        source: Some(source_message(&line.source)),
        state: line_state_message(line.state) as i32,
        state_reason: line.state_reason.clone(),
        snapshot: Some(snapshot_message(&line.snapshot)),
        resource_id: line
            .resource_id
            .map(|id| id.to_string())
            .unwrap_or_default(),
        version: line.version,
        create_time: Some(timestamp(line.created_at)),
        update_time: Some(timestamp(line.updated_at)),
    }
}

/// The contract form of a subscription.
pub fn subscription_message(subscription: &Subscription) -> pb::Subscription {
    pb::Subscription {
        id: subscription.id.to_string(),
        line_id: subscription.line_id.to_string(),
        subscriber: Some(tenant_message(&subscription.subscriber)),
        grant_id: subscription
            .grant_id
            .map(|id| id.to_string())
            .unwrap_or_default(),
        queue: subscription.queue.as_ref().map(|queue| pb::QueueDelivery {
            queue: queue.clone(),
        }),
        enclave: subscription
            .enclave
            .as_ref()
            .map(|target| pb::EnclaveDelivery {
                enclave_id: target.enclave_id.to_string(),
                table: target.table.clone(),
            }),
        state: subscription_state_message(subscription.state) as i32,
        state_reason: subscription.state_reason.clone(),
        fields: fields_message(&subscription.policy.fields),
        row_filter: Some(row_filter_message(&subscription.policy.row_filter)),
        delivered_position: subscription.delivered_position,
        create_time: Some(timestamp(subscription.created_at)),
        update_time: Some(timestamp(subscription.updated_at)),
    }
}
