//! Domain values ↔ table rows. A row that does not read back is
//! corruption, reported as a storage failure rather than a panic.

use chrono::{DateTime, Utc};
use sea_orm::{DbErr, SqlErr};
use uuid::Uuid;
use zhongtai_kit::TenantId;

use super::entities::{grant, line, line_runtime, subscription};
use crate::domain::ports::LineRuntime;
use crate::domain::{
    EnclaveTarget, ExchangeError, Grant, GrantState, Line, LineState, SnapshotProgress,
    Subscription, SubscriptionState,
};

pub(super) fn storage(e: impl std::fmt::Display + 'static) -> ExchangeError {
    ExchangeError::storage(e)
}

pub(super) fn is_unique_violation(e: &DbErr) -> bool {
    matches!(e.sql_err(), Some(SqlErr::UniqueConstraintViolation(_)))
}

pub(super) fn department(tenant: &TenantId) -> String {
    tenant.department.clone().unwrap_or_default()
}

/// Positions are u64 in the domain; LSNs and sequences stay below 2^63.
pub(super) fn position_column(position: u64) -> i64 {
    i64::try_from(position).unwrap_or(i64::MAX)
}

pub(super) fn position_value(stored: i64) -> u64 {
    u64::try_from(stored).unwrap_or(0)
}

fn uuid(
    value: &str,
    corrupt: impl Fn(&str) -> ExchangeError,
    what: &str,
) -> Result<Uuid, ExchangeError> {
    Uuid::parse_str(value).map_err(|_| corrupt(what))
}

fn optional_uuid(
    value: Option<&str>,
    corrupt: impl Fn(&str) -> ExchangeError,
    what: &str,
) -> Result<Option<Uuid>, ExchangeError> {
    match value {
        None | Some("") => Ok(None),
        Some(id) => uuid(id, corrupt, what).map(Some),
    }
}

pub(super) fn line_from_row(row: line::Model) -> Result<Line, ExchangeError> {
    let corrupt = |what: &str| ExchangeError::Storage(format!("line {}: bad {what}", row.id));
    Ok(Line {
        id: uuid(&row.id, corrupt, "id")?,
        owner: TenantId::parse(&row.owner_division, &row.owner_department)
            .map_err(|_| corrupt("owner"))?,
        state: LineState::from_name(&row.state).ok_or_else(|| corrupt("state"))?,
        source: serde_json::from_str(&row.source_spec).map_err(|_| corrupt("source_spec"))?,
        resource_id: optional_uuid(row.resource_id.as_deref(), corrupt, "resource_id")?,
        state_reason: row.state_reason,
        // Progress lives with the runner's positions (line_runtime).
        snapshot: SnapshotProgress::default(),
        name: row.name,
        description: row.description,
        version: row.version,
        created_at: row.created_at,
        updated_at: row.updated_at,
    })
}

pub(super) fn line_row(
    line: &Line,
    request_id: Option<String>,
) -> Result<line::Model, ExchangeError> {
    Ok(line::Model {
        id: line.id.to_string(),
        owner_division: line.owner.division.as_str().to_string(),
        owner_department: department(&line.owner),
        name: line.name.clone(),
        description: line.description.clone(),
        state: line.state.as_str().to_string(),
        resource_id: line.resource_id.map(|id| id.to_string()),
        version: line.version,
        created_at: line.created_at,
        updated_at: line.updated_at,
        source_kind: line.source.kind().to_string(),
        source_spec: serde_json::to_string(&line.source).map_err(storage)?,
        state_reason: line.state_reason.clone(),
        request_id,
    })
}

pub(super) fn runtime_from_row(row: &line_runtime::Model) -> Result<LineRuntime, ExchangeError> {
    Ok(LineRuntime {
        confirmed_position: position_value(row.confirmed_position),
        source_position: position_value(row.source_position),
        captured_total: row.captured_total,
        snapshot: snapshot_from_text(&row.snapshot)
            .map_err(|_| ExchangeError::Storage(format!("line {}: bad snapshot", row.line_id)))?,
        last_activity_at: row.last_activity_at,
        last_commit_at: row.last_commit_at,
        last_capture_at: row.last_capture_at,
    })
}

/// The migration's default `{}` reads as a pending snapshot.
fn snapshot_from_text(text: &str) -> Result<SnapshotProgress, serde_json::Error> {
    if text.trim() == "{}" || text.trim().is_empty() {
        return Ok(SnapshotProgress::default());
    }
    serde_json::from_str(text)
}

pub(super) fn snapshot_text(snapshot: &SnapshotProgress) -> Result<String, ExchangeError> {
    serde_json::to_string(snapshot).map_err(storage)
}

pub(super) fn new_runtime_row(
    line_id: Uuid,
    snapshot: &SnapshotProgress,
    now: DateTime<Utc>,
) -> Result<line_runtime::Model, ExchangeError> {
    Ok(line_runtime::Model {
        line_id: line_id.to_string(),
        confirmed_position: 0,
        source_position: 0,
        captured_total: 0,
        snapshot: snapshot_text(snapshot)?,
        last_activity_at: None,
        last_commit_at: None,
        last_capture_at: None,
        lease_owner: None,
        lease_until: None,
        updated_at: now,
        source_released_at: None,
    })
}

pub(super) fn subscription_from_row(
    row: subscription::Model,
) -> Result<Subscription, ExchangeError> {
    let corrupt =
        |what: &str| ExchangeError::Storage(format!("subscription {}: bad {what}", row.id));
    let enclave = match optional_uuid(row.enclave_id.as_deref(), corrupt, "enclave_id")? {
        Some(enclave_id) => Some(EnclaveTarget {
            enclave_id,
            table: row.enclave_table.clone().unwrap_or_default(),
        }),
        None => None,
    };
    Ok(Subscription {
        id: uuid(&row.id, corrupt, "id")?,
        line_id: uuid(&row.line_id, corrupt, "line_id")?,
        subscriber: TenantId::parse(&row.subscriber_division, &row.subscriber_department)
            .map_err(|_| corrupt("subscriber"))?,
        grant_id: optional_uuid(row.grant_id.as_deref(), corrupt, "grant_id")?,
        queue: row.queue.clone().filter(|q| !q.is_empty()),
        enclave,
        state: SubscriptionState::from_name(&row.state).ok_or_else(|| corrupt("state"))?,
        policy: serde_json::from_str(&row.policy).map_err(|_| corrupt("policy"))?,
        delivered_position: position_value(row.delivered_position),
        state_reason: row.state_reason,
        created_at: row.created_at,
        updated_at: row.updated_at,
    })
}

pub(super) fn subscription_row(
    subscription: &Subscription,
    request_id: Option<String>,
) -> Result<subscription::Model, ExchangeError> {
    Ok(subscription::Model {
        id: subscription.id.to_string(),
        line_id: subscription.line_id.to_string(),
        subscriber_division: subscription.subscriber.division.as_str().to_string(),
        subscriber_department: department(&subscription.subscriber),
        grant_id: subscription.grant_id.map(|id| id.to_string()),
        queue: subscription.queue.clone(),
        enclave_id: subscription
            .enclave
            .as_ref()
            .map(|target| target.enclave_id.to_string()),
        enclave_table: subscription
            .enclave
            .as_ref()
            .map(|target| target.table.clone()),
        state: subscription.state.as_str().to_string(),
        state_reason: subscription.state_reason.clone(),
        policy: serde_json::to_string(&subscription.policy).map_err(storage)?,
        delivered_position: position_column(subscription.delivered_position),
        last_delivered_commit_at: None,
        last_lag_ms: 0,
        request_id,
        created_at: subscription.created_at,
        updated_at: subscription.updated_at,
    })
}

pub(super) fn grant_from_row(row: grant::Model) -> Result<Grant, ExchangeError> {
    let corrupt = |what: &str| ExchangeError::Storage(format!("grant {}: bad {what}", row.id));
    Ok(Grant {
        id: uuid(&row.id, corrupt, "id")?,
        resource_id: uuid(&row.resource_id, corrupt, "resource_id")?,
        owner: TenantId::parse(&row.owner_division, &row.owner_department)
            .map_err(|_| corrupt("owner"))?,
        grantee: TenantId::parse(&row.grantee_division, &row.grantee_department)
            .map_err(|_| corrupt("grantee"))?,
        policy: serde_json::from_str(&row.policy).map_err(|_| corrupt("policy"))?,
        state: GrantState::from_name(&row.state).ok_or_else(|| corrupt("state"))?,
        valid_until: row.valid_until,
        version: row.version,
    })
}

pub(super) fn grant_row(grant: &Grant, now: DateTime<Utc>) -> Result<grant::Model, ExchangeError> {
    Ok(grant::Model {
        id: grant.id.to_string(),
        resource_id: grant.resource_id.to_string(),
        owner_division: grant.owner.division.as_str().to_string(),
        owner_department: department(&grant.owner),
        grantee_division: grant.grantee.division.as_str().to_string(),
        grantee_department: department(&grant.grantee),
        policy: serde_json::to_string(&grant.policy).map_err(storage)?,
        state: grant.state.as_str().to_string(),
        valid_until: grant.valid_until,
        version: grant.version,
        updated_at: now,
    })
}
