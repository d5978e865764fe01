//! Dependant links in the database. They belong to their guardian, so
//! every query filters by the guardian's holder key.

use std::sync::Arc;

use async_trait::async_trait;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, IntoActiveModel, QueryFilter, QueryOrder,
    QuerySelect,
};
use tokio::sync::Notify;
use uuid::Uuid;
use zhongtai_audit::AuditRecord;
use zhongtai_credential::Holder;
use zhongtai_kit::{Actor, Page, PageQuery};

use super::entities::dependant_link::{Column, Entity, Model};
use super::write::{
    corrupt, guardian_owned, guardian_owned_update, holder_json, is_unique_violation, record,
    storage,
};
use crate::codes::domain::dependants::MAX_ACTIVE_DEPENDANTS;
use crate::codes::domain::model::{DependantLink, DependantState, Relationship};
use crate::codes::domain::ports::{DependantRepository, Inserted};
use crate::codes::published;
use crate::shared::CertificateError;

pub struct SeaDependants {
    db: DatabaseConnection,
    outbox: Arc<Notify>,
}

impl SeaDependants {
    pub fn new(db: DatabaseConnection, outbox: Arc<Notify>) -> Self {
        Self { db, outbox }
    }

    fn of(guardian_key: &str) -> sea_orm::Select<Entity> {
        guardian_owned::<Entity>().filter(Column::GuardianKey.eq(guardian_key))
    }
}

#[async_trait]
impl DependantRepository for SeaDependants {
    async fn insert(
        &self,
        link: &DependantLink,
        request_id: &str,
        actor: &Actor,
        audit: &AuditRecord,
    ) -> Result<Inserted, CertificateError> {
        let row = to_row(link, request_id)?;
        let txn = zhongtai_store::begin_write(&self.db)
            .await
            .map_err(storage)?;
        match row.into_active_model().insert(&txn).await {
            Ok(_) => {}
            Err(e) if is_unique_violation(&e) => return Ok(Inserted::Duplicate),
            Err(e) => return Err(storage(e)),
        }
        record(&txn, vec![published::dependant_linked(link, actor)], audit).await?;
        txn.commit().await.map_err(storage)?;
        self.outbox.notify_one();
        Ok(Inserted::Inserted)
    }

    async fn by_request(
        &self,
        guardian_key: &str,
        request_id: &str,
    ) -> Result<Option<DependantLink>, CertificateError> {
        Self::of(guardian_key)
            .filter(Column::RequestId.eq(request_id))
            .one(&self.db)
            .await
            .map_err(storage)?
            .map(from_row)
            .transpose()
    }

    async fn get(
        &self,
        guardian_key: &str,
        id: Uuid,
    ) -> Result<Option<DependantLink>, CertificateError> {
        Self::of(guardian_key)
            .filter(Column::Id.eq(id.to_string()))
            .one(&self.db)
            .await
            .map_err(storage)?
            .map(from_row)
            .transpose()
    }

    async fn list(
        &self,
        guardian_key: &str,
        page: &PageQuery,
    ) -> Result<Page<DependantLink>, CertificateError> {
        let mut query = Self::of(guardian_key).order_by_asc(Column::Id);
        if let Some(after) = &page.after {
            query = query.filter(Column::Id.gt(after.as_str()));
        }
        let links = query
            .limit(page.fetch_limit())
            .all(&self.db)
            .await
            .map_err(storage)?
            .into_iter()
            .map(from_row)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Page::from_rows(links, page, |link| link.id.to_string()))
    }

    async fn active(&self, guardian_key: &str) -> Result<Vec<DependantLink>, CertificateError> {
        Self::of(guardian_key)
            .filter(Column::State.eq(DependantState::Active.as_str()))
            .order_by_asc(Column::Id)
            .limit(MAX_ACTIVE_DEPENDANTS as u64 + 1)
            .all(&self.db)
            .await
            .map_err(storage)?
            .into_iter()
            .map(from_row)
            .collect()
    }

    async fn remove(
        &self,
        link: &DependantLink,
        actor: &Actor,
        audit: &AuditRecord,
    ) -> Result<bool, CertificateError> {
        let txn = zhongtai_store::begin_write(&self.db)
            .await
            .map_err(storage)?;
        let id = link.id.to_string();
        let updated = guardian_owned_update::<Entity>()
            .col_expr(Column::State, Expr::value(DependantState::Removed.as_str()))
            // Frees the (guardian, dependant) slot for a new link.
            .col_expr(Column::ActiveKey, Expr::value(id.clone()))
            .col_expr(Column::UpdatedAt, Expr::value(link.updated_at))
            .filter(Column::GuardianKey.eq(link.guardian.key()))
            .filter(Column::Id.eq(id))
            .filter(Column::State.eq(DependantState::Active.as_str()))
            .exec(&txn)
            .await
            .map_err(storage)?;
        if updated.rows_affected == 0 {
            return Ok(false);
        }
        record(
            &txn,
            vec![published::dependant_unlinked(link, actor)],
            audit,
        )
        .await?;
        txn.commit().await.map_err(storage)?;
        self.outbox.notify_one();
        Ok(true)
    }
}

fn to_row(link: &DependantLink, request_id: &str) -> Result<Model, CertificateError> {
    let dependant_key = link.dependant.key();
    Ok(Model {
        id: link.id.to_string(),
        guardian_key: link.guardian.key(),
        guardian: holder_json(&link.guardian)?,
        active_key: match link.state {
            DependantState::Active => dependant_key.clone(),
            DependantState::Removed => link.id.to_string(),
        },
        dependant_key,
        dependant: holder_json(&link.dependant)?,
        relationship: link.relationship.as_str().to_string(),
        evidence_certificate_id: link.evidence_certificate_id.to_string(),
        state: link.state.as_str().to_string(),
        request_id: request_id.to_string(),
        created_at: link.created_at,
        updated_at: link.updated_at,
    })
}

fn from_row(row: Model) -> Result<DependantLink, CertificateError> {
    let bad = |what| corrupt("dependant link", &row.id, what);
    let holder = |json: &serde_json::Value, what| {
        serde_json::from_value::<Holder>(json.clone()).map_err(|_| bad(what))
    };
    Ok(DependantLink {
        id: Uuid::parse_str(&row.id).map_err(|_| bad("id"))?,
        guardian: holder(&row.guardian, "guardian")?,
        dependant: holder(&row.dependant, "dependant")?,
        relationship: Relationship::from_name(&row.relationship)
            .ok_or_else(|| bad("relationship"))?,
        evidence_certificate_id: Uuid::parse_str(&row.evidence_certificate_id)
            .map_err(|_| bad("evidence certificate id"))?,
        state: DependantState::from_name(&row.state).ok_or_else(|| bad("state"))?,
        created_at: row.created_at,
        updated_at: row.updated_at,
    })
}
