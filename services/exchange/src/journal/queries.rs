//! Reading the journal and, read-only, the lines and subscriptions it
//! reports on.
//!
//! The journal's tables belong to lines, not tenants: requests reach them
//! only after the handlers decided which line and subscriptions the caller
//! may see (see `api`), and the periodic work is the platform's own.
#![allow(clippy::disallowed_methods)]

use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use uuid::Uuid;
use zhongtai_kit::{ScopedEntity, SystemPurpose, TenantId};

use super::entities::{journal_change, journal_delivery, reconciliation_report};
use super::record::stored_position;
use crate::domain::ExchangeError;
use crate::domain::policy::DeliveryPolicy;
use crate::domain::reconciliation::{CapturedEntry, DeliveryEntry, Window};
use crate::domain::subscription::SubscriptionState;
use crate::store::entities::{line, line_runtime, subscription};

/// Most journal rows one report reads; a busier window must be asked for
/// in shorter pieces.
pub const MAX_WINDOW_ROWS: u64 = 2_000_000;

const PURPOSE: SystemPurpose = SystemPurpose("journal: reconciliation and traces");

fn storage(error: impl std::fmt::Display + 'static) -> ExchangeError {
    ExchangeError::storage(error)
}

fn corrupt(what: &str, id: &str) -> ExchangeError {
    ExchangeError::Storage(format!("journal: bad {what} in {id}"))
}

/// What the journal needs to know of a line.
#[derive(Debug, Clone)]
pub struct LineInfo {
    pub id: Uuid,
    pub owner: TenantId,
    /// Log lines read LSNs; push and enclave lines sequences.
    pub reads_log: bool,
}

/// What the journal needs to know of a subscription.
#[derive(Debug, Clone)]
pub struct SubscriptionInfo {
    pub id: Uuid,
    pub subscriber: TenantId,
    /// Applied into an enclave.
    pub applies: bool,
    pub delivered_position: u64,
    pub state: SubscriptionState,
    pub policy: DeliveryPolicy,
    pub created_at: DateTime<Utc>,
}

pub async fn line(
    db: &DatabaseConnection,
    line_id: Uuid,
) -> Result<Option<LineInfo>, ExchangeError> {
    let Some(row) = line::Entity::find_for_system(PURPOSE)
        .filter(line::Column::Id.eq(line_id.to_string()))
        .one(db)
        .await
        .map_err(storage)?
    else {
        return Ok(None);
    };
    let owner = TenantId::parse(&row.owner_division, &row.owner_department)
        .map_err(|_| corrupt("owner", &row.id))?;
    Ok(Some(LineInfo {
        id: line_id,
        owner,
        reads_log: row.source_kind == "log",
    }))
}

pub async fn subscriptions(
    db: &DatabaseConnection,
    line_id: Uuid,
) -> Result<Vec<SubscriptionInfo>, ExchangeError> {
    let rows = subscription::Entity::find_for_system(PURPOSE)
        .filter(subscription::Column::LineId.eq(line_id.to_string()))
        .order_by_asc(subscription::Column::Id)
        .all(db)
        .await
        .map_err(storage)?;
    rows.into_iter()
        .map(|row| {
            Ok(SubscriptionInfo {
                id: Uuid::parse_str(&row.id).map_err(|_| corrupt("id", &row.id))?,
                subscriber: TenantId::parse(&row.subscriber_division, &row.subscriber_department)
                    .map_err(|_| corrupt("subscriber", &row.id))?,
                applies: row.enclave_id.is_some(),
                delivered_position: u64::try_from(row.delivered_position).unwrap_or(0),
                state: SubscriptionState::from_name(&row.state)
                    .ok_or_else(|| corrupt("state", &row.id))?,
                policy: serde_json::from_str(&row.policy)
                    .map_err(|_| corrupt("policy", &row.id))?,
                created_at: row.created_at,
            })
        })
        .collect()
}

pub async fn confirmed_position(
    db: &DatabaseConnection,
    line_id: Uuid,
) -> Result<u64, ExchangeError> {
    let row = line_runtime::Entity::find_by_id(line_id.to_string())
        .one(db)
        .await
        .map_err(storage)?;
    Ok(row.map_or(0, |row| u64::try_from(row.confirmed_position).unwrap_or(0)))
}

fn too_many() -> ExchangeError {
    ExchangeError::precondition(format!(
        "the window holds more than {MAX_WINDOW_ROWS} journal entries; ask for a shorter one"
    ))
}

pub(crate) fn hash(text: &str) -> [u8; 32] {
    let mut hash = [0u8; 32];
    if hex::decode_to_slice(text, &mut hash).is_err() {
        return [0u8; 32];
    }
    hash
}

/// change id, position, commit and capture time, content hash.
type CapturedRow = (String, i64, DateTime<Utc>, DateTime<Utc>, String);

pub async fn captured_in(
    db: &DatabaseConnection,
    line_id: Uuid,
    window: &Window,
) -> Result<Vec<CapturedEntry>, ExchangeError> {
    use journal_change::Column;
    let rows: Vec<CapturedRow> = journal_change::Entity::find()
        .select_only()
        .columns([
            Column::ChangeId,
            Column::Position,
            Column::CommitAt,
            Column::CaptureAt,
            Column::ContentHash,
        ])
        .filter(Column::LineId.eq(line_id.to_string()))
        .filter(Column::CommitAt.gte(window.start))
        .filter(Column::CommitAt.lt(window.end))
        .limit(MAX_WINDOW_ROWS + 1)
        .into_tuple()
        .all(db)
        .await
        .map_err(storage)?;
    if rows.len() as u64 > MAX_WINDOW_ROWS {
        return Err(too_many());
    }
    Ok(rows
        .into_iter()
        .map(
            |(change_id, position, commit_at, capture_at, content_hash)| CapturedEntry {
                change_id,
                position: u64::try_from(position).unwrap_or(0),
                commit_at,
                capture_at,
                content_hash: hash(&content_hash),
            },
        )
        .collect())
}

pub fn delivery_entry(row: journal_delivery::Model) -> Option<DeliveryEntry> {
    Some(DeliveryEntry {
        subscription_id: Uuid::parse_str(&row.subscription_id).ok()?,
        content_hash: hash(&row.content_hash),
        change_id: row.change_id,
        position: u64::try_from(row.position).unwrap_or(0),
        commit_at: row.commit_at,
        filtered_out: row.filtered_out,
        published_at: row.published_at,
        delivered_at: row.delivered_at,
        applied_at: row.applied_at,
        attempts: u32::try_from(row.attempts).unwrap_or(0),
        effects: u32::try_from(row.effects).unwrap_or(0),
    })
}

pub async fn deliveries_in(
    db: &DatabaseConnection,
    line_id: Uuid,
    window: &Window,
    subscriptions: &[Uuid],
) -> Result<Vec<DeliveryEntry>, ExchangeError> {
    use journal_delivery::Column;
    if subscriptions.is_empty() {
        return Ok(Vec::new());
    }
    let rows = journal_delivery::Entity::find()
        .filter(Column::LineId.eq(line_id.to_string()))
        .filter(Column::CommitAt.gte(window.start))
        .filter(Column::CommitAt.lt(window.end))
        .filter(Column::SubscriptionId.is_in(subscriptions.iter().map(Uuid::to_string)))
        .limit(MAX_WINDOW_ROWS + 1)
        .all(db)
        .await
        .map_err(storage)?;
    if rows.len() as u64 > MAX_WINDOW_ROWS {
        return Err(too_many());
    }
    Ok(rows.into_iter().filter_map(delivery_entry).collect())
}

/// How a trace finds its changes.
#[derive(Debug, Clone)]
pub enum Locator {
    Key { table: String, key_json: String },
    Position(u64),
    ChangeId(String),
}

/// `<line id>:<position>:<index>`, the form `Change::change_id` gives.
fn parse_change_id(change_id: &str) -> Option<(Uuid, u64, u32)> {
    let mut parts = change_id.splitn(3, ':');
    let line = Uuid::parse_str(parts.next()?).ok()?;
    let position = parts.next()?.parse().ok()?;
    let index = parts.next()?.parse().ok()?;
    Some((line, position, index))
}

/// Most changes one trace returns.
pub const MAX_TRACED: u64 = 100;

pub async fn traced_changes(
    db: &DatabaseConnection,
    line_id: Uuid,
    locator: &Locator,
) -> Result<Vec<journal_change::Model>, ExchangeError> {
    use journal_change::Column;
    let query = journal_change::Entity::find().filter(Column::LineId.eq(line_id.to_string()));
    let query = match locator {
        Locator::Key { table, key_json } => query
            .filter(Column::TableName.eq(table.as_str()))
            .filter(Column::KeyJson.eq(key_json.as_str())),
        Locator::Position(position) => {
            query.filter(Column::Position.eq(stored_position(*position)))
        }
        Locator::ChangeId(change_id) => match parse_change_id(change_id) {
            Some((line, position, index)) if line == line_id => query
                .filter(Column::Position.eq(stored_position(position)))
                .filter(Column::Idx.eq(i64::from(index))),
            _ => return Ok(Vec::new()),
        },
    };
    query
        .order_by_desc(Column::Position)
        .order_by_desc(Column::Idx)
        .limit(MAX_TRACED)
        .all(db)
        .await
        .map_err(storage)
}

pub async fn deliveries_of(
    db: &DatabaseConnection,
    change_ids: &[String],
    subscriptions: &[Uuid],
) -> Result<Vec<journal_delivery::Model>, ExchangeError> {
    use journal_delivery::Column;
    if change_ids.is_empty() || subscriptions.is_empty() {
        return Ok(Vec::new());
    }
    journal_delivery::Entity::find()
        .filter(Column::ChangeId.is_in(change_ids.iter().cloned()))
        .filter(Column::SubscriptionId.is_in(subscriptions.iter().map(Uuid::to_string)))
        .order_by_asc(Column::SubscriptionId)
        .all(db)
        .await
        .map_err(storage)
}

/// Stored reports of a line, newest window first, starting before
/// `before` (the previous page's last window).
pub async fn reports(
    db: &DatabaseConnection,
    line_id: Uuid,
    verdict: Option<&str>,
    before: Option<DateTime<Utc>>,
    limit: u64,
) -> Result<Vec<reconciliation_report::Model>, ExchangeError> {
    use reconciliation_report::Column;
    let mut query = reconciliation_report::Entity::find()
        .filter(Column::LineId.eq(line_id.to_string()))
        .order_by_desc(Column::WindowStart)
        .limit(limit);
    if let Some(verdict) = verdict {
        query = query.filter(Column::Verdict.eq(verdict));
    }
    if let Some(before) = before {
        query = query.filter(Column::WindowStart.lt(before));
    }
    query.all(db).await.map_err(storage)
}
