//! Scans in the database: written in bulk (insert-or-ignore on the scan
//! id), read by venue or by holder within a window, oldest first.

use std::collections::HashSet;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, OnConflict, Query};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, QueryFilter, QueryOrder,
    QuerySelect,
};
use uuid::Uuid;
use zhongtai_credential::{CodeKind, HolderStatus};
use zhongtai_kit::{Page, PageQuery, ScopedEntity, TenantId, TenantScope};

use super::entities::venue_scan::{Column, Entity, Model};
use super::write::{actor_json, corrupt, department, holder_json, storage};
use crate::codes::domain::model::{CodeOutcome, ScanRecord};
use crate::codes::domain::ports::{ScanRepository, Window};
use crate::shared::CertificateError;

const COLUMNS: [Column; 14] = [
    Column::ScanId,
    Column::TenantDivision,
    Column::TenantDepartment,
    Column::VenueId,
    Column::CodeId,
    Column::CodeKind,
    Column::HolderKey,
    Column::Holder,
    Column::Outcome,
    Column::HolderStatus,
    Column::ScanTimeUs,
    Column::RecordTimeUs,
    Column::DeviceId,
    Column::ScannedBy,
];

/// Rows per INSERT: keeps the bind parameters (rows × columns) well under
/// both databases' limits (PostgreSQL 65,535; SQLite 32,766).
const MAX_ROWS_PER_INSERT: usize = 2_000;

/// Inserts `scans`, ignoring scan ids already recorded, in one
/// transaction; returns the ids it inserted.
pub async fn insert_scans(
    db: &DatabaseConnection,
    scans: &[ScanRecord],
) -> Result<HashSet<Uuid>, CertificateError> {
    let mut inserted = HashSet::with_capacity(scans.len());
    if scans.len() <= MAX_ROWS_PER_INSERT {
        insert_chunk(db, scans, &mut inserted).await?;
        return Ok(inserted);
    }
    let txn = zhongtai_store::begin_write(db).await.map_err(storage)?;
    for chunk in scans.chunks(MAX_ROWS_PER_INSERT) {
        insert_chunk(&txn, chunk, &mut inserted).await?;
    }
    txn.commit().await.map_err(storage)?;
    Ok(inserted)
}

async fn insert_chunk<C: ConnectionTrait>(
    db: &C,
    scans: &[ScanRecord],
    inserted: &mut HashSet<Uuid>,
) -> Result<(), CertificateError> {
    let mut insert = Query::insert();
    insert.into_table(Entity).columns(COLUMNS);
    for scan in scans {
        insert.values(row_values(scan)?).map_err(storage)?;
    }
    insert
        .on_conflict(OnConflict::column(Column::ScanId).do_nothing().to_owned())
        .returning_col(Column::ScanId);
    let rows = db.query_all(&insert).await.map_err(storage)?;
    for row in rows {
        let id: String = row.try_get("", "scan_id").map_err(storage)?;
        inserted.insert(Uuid::parse_str(&id).map_err(|_| corrupt("scan", &id, "id"))?);
    }
    Ok(())
}

fn row_values(scan: &ScanRecord) -> Result<Vec<Expr>, CertificateError> {
    let holder = scan.holder.as_ref().map(holder_json).transpose()?;
    Ok(vec![
        Expr::value(scan.scan_id.to_string()),
        Expr::value(scan.tenant.division.to_string()),
        Expr::value(department(&scan.tenant)),
        Expr::value(scan.venue_id.to_string()),
        Expr::value(scan.code_id.clone()),
        Expr::value(scan.code_kind.map_or("", CodeKind::as_str)),
        Expr::value(scan.holder_key.clone()),
        Expr::value(holder),
        Expr::value(scan.outcome.as_str()),
        Expr::value(scan.holder_status.map_or("", HolderStatus::as_str)),
        Expr::value(scan.scan_time.timestamp_micros()),
        Expr::value(scan.record_time.timestamp_micros()),
        Expr::value(scan.device_id.clone()),
        Expr::value(actor_json(&scan.scanned_by)?),
    ])
}

pub struct SeaScans {
    db: DatabaseConnection,
}

impl SeaScans {
    pub fn new(db: DatabaseConnection) -> Self {
        Self { db }
    }

    async fn page(
        &self,
        query: sea_orm::Select<Entity>,
        window: Window,
        page: &PageQuery,
    ) -> Result<Page<ScanRecord>, CertificateError> {
        let mut query = query
            .filter(Column::ScanTimeUs.gte(window.start.timestamp_micros()))
            .filter(Column::ScanTimeUs.lt(window.end.timestamp_micros()))
            .order_by_asc(Column::ScanTimeUs)
            .order_by_asc(Column::ScanId);
        if let Some(after) = &page.after {
            let (time, id) = parse_cursor(after).ok_or_else(|| {
                CertificateError::invalid("page.page_token", "is not a token this API issued")
            })?;
            query = query.filter(
                Condition::any().add(Column::ScanTimeUs.gt(time)).add(
                    Condition::all()
                        .add(Column::ScanTimeUs.eq(time))
                        .add(Column::ScanId.gt(id)),
                ),
            );
        }
        let scans = query
            .limit(page.fetch_limit())
            .all(&self.db)
            .await
            .map_err(storage)?
            .into_iter()
            .map(from_row)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Page::from_rows(scans, page, |scan| {
            format!("{}/{}", scan.scan_time.timestamp_micros(), scan.scan_id)
        }))
    }
}

fn parse_cursor(cursor: &str) -> Option<(i64, String)> {
    let (time, id) = cursor.split_once('/')?;
    Some((time.parse().ok()?, Uuid::parse_str(id).ok()?.to_string()))
}

#[async_trait]
impl ScanRepository for SeaScans {
    async fn get(
        &self,
        scope: &TenantScope,
        scan_id: Uuid,
    ) -> Result<Option<ScanRecord>, CertificateError> {
        Entity::find_in(scope)
            .filter(Column::ScanId.eq(scan_id.to_string()))
            .one(&self.db)
            .await
            .map_err(storage)?
            .map(from_row)
            .transpose()
    }

    async fn at_venue(
        &self,
        scope: &TenantScope,
        venue_id: Uuid,
        window: Window,
        page: &PageQuery,
    ) -> Result<Page<ScanRecord>, CertificateError> {
        let query = Entity::find_in(scope).filter(Column::VenueId.eq(venue_id.to_string()));
        self.page(query, window, page).await
    }

    async fn of_holder(
        &self,
        scope: &TenantScope,
        holder_key: &str,
        own: bool,
        window: Window,
        page: &PageQuery,
    ) -> Result<Page<ScanRecord>, CertificateError> {
        // A holder's own scans are theirs to see, whichever tenant's venue
        // recorded them.
        let query = if own {
            Entity::find_in_or_shared(
                scope,
                Condition::all().add(Column::HolderKey.eq(holder_key)),
            )
        } else {
            Entity::find_in(scope)
        };
        let query = query.filter(Column::HolderKey.eq(holder_key));
        self.page(query, window, page).await
    }
}

fn from_row(row: Model) -> Result<ScanRecord, CertificateError> {
    let bad = |what| corrupt("scan", &row.scan_id, what);
    let micros =
        |us: i64, what| DateTime::<Utc>::from_timestamp_micros(us).ok_or_else(|| bad(what));
    Ok(ScanRecord {
        scan_id: Uuid::parse_str(&row.scan_id).map_err(|_| bad("id"))?,
        tenant: TenantId::parse(&row.tenant_division, &row.tenant_department)
            .map_err(|_| bad("tenant"))?,
        venue_id: Uuid::parse_str(&row.venue_id).map_err(|_| bad("venue id"))?,
        code_kind: match row.code_kind.as_str() {
            "" => None,
            kind => Some(CodeKind::from_name(kind).ok_or_else(|| bad("code kind"))?),
        },
        holder: row
            .holder
            .clone()
            .map(serde_json::from_value)
            .transpose()
            .map_err(|_| bad("holder"))?,
        outcome: CodeOutcome::from_name(&row.outcome).ok_or_else(|| bad("outcome"))?,
        holder_status: match row.holder_status.as_str() {
            "" => None,
            status => Some(HolderStatus::from_name(status).ok_or_else(|| bad("holder status"))?),
        },
        scan_time: micros(row.scan_time_us, "scan time")?,
        record_time: micros(row.record_time_us, "record time")?,
        scanned_by: serde_json::from_value(row.scanned_by.clone())
            .map_err(|_| bad("scanned_by"))?,
        code_id: row.code_id,
        holder_key: row.holder_key,
        device_id: row.device_id,
    })
}
