//! The journal's writes on PostgreSQL: each chunk travels as one JSON
//! parameter that the server unpacks with `json_to_recordset`, instead of
//! thousands of bind parameters, which is several times faster to encode,
//! send and parse. Chunks are cut by size
//! ([`zhongtai_store::statements`]): a statement above the client's stall
//! threshold would wait ~40 ms on the wire.

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DbBackend, DbErr, Statement};
use serde::Serialize;
use uuid::Uuid;

use zhongtai_store::statements::{STATEMENT_BYTES, chunks_within};

use super::keys::key_json;
use super::record::{DeliveryRow, stored_position, times_of};
use crate::domain::Change;

#[derive(Serialize)]
struct ChangeJson<'a> {
    change_id: String,
    line_id: &'a str,
    position: i64,
    idx: u32,
    table_name: &'a str,
    operation: &'static str,
    key_json: String,
    commit_at: DateTime<Utc>,
    capture_at: DateTime<Utc>,
    content_hash: String,
}

const INSERT_CHANGES: &str = r#"
INSERT INTO journal_changes
    (change_id, line_id, position, idx, table_name, operation, key_json, commit_at, capture_at, content_hash)
SELECT change_id, line_id, position, idx, table_name, operation, key_json, commit_at, capture_at, content_hash
FROM json_to_recordset($1::json) AS r(
    change_id text, line_id text, position bigint, idx integer, table_name text, operation text,
    key_json text, commit_at timestamptz, capture_at timestamptz, content_hash text)
ON CONFLICT (line_id, position, idx) DO NOTHING"#;

pub async fn insert_changes<C: ConnectionTrait>(
    conn: &C,
    line_id: Uuid,
    changes: &[Change],
) -> Result<(), DbErr> {
    let line = line_id.to_string();
    let rows: Vec<ChangeJson<'_>> = changes
        .iter()
        .map(|change| {
            let (commit_at, capture_at) = times_of(change);
            ChangeJson {
                change_id: change.change_id(),
                line_id: &line,
                position: stored_position(change.position),
                idx: change.index,
                table_name: &change.table,
                operation: change.operation.as_str(),
                key_json: key_json(&change.key),
                commit_at,
                capture_at,
                content_hash: hex::encode(change.content_hash()),
            }
        })
        .collect();
    execute(conn, INSERT_CHANGES, &rows).await
}

#[derive(Serialize)]
struct DeliveryJson<'a> {
    subscription_id: String,
    change_id: &'a str,
    line_id: &'a str,
    position: i64,
    idx: u32,
    commit_at: DateTime<Utc>,
    filtered_out: bool,
    content_hash: String,
    published_at: Option<DateTime<Utc>>,
    delivered_at: Option<DateTime<Utc>>,
    applied_at: Option<DateTime<Utc>>,
    attempts: i32,
    effects: i32,
}

/// As the portable upsert: first timestamps kept, missing ones filled,
/// attempts and effects added up.
const UPSERT_DELIVERIES: &str = r#"
INSERT INTO journal_deliveries
    (subscription_id, change_id, line_id, position, idx, commit_at, filtered_out, content_hash,
     published_at, delivered_at, applied_at, attempts, effects)
SELECT subscription_id, change_id, line_id, position, idx, commit_at, filtered_out, content_hash,
       published_at, delivered_at, applied_at, attempts, effects
FROM json_to_recordset($1::json) AS r(
    subscription_id text, change_id text, line_id text, position bigint, idx integer,
    commit_at timestamptz, filtered_out boolean, content_hash text, published_at timestamptz,
    delivered_at timestamptz, applied_at timestamptz, attempts integer, effects integer)
ON CONFLICT (subscription_id, change_id) DO UPDATE SET
    published_at = COALESCE(journal_deliveries.published_at, excluded.published_at),
    delivered_at = COALESCE(journal_deliveries.delivered_at, excluded.delivered_at),
    applied_at = COALESCE(journal_deliveries.applied_at, excluded.applied_at),
    attempts = journal_deliveries.attempts + excluded.attempts,
    effects = journal_deliveries.effects + excluded.effects"#;

pub async fn upsert_deliveries<C: ConnectionTrait>(
    conn: &C,
    line_id: Uuid,
    rows: &[DeliveryRow<'_>],
) -> Result<(), DbErr> {
    let line = line_id.to_string();
    let rows: Vec<DeliveryJson<'_>> = rows
        .iter()
        .map(|row| {
            let record = row.record;
            DeliveryJson {
                subscription_id: record.subscription_id.to_string(),
                change_id: &record.change_id,
                line_id: &line,
                position: stored_position(record.position),
                idx: record.index,
                commit_at: row.commit_at,
                filtered_out: record.filtered_out,
                content_hash: row.content_hash(),
                published_at: record.accepted.map(|a| a.published_at),
                delivered_at: row.delivered_at,
                applied_at: row.applied_at,
                attempts: row.attempts,
                effects: row.effects,
            }
        })
        .collect();
    execute(conn, UPSERT_DELIVERIES, &rows).await
}

/// Rows per statement at most, however small.
const MAX_ROWS_PER_STATEMENT: usize = 10_000;

/// Runs `sql` once per size-bounded chunk of `rows`, each chunk a JSON array.
async fn execute<C: ConnectionTrait, T: Serialize>(
    conn: &C,
    sql: &str,
    rows: &[T],
) -> Result<(), DbErr> {
    let encoded = rows
        .iter()
        .map(serde_json::to_string)
        .collect::<Result<Vec<String>, _>>()
        .map_err(|e| DbErr::Custom(e.to_string()))?;
    for chunk in chunks_within(&encoded, MAX_ROWS_PER_STATEMENT, STATEMENT_BYTES, |row| {
        row.len() + 1
    }) {
        let json = format!("[{}]", chunk.join(","));
        conn.execute_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            sql,
            [json.into()],
        ))
        .await?;
    }
    Ok(())
}
