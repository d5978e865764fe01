//! Writing the journal: captured changes and their deliveries, in one
//! transaction, as multi-row inserts that tolerate being repeated.

use std::collections::HashMap;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, OnConflict, Query};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, DbErr};
use uuid::Uuid;

use super::entities::{journal_change, journal_delivery};
use super::keys::key_json;
use super::record_pg;
use crate::domain::{Change, DeliveryRecord, FlowError, Journal};

/// Rows per INSERT: 13 columns × 2000 stays below the bind-parameter
/// limits of PostgreSQL (65 535) and SQLite (32 766).
const ROWS_PER_INSERT: usize = 2000;

/// [`Journal`] on sea-orm.
pub struct SeaJournal {
    db: DatabaseConnection,
}

impl SeaJournal {
    pub fn new(db: DatabaseConnection) -> Self {
        Self { db }
    }
}

fn transient(error: DbErr) -> FlowError {
    FlowError::Transient(format!("journal: {error}"))
}

/// Positions are u64 at the source and i64 in the database; they stay
/// below 2^63 (LSNs, sequences).
pub(crate) fn stored_position(position: u64) -> i64 {
    i64::try_from(position).unwrap_or(i64::MAX)
}

#[async_trait]
impl Journal for SeaJournal {
    async fn record(
        &self,
        line_id: Uuid,
        captured: &[Change],
        deliveries: &[DeliveryRecord],
    ) -> Result<(), FlowError> {
        if captured.is_empty() && deliveries.is_empty() {
            return Ok(());
        }
        let txn = zhongtai_store::begin_write(&self.db)
            .await
            .map_err(transient)?;
        let mut merged = merge_repeats(deliveries);
        // A delivery is accounted in the window of its change's commit, the
        // same time the captured change is filed under.
        let commits: HashMap<String, DateTime<Utc>> = captured
            .iter()
            .map(|change| (change.change_id(), times_of(change).0))
            .collect();
        for row in &mut merged {
            if let Some(commit_at) = commits.get(&row.record.change_id) {
                row.commit_at = *commit_at;
            }
        }
        if txn.get_database_backend() == DbBackend::Postgres {
            record_pg::insert_changes(&txn, line_id, captured)
                .await
                .map_err(transient)?;
            record_pg::upsert_deliveries(&txn, line_id, &merged)
                .await
                .map_err(transient)?;
        } else {
            for chunk in captured.chunks(ROWS_PER_INSERT) {
                insert_changes(&txn, line_id, chunk)
                    .await
                    .map_err(transient)?;
            }
            for chunk in merged.chunks(ROWS_PER_INSERT) {
                upsert_deliveries(&txn, line_id, chunk)
                    .await
                    .map_err(transient)?;
            }
        }
        txn.commit().await.map_err(transient)
    }
}

async fn insert_changes<C: ConnectionTrait>(
    conn: &C,
    line_id: Uuid,
    changes: &[Change],
) -> Result<(), DbErr> {
    use journal_change::Column;
    let line = line_id.to_string();
    let mut insert = Query::insert();
    insert.into_table(journal_change::Entity).columns([
        Column::ChangeId,
        Column::LineId,
        Column::Position,
        Column::Idx,
        Column::TableName,
        Column::Operation,
        Column::KeyJson,
        Column::CommitAt,
        Column::CaptureAt,
        Column::ContentHash,
    ]);
    for change in changes {
        let (commit_at, capture_at) = times_of(change);
        insert
            .values([
                Expr::value(change.change_id()),
                Expr::value(line.clone()),
                Expr::value(stored_position(change.position)),
                Expr::value(i64::from(change.index)),
                Expr::value(change.table.clone()),
                Expr::value(change.operation.as_str()),
                Expr::value(key_json(&change.key)),
                Expr::value(commit_at),
                Expr::value(capture_at),
                Expr::value(hex::encode(change.content_hash())),
            ])
            .map_err(|e| DbErr::Custom(e.to_string()))?;
    }
    insert.on_conflict(
        OnConflict::columns([Column::LineId, Column::Position, Column::Idx])
            .do_nothing()
            .to_owned(),
    );
    conn.execute(&insert).await.map(|_| ())
}

/// Commit and capture time; a source that gives no commit time is
/// accounted at capture.
pub(super) fn times_of(change: &Change) -> (DateTime<Utc>, DateTime<Utc>) {
    let capture_at = change.hops.capture.unwrap_or_else(Utc::now);
    (change.hops.commit.unwrap_or(capture_at), capture_at)
}

/// One delivery row to write: a redelivery within one batch folds into the
/// first (a single statement may not touch a row twice).
#[derive(Debug, Clone)]
pub(super) struct DeliveryRow<'a> {
    pub record: &'a DeliveryRecord,
    pub attempts: i32,
    pub effects: i32,
    pub delivered_at: Option<DateTime<Utc>>,
    pub applied_at: Option<DateTime<Utc>>,
    pub commit_at: DateTime<Utc>,
}

impl DeliveryRow<'_> {
    /// Hex of the delivered content; empty when nothing was delivered.
    pub fn content_hash(&self) -> String {
        if self.record.filtered_out {
            String::new()
        } else {
            hex::encode(self.record.content_hash)
        }
    }
}

/// Whether an accepted change counts as an effect: only applied sinks can
/// tell (a queue consumer deduplicates on the change id, out of sight).
fn effect(record: &DeliveryRecord) -> i32 {
    record
        .accepted
        .is_some_and(|a| a.applied_at.is_some() && a.had_effect)
        .into()
}

fn merge_repeats(deliveries: &[DeliveryRecord]) -> Vec<DeliveryRow<'_>> {
    let mut rows: Vec<DeliveryRow<'_>> = Vec::with_capacity(deliveries.len());
    let mut seen: HashMap<(Uuid, &str), usize> = HashMap::with_capacity(deliveries.len());
    for record in deliveries {
        let accepted = record.accepted;
        match seen.get(&(record.subscription_id, record.change_id.as_str())) {
            Some(&at) => {
                let row = &mut rows[at];
                row.attempts += 1;
                row.effects += effect(record);
                row.delivered_at = row.delivered_at.or(accepted.and_then(|a| a.delivered_at));
                row.applied_at = row.applied_at.or(accepted.and_then(|a| a.applied_at));
            }
            None => {
                seen.insert(
                    (record.subscription_id, record.change_id.as_str()),
                    rows.len(),
                );
                rows.push(DeliveryRow {
                    record,
                    attempts: 1,
                    effects: effect(record),
                    delivered_at: accepted.and_then(|a| a.delivered_at),
                    applied_at: accepted.and_then(|a| a.applied_at),
                    commit_at: record.commit_time,
                });
            }
        }
    }
    rows
}

async fn upsert_deliveries<C: ConnectionTrait>(
    conn: &C,
    line_id: Uuid,
    rows: &[DeliveryRow<'_>],
) -> Result<(), DbErr> {
    use journal_delivery::Column;
    let line = line_id.to_string();
    let mut insert = Query::insert();
    insert.into_table(journal_delivery::Entity).columns([
        Column::SubscriptionId,
        Column::ChangeId,
        Column::LineId,
        Column::Position,
        Column::Idx,
        Column::CommitAt,
        Column::FilteredOut,
        Column::ContentHash,
        Column::PublishedAt,
        Column::DeliveredAt,
        Column::AppliedAt,
        Column::Attempts,
        Column::Effects,
    ]);
    for row in rows {
        let record = row.record;
        let content_hash = row.content_hash();
        insert
            .values([
                Expr::value(record.subscription_id.to_string()),
                Expr::value(record.change_id.clone()),
                Expr::value(line.clone()),
                Expr::value(stored_position(record.position)),
                Expr::value(i64::from(record.index)),
                Expr::value(row.commit_at),
                Expr::value(record.filtered_out),
                Expr::value(content_hash),
                Expr::value(record.accepted.map(|a| a.published_at)),
                Expr::value(row.delivered_at),
                Expr::value(row.applied_at),
                Expr::value(row.attempts),
                Expr::value(row.effects),
            ])
            .map_err(|e| DbErr::Custom(e.to_string()))?;
    }
    // A redelivery keeps the first timestamps, fills the ones still
    // missing, and counts as an attempt (and, if it changed the table
    // again, as a second effect).
    let keep_first = |column: &str| {
        Expr::cust(format!(
            r#"COALESCE("journal_deliveries"."{column}", "excluded"."{column}")"#
        ))
    };
    let add = |column: &str| {
        Expr::cust(format!(
            r#""journal_deliveries"."{column}" + "excluded"."{column}""#
        ))
    };
    insert.on_conflict(
        OnConflict::columns([Column::SubscriptionId, Column::ChangeId])
            .value(Column::PublishedAt, keep_first("published_at"))
            .value(Column::DeliveredAt, keep_first("delivered_at"))
            .value(Column::AppliedAt, keep_first("applied_at"))
            .value(Column::Attempts, add("attempts"))
            .value(Column::Effects, add("effects"))
            .to_owned(),
    );
    conn.execute(&insert).await.map(|_| ())
}

#[cfg(test)]
mod tests {
    use chrono::TimeDelta;

    use super::*;
    use crate::domain::Accepted;

    fn record(
        subscription: Uuid,
        position: u64,
        applied: bool,
        had_effect: bool,
    ) -> DeliveryRecord {
        let at = Utc::now();
        DeliveryRecord {
            subscription_id: subscription,
            change_id: format!("line:{position}:0"),
            position,
            index: 0,
            commit_time: at,
            filtered_out: false,
            content_hash: [1; 32],
            accepted: Some(Accepted {
                published_at: at,
                delivered_at: applied.then_some(at),
                applied_at: applied.then(|| at + TimeDelta::milliseconds(position as i64)),
                had_effect,
            }),
        }
    }

    #[test]
    fn repeats_within_a_batch_fold_into_one_row() {
        let (queue, enclave) = (Uuid::from_u128(1), Uuid::from_u128(2));
        let batch = [
            record(queue, 1, false, true),
            record(enclave, 1, true, true),
            record(queue, 1, false, true),
            record(enclave, 1, true, false),
            record(enclave, 2, true, true),
        ];
        let rows = merge_repeats(&batch);
        let summary: Vec<(Uuid, u64, i32, i32)> = rows
            .iter()
            .map(|r| {
                (
                    r.record.subscription_id,
                    r.record.position,
                    r.attempts,
                    r.effects,
                )
            })
            .collect();
        assert_eq!(
            summary,
            vec![(queue, 1, 2, 0), (enclave, 1, 2, 1), (enclave, 2, 1, 1)],
            "queue deliveries never count as effects; the guard-skipped repeat adds none"
        );
    }
}
