//! Audit records in the database: batched inserts from the writer, scoped
//! reads for the admin plane.

use std::time::Duration;

use sea_orm::{
    ActiveValue, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Select,
};
use uuid::Uuid;
use zhongtai_kit::{Page, PageQuery, ScopedEntity, TenantId};
use zhongtai_store::statements::{STATEMENT_BYTES, chunks_within};

use super::entity::{ActiveModel, Column, Entity, Model};
use super::query::{AuditFilter, AuditView, UsageBucket, UsageQuery, UsageTally};
use super::record::{CallOutcome, CallProtocol, CallRecord};
use crate::domain::GatewayError;

/// Rows per INSERT statement: 21 columns each stays well under SQLite's
/// 32,766 bound parameters (PostgreSQL allows 65,535).
pub const MAX_ROWS_PER_INSERT: usize = 1000;

/// Rows read per round trip while folding usage buckets.
const USAGE_CHUNK: u64 = 5000;

/// Most calls one usage query folds; beyond, the caller narrows the period.
const MAX_USAGE_CALLS: usize = 2_000_000;

/// The `call_audit` table.
#[derive(Clone)]
pub struct AuditStore {
    db: DatabaseConnection,
}

impl AuditStore {
    /// The audit table of `db`.
    pub fn new(db: DatabaseConnection) -> Self {
        Self { db }
    }

    /// Inserts `records`, in multi-row INSERTs of at most
    /// [`MAX_ROWS_PER_INSERT`] rows and [`STATEMENT_BYTES`]. A record whose
    /// id is stored already is skipped, so a batch retried after an unclear
    /// failure is not written twice.
    pub async fn insert_batch(&self, records: &[CallRecord]) -> Result<(), GatewayError> {
        for chunk in chunks_within(records, MAX_ROWS_PER_INSERT, STATEMENT_BYTES, stored_bytes) {
            Entity::insert_many(chunk.iter().map(active_model))
                .on_conflict_do_nothing()
                .exec_without_returning(&self.db)
                .await
                .map_err(GatewayError::storage)?;
        }
        Ok(())
    }

    /// One page of the records `view` sees, newest first.
    pub async fn list(
        &self,
        view: &AuditView,
        filter: &AuditFilter,
        page: &PageQuery,
    ) -> Result<Page<CallRecord>, GatewayError> {
        let mut query = visible(view).order_by_desc(Column::Id);
        if let Some(app_id) = filter.app_id {
            query = query.filter(Column::AppId.eq(app_id.to_string()));
        }
        if let Some(capability) = &filter.capability {
            query = query.filter(Column::Capability.eq(capability.as_str()));
        }
        if !filter.outcomes.is_empty() {
            query = query.filter(Column::Outcome.is_in(filter.outcomes.iter().map(|o| o.as_str())));
        }
        if let Some(start) = filter.period.start {
            query = query.filter(Column::Time.gte(start));
        }
        if let Some(end) = filter.period.end {
            query = query.filter(Column::Time.lt(end));
        }
        if let Some(trace_id) = &filter.trace_id {
            query = query.filter(Column::TraceId.eq(trace_id.as_str()));
        }
        if let Some(after) = &page.after {
            query = query.filter(Column::Id.lt(after.as_str()));
        }
        let rows = query
            .limit(page.fetch_limit())
            .all(&self.db)
            .await
            .map_err(GatewayError::storage)?;
        let records = rows
            .into_iter()
            .map(record_from_row)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Page::from_rows(records, page, |r| r.id.to_string()))
    }

    /// Usage buckets of the calls `view` sees that match `query`.
    pub async fn usage(
        &self,
        view: &AuditView,
        query: &UsageQuery,
    ) -> Result<Vec<UsageBucket>, GatewayError> {
        let mut tally = UsageTally::new(query.granularity);
        let mut after: Option<String> = None;
        let mut folded = 0usize;
        loop {
            let mut select = visible(view)
                .filter(Column::AppId.eq(query.app_id.to_string()))
                .filter(Column::Time.gte(query.start))
                .filter(Column::Time.lt(query.end))
                .order_by_asc(Column::Id)
                .limit(USAGE_CHUNK);
            if let Some(capability) = &query.capability {
                select = select.filter(Column::Capability.eq(capability.as_str()));
            }
            if let Some(after) = &after {
                select = select.filter(Column::Id.gt(after.as_str()));
            }
            let rows = select.all(&self.db).await.map_err(GatewayError::storage)?;
            let Some(last) = rows.last() else { break };
            after = Some(last.id.clone());
            let full_chunk = rows.len() as u64 == USAGE_CHUNK;
            for row in rows {
                tally.add(&record_from_row(row)?);
            }
            folded += USAGE_CHUNK as usize;
            if folded > MAX_USAGE_CALLS {
                return Err(GatewayError::FailedPrecondition(format!(
                    "more than {MAX_USAGE_CALLS} calls in the period; shorten it or name a capability"
                )));
            }
            if !full_chunk {
                break;
            }
        }
        Ok(tally.finish())
    }
}

/// The rows `view` may read.
fn visible(view: &AuditView) -> Select<Entity> {
    match view {
        AuditView::Platform => every_tenants_calls(),
        AuditView::Sponsored(scope) => Entity::find_in(scope),
    }
}

/// The platform operator reads the calls of every sponsor's apps, and
/// those no app could be identified for.
#[allow(clippy::disallowed_methods)]
fn every_tenants_calls() -> Select<Entity> {
    Entity::find()
}

/// At most `max` characters, without NUL (which PostgreSQL text refuses):
/// a value the front door took from a request must never make a batch
/// unwritable.
fn fit(value: &str, max: usize) -> String {
    value.chars().filter(|&c| c != '\0').take(max).collect()
}

fn clamp_i64(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

/// Roughly what a record takes in an INSERT's parameters: its fixed-size
/// columns and its texts.
fn stored_bytes(record: &CallRecord) -> usize {
    let department = record
        .sponsor
        .as_ref()
        .and_then(|sponsor| sponsor.department.as_ref());
    160 + department.map_or(0, String::len)
        + [
            &record.app_key,
            &record.capability,
            &record.capability_version,
            &record.http_method,
            &record.path,
            &record.error_reason,
            &record.backend_instance,
            &record.trace_id,
            &record.client_ip,
        ]
        .iter()
        .map(|text| text.len())
        .sum::<usize>()
}

fn active_model(record: &CallRecord) -> ActiveModel {
    let (division, department) = match &record.sponsor {
        Some(sponsor) => (
            sponsor.division.to_string(),
            sponsor.department.clone().unwrap_or_default(),
        ),
        None => (String::new(), String::new()),
    };
    ActiveModel {
        id: ActiveValue::Set(record.id.to_string()),
        time: ActiveValue::Set(record.time),
        app_id: ActiveValue::Set(record.app_id.map(|id| id.to_string()).unwrap_or_default()),
        app_key: ActiveValue::Set(fit(&record.app_key, 64)),
        capability: ActiveValue::Set(fit(&record.capability, 100)),
        capability_version: ActiveValue::Set(fit(&record.capability_version, 32)),
        protocol: ActiveValue::Set(record.protocol.as_str().to_string()),
        http_method: ActiveValue::Set(fit(&record.http_method, 8)),
        path: ActiveValue::Set(fit(&record.path, 2048)),
        http_status: ActiveValue::Set(i32::from(record.http_status)),
        grpc_code: ActiveValue::Set(record.grpc_code),
        outcome: ActiveValue::Set(record.outcome.as_str().to_string()),
        error_reason: ActiveValue::Set(fit(&record.error_reason, 64)),
        latency_us: ActiveValue::Set(i64::try_from(record.latency.as_micros()).unwrap_or(i64::MAX)),
        request_bytes: ActiveValue::Set(clamp_i64(record.request_bytes)),
        response_bytes: ActiveValue::Set(clamp_i64(record.response_bytes)),
        backend_instance: ActiveValue::Set(fit(&record.backend_instance, 256)),
        trace_id: ActiveValue::Set(fit(&record.trace_id, 32)),
        client_ip: ActiveValue::Set(fit(&record.client_ip, 64)),
        sponsor_division: ActiveValue::Set(division),
        sponsor_department: ActiveValue::Set(department),
    }
}

/// A row that does not read back is corruption, reported as a storage
/// failure rather than a panic.
fn record_from_row(row: Model) -> Result<CallRecord, GatewayError> {
    let corrupt =
        |what: &str| GatewayError::Storage(format!("audit record {}: bad {what}", row.id));
    let app_id = match row.app_id.as_str() {
        "" => None,
        id => Some(Uuid::parse_str(id).map_err(|_| corrupt("app_id"))?),
    };
    let sponsor = match row.sponsor_division.as_str() {
        "" => None,
        division => Some(
            TenantId::parse(division, &row.sponsor_department).map_err(|_| corrupt("sponsor"))?,
        ),
    };
    Ok(CallRecord {
        id: Uuid::parse_str(&row.id).map_err(|_| corrupt("id"))?,
        time: row.time,
        app_id,
        sponsor,
        protocol: CallProtocol::from_name(&row.protocol).ok_or_else(|| corrupt("protocol"))?,
        outcome: CallOutcome::from_name(&row.outcome).ok_or_else(|| corrupt("outcome"))?,
        http_status: u16::try_from(row.http_status).map_err(|_| corrupt("http_status"))?,
        grpc_code: row.grpc_code,
        latency: Duration::from_micros(u64::try_from(row.latency_us).unwrap_or(0)),
        request_bytes: u64::try_from(row.request_bytes).unwrap_or(0),
        response_bytes: u64::try_from(row.response_bytes).unwrap_or(0),
        app_key: row.app_key,
        capability: row.capability,
        capability_version: row.capability_version,
        http_method: row.http_method,
        path: row.path,
        error_reason: row.error_reason,
        backend_instance: row.backend_instance,
        trace_id: row.trace_id,
        client_ip: row.client_ip,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_text_is_cut_to_its_column() {
        assert_eq!(fit("GET\0", 8), "GET");
        assert_eq!(fit("证照核验证照核验证照", 4), "证照核验");
        let mut call = CallRecord::arrived(
            chrono::Utc::now(),
            CallProtocol::HttpJson,
            CallOutcome::RejectedInvalid,
        );
        call.http_method = "X".repeat(100);
        call.trace_id = "f".repeat(64);
        let row = active_model(&call);
        assert_eq!(row.http_method, ActiveValue::Set("X".repeat(8)));
        assert_eq!(row.trace_id, ActiveValue::Set("f".repeat(32)));
        assert_eq!(row.app_id, ActiveValue::Set(String::new()));
    }
}
