//! Offline codes in the database.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, IntoActiveModel, QueryFilter, QuerySelect,
};
use tokio::sync::Notify;
use uuid::Uuid;
use zhongtai_audit::AuditRecord;
use zhongtai_kit::{Actor, ScopedEntity, SystemPurpose, TenantId, TenantScope};

use super::entities::offline_code::{Column, Entity, Model};
use super::write::{
    actor_json, corrupt, department, holder_json, is_unique_violation, record, storage,
};
use crate::codes::domain::model::OfflineCode;
use crate::codes::domain::ports::{Inserted, OfflineCodeRepository};
use crate::codes::published;
use crate::shared::CertificateError;

/// Every instance keeps the revoked set of all counters.
const REVOCATIONS: SystemPurpose = SystemPurpose("offline-code revocations");

pub struct SeaOfflineCodes {
    db: DatabaseConnection,
    outbox: Arc<Notify>,
}

impl SeaOfflineCodes {
    pub fn new(db: DatabaseConnection, outbox: Arc<Notify>) -> Self {
        Self { db, outbox }
    }
}

#[async_trait]
impl OfflineCodeRepository for SeaOfflineCodes {
    async fn insert(
        &self,
        code: &OfflineCode,
        request_id: &str,
        audit: &AuditRecord,
    ) -> Result<Inserted, CertificateError> {
        let row = to_row(code, request_id)?;
        let txn = zhongtai_store::begin_write(&self.db)
            .await
            .map_err(storage)?;
        match row.into_active_model().insert(&txn).await {
            Ok(_) => {}
            Err(e) if is_unique_violation(&e) => return Ok(Inserted::Duplicate),
            Err(e) => return Err(storage(e)),
        }
        record(&txn, vec![published::offline_code_issued(code)], audit).await?;
        txn.commit().await.map_err(storage)?;
        self.outbox.notify_one();
        Ok(Inserted::Inserted)
    }

    async fn by_request(
        &self,
        scope: &TenantScope,
        request_id: &str,
    ) -> Result<Option<OfflineCode>, CertificateError> {
        Entity::find_in(scope)
            .filter(Column::RequestId.eq(request_id))
            .one(&self.db)
            .await
            .map_err(storage)?
            .map(from_row)
            .transpose()
    }

    async fn get(
        &self,
        scope: &TenantScope,
        id: Uuid,
    ) -> Result<Option<OfflineCode>, CertificateError> {
        Entity::find_in(scope)
            .filter(Column::Id.eq(id.to_string()))
            .one(&self.db)
            .await
            .map_err(storage)?
            .map(from_row)
            .transpose()
    }

    async fn revoke(
        &self,
        code: &OfflineCode,
        actor: &Actor,
        audit: &AuditRecord,
    ) -> Result<bool, CertificateError> {
        let scope = TenantScope::tenant(code.tenant.clone());
        let txn = zhongtai_store::begin_write(&self.db)
            .await
            .map_err(storage)?;
        let updated = Entity::update_many_in(&scope)
            .col_expr(Column::RevokedAt, Expr::value(code.revoked_at))
            .col_expr(
                Column::RevokeReason,
                Expr::value(code.revoke_reason.clone()),
            )
            .filter(Column::Id.eq(code.id.to_string()))
            .filter(Column::RevokedAt.is_null())
            .exec(&txn)
            .await
            .map_err(storage)?;
        if updated.rows_affected == 0 {
            return Ok(false);
        }
        record(
            &txn,
            vec![published::offline_code_revoked(code, actor)],
            audit,
        )
        .await?;
        txn.commit().await.map_err(storage)?;
        self.outbox.notify_one();
        Ok(true)
    }

    async fn revoked_since(
        &self,
        since: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Result<Vec<(Uuid, DateTime<Utc>)>, CertificateError> {
        let mut query = Entity::find_for_system(REVOCATIONS)
            .select_only()
            .column(Column::Id)
            .column(Column::ExpiresAt)
            .filter(Column::RevokedAt.is_not_null())
            .filter(Column::ExpiresAt.gt(now));
        if let Some(since) = since {
            query = query.filter(Column::RevokedAt.gte(since));
        }
        let rows: Vec<(String, DateTime<Utc>)> =
            query.into_tuple().all(&self.db).await.map_err(storage)?;
        rows.into_iter()
            .map(|(id, expires_at)| {
                Uuid::parse_str(&id)
                    .map(|id| (id, expires_at))
                    .map_err(|_| corrupt("offline code", &id, "id"))
            })
            .collect()
    }
}

fn to_row(code: &OfflineCode, request_id: &str) -> Result<Model, CertificateError> {
    Ok(Model {
        id: code.id.to_string(),
        tenant_division: code.tenant.division.to_string(),
        tenant_department: department(&code.tenant),
        holder_key: code.holder_key.clone(),
        holder: holder_json(&code.holder)?,
        key_id: code.key_id.clone(),
        issued_at: code.issued_at,
        expires_at: code.expires_at,
        revoked_at: code.revoked_at,
        revoke_reason: code.revoke_reason.clone(),
        payload: code.payload.clone(),
        request_id: request_id.to_string(),
        issued_by: actor_json(&code.issued_by)?,
    })
}

fn from_row(row: Model) -> Result<OfflineCode, CertificateError> {
    let bad = |what| corrupt("offline code", &row.id, what);
    Ok(OfflineCode {
        id: Uuid::parse_str(&row.id).map_err(|_| bad("id"))?,
        tenant: TenantId::parse(&row.tenant_division, &row.tenant_department)
            .map_err(|_| bad("tenant"))?,
        holder: serde_json::from_value(row.holder.clone()).map_err(|_| bad("holder"))?,
        issued_by: serde_json::from_value(row.issued_by.clone()).map_err(|_| bad("issued_by"))?,
        holder_key: row.holder_key,
        key_id: row.key_id,
        issued_at: row.issued_at,
        expires_at: row.expires_at,
        revoked_at: row.revoked_at,
        revoke_reason: row.revoke_reason,
        payload: row.payload,
    })
}
