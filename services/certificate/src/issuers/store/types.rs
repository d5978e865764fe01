//! Certificate types in the database.

use async_trait::async_trait;
use chrono::Duration;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, IntoActiveModel, QueryFilter, QueryOrder,
    QuerySelect,
};
use std::sync::Arc;
use tokio::sync::Notify;
use zhongtai_audit::AuditRecord;
use zhongtai_credential::ClaimKind;
use zhongtai_kit::{Actor, Page, PageQuery};

use super::write::{is_unique_violation, platform_wide, platform_wide_update, record, storage};
use crate::issuers::domain::{CreateOutcome, Saved, TypeChange, TypeRepository};
use crate::issuers::entities::certificate_type::{ActiveModel, Column, Entity, Model};
use crate::issuers::published;
use crate::shared::{CertificateError, CertificateType, ClaimDefinition, HolderKind};

/// [`TypeRepository`] on sea-orm.
pub struct SeaTypes {
    db: DatabaseConnection,
    outbox: Arc<Notify>,
}

impl SeaTypes {
    pub fn new(db: DatabaseConnection, outbox: Arc<Notify>) -> Self {
        Self { db, outbox }
    }

    async fn by_request(
        &self,
        request_id: &str,
    ) -> Result<Option<CertificateType>, CertificateError> {
        platform_wide::<Entity>()
            .filter(Column::RequestId.eq(request_id))
            .one(&self.db)
            .await
            .map_err(storage)?
            .map(from_model)
            .transpose()
    }
}

#[async_trait]
impl TypeRepository for SeaTypes {
    async fn create(
        &self,
        request_id: &str,
        certificate_type: &CertificateType,
        actor: &Actor,
        audit: &AuditRecord,
    ) -> Result<CreateOutcome<CertificateType>, CertificateError> {
        if let Some(existing) = self.by_request(request_id).await? {
            return Ok(CreateOutcome::AlreadyCreated(existing));
        }
        let row = to_model(certificate_type, request_id)?.into_active_model();
        let txn = zhongtai_store::begin_write(&self.db)
            .await
            .map_err(storage)?;
        match ActiveModel::insert(row, &txn).await {
            Ok(_) => {}
            Err(e) if is_unique_violation(&e) => {
                drop(txn);
                // Either the same request raced us, or the code is taken.
                return match self.by_request(request_id).await? {
                    Some(existing) => Ok(CreateOutcome::AlreadyCreated(existing)),
                    None => Err(CertificateError::AlreadyExists {
                        kind: "certificate type",
                        key: certificate_type.code.clone(),
                    }),
                };
            }
            Err(e) => return Err(storage(e)),
        }
        record(
            &txn,
            vec![published::certificate_type_created(certificate_type, actor)],
            audit,
        )
        .await?;
        txn.commit().await.map_err(storage)?;
        self.outbox.notify_one();
        Ok(CreateOutcome::Created(certificate_type.clone()))
    }

    async fn get(&self, code: &str) -> Result<Option<CertificateType>, CertificateError> {
        platform_wide::<Entity>()
            .filter(Column::Code.eq(code))
            .one(&self.db)
            .await
            .map_err(storage)?
            .map(from_model)
            .transpose()
    }

    async fn existing(&self, codes: &[String]) -> Result<Vec<String>, CertificateError> {
        if codes.is_empty() {
            return Ok(Vec::new());
        }
        let found: Vec<String> = platform_wide::<Entity>()
            .select_only()
            .column(Column::Code)
            .filter(Column::Code.is_in(codes.iter().map(String::as_str)))
            .into_tuple()
            .all(&self.db)
            .await
            .map_err(storage)?;
        Ok(found)
    }

    async fn list(&self, page: &PageQuery) -> Result<Page<CertificateType>, CertificateError> {
        let mut query = platform_wide::<Entity>().order_by_asc(Column::Code);
        if let Some(after) = &page.after {
            query = query.filter(Column::Code.gt(after.as_str()));
        }
        let types = query
            .limit(page.fetch_limit())
            .all(&self.db)
            .await
            .map_err(storage)?
            .into_iter()
            .map(from_model)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Page::from_rows(types, page, |t| t.code.clone()))
    }

    async fn update(
        &self,
        change: &TypeChange,
        audit: &AuditRecord,
    ) -> Result<Saved<()>, CertificateError> {
        let next = &change.certificate_type;
        let mut row = to_model(next, "")?.into_active_model().reset_all();
        // The code is the key; the request id stays the creating one's.
        row.code = sea_orm::ActiveValue::NotSet;
        row.request_id = sea_orm::ActiveValue::NotSet;
        row.created_at = sea_orm::ActiveValue::NotSet;
        let txn = zhongtai_store::begin_write(&self.db)
            .await
            .map_err(storage)?;
        let updated = platform_wide_update::<Entity>()
            .set(row)
            .filter(Column::Code.eq(next.code.as_str()))
            .filter(Column::Version.eq(change.expected_version))
            .exec(&txn)
            .await
            .map_err(storage)?;
        if updated.rows_affected == 0 {
            return Ok(Saved::Conflict);
        }
        record(
            &txn,
            vec![published::certificate_type_updated(change)],
            audit,
        )
        .await?;
        txn.commit().await.map_err(storage)?;
        self.outbox.notify_one();
        Ok(Saved::Saved(()))
    }
}

/// Claims as stored in the `claims` JSON column:
/// `[{"name", "title", "kind", "required", "include_in_code"}]`.
fn claims_json(claims: &[ClaimDefinition]) -> serde_json::Value {
    claims
        .iter()
        .map(|c| {
            serde_json::json!({
                "name": c.name, "title": c.title, "kind": c.kind.as_str(),
                "required": c.required, "include_in_code": c.include_in_code,
            })
        })
        .collect()
}

fn claims_from_json(value: &serde_json::Value) -> Option<Vec<ClaimDefinition>> {
    value
        .as_array()?
        .iter()
        .map(|c| {
            Some(ClaimDefinition {
                name: c.get("name")?.as_str()?.to_string(),
                title: c.get("title")?.as_str()?.to_string(),
                kind: ClaimKind::from_name(c.get("kind")?.as_str()?)?,
                required: c.get("required")?.as_bool()?,
                include_in_code: c.get("include_in_code")?.as_bool()?,
            })
        })
        .collect()
}

fn to_model(t: &CertificateType, request_id: &str) -> Result<Model, CertificateError> {
    Ok(Model {
        code: t.code.clone(),
        name: t.name.clone(),
        description: t.description.clone(),
        claims: claims_json(&t.claims),
        holder_kind: t.holder_kind.as_str().to_string(),
        default_validity_secs: t.default_validity.map(|d| d.num_seconds()),
        version: t.version,
        request_id: request_id.to_string(),
        created_at: t.created_at,
        updated_at: t.updated_at,
    })
}

/// A row that does not read back is corruption, reported as a storage
/// failure rather than a panic.
pub(super) fn from_model(row: Model) -> Result<CertificateType, CertificateError> {
    let corrupt = |what: &str| {
        CertificateError::Storage(format!("certificate type {}: bad {what}", row.code))
    };
    let claims = claims_from_json(&row.claims).ok_or_else(|| corrupt("claims"))?;
    Ok(CertificateType {
        holder_kind: HolderKind::from_name(&row.holder_kind)
            .ok_or_else(|| corrupt("holder_kind"))?,
        claims,
        default_validity: row.default_validity_secs.map(Duration::seconds),
        code: row.code,
        name: row.name,
        description: row.description,
        version: row.version,
        created_at: row.created_at,
        updated_at: row.updated_at,
    })
}
