//! Venues in the database.

use std::sync::Arc;

use async_trait::async_trait;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, IntoActiveModel, QueryFilter, QueryOrder,
    QuerySelect,
};
use tokio::sync::Notify;
use uuid::Uuid;
use zhongtai_audit::AuditRecord;
use zhongtai_kit::tenant::DivisionLevel;
use zhongtai_kit::{Actor, DivisionCode, Page, PageQuery, ScopedEntity, TenantId, TenantScope};

use super::entities::venue::{Column, Entity, Model};
use super::write::{corrupt, department, is_unique_violation, record, storage};
use crate::codes::domain::model::Venue;
use crate::codes::domain::ports::{Inserted, VenueRepository};
use crate::codes::published;
use crate::shared::CertificateError;

pub struct SeaVenues {
    db: DatabaseConnection,
    outbox: Arc<Notify>,
}

impl SeaVenues {
    pub fn new(db: DatabaseConnection, outbox: Arc<Notify>) -> Self {
        Self { db, outbox }
    }
}

#[async_trait]
impl VenueRepository for SeaVenues {
    async fn insert(
        &self,
        venue: &Venue,
        request_id: &str,
        actor: &Actor,
        audit: &AuditRecord,
    ) -> Result<Inserted, CertificateError> {
        let txn = zhongtai_store::begin_write(&self.db)
            .await
            .map_err(storage)?;
        match to_row(venue, request_id)
            .into_active_model()
            .insert(&txn)
            .await
        {
            Ok(_) => {}
            Err(e) if is_unique_violation(&e) => return Ok(Inserted::Duplicate),
            Err(e) => return Err(storage(e)),
        }
        record(&txn, vec![published::venue_registered(venue, actor)], audit).await?;
        txn.commit().await.map_err(storage)?;
        self.outbox.notify_one();
        Ok(Inserted::Inserted)
    }

    async fn by_request(
        &self,
        scope: &TenantScope,
        request_id: &str,
    ) -> Result<Option<Venue>, CertificateError> {
        Entity::find_in(scope)
            .filter(Column::RequestId.eq(request_id))
            .one(&self.db)
            .await
            .map_err(storage)?
            .map(from_row)
            .transpose()
    }

    async fn get(&self, scope: &TenantScope, id: Uuid) -> Result<Option<Venue>, CertificateError> {
        Entity::find_in(scope)
            .filter(Column::Id.eq(id.to_string()))
            .one(&self.db)
            .await
            .map_err(storage)?
            .map(from_row)
            .transpose()
    }

    async fn list(
        &self,
        scope: &TenantScope,
        within: Option<&DivisionCode>,
        page: &PageQuery,
    ) -> Result<Page<Venue>, CertificateError> {
        let mut query = Entity::find_in(scope).order_by_asc(Column::Id);
        if let Some(division) = within {
            let code = division.as_str();
            query = match division.level() {
                DivisionLevel::Province => {
                    query.filter(Column::DivisionCode.starts_with(&code[..2]))
                }
                DivisionLevel::City => query.filter(Column::DivisionCode.starts_with(&code[..4])),
                DivisionLevel::County => query.filter(Column::DivisionCode.eq(code)),
            };
        }
        if let Some(after) = &page.after {
            query = query.filter(Column::Id.gt(after.as_str()));
        }
        let venues = query
            .limit(page.fetch_limit())
            .all(&self.db)
            .await
            .map_err(storage)?
            .into_iter()
            .map(from_row)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Page::from_rows(venues, page, |venue| venue.id.to_string()))
    }
}

fn to_row(venue: &Venue, request_id: &str) -> Model {
    Model {
        id: venue.id.to_string(),
        tenant_division: venue.tenant.division.to_string(),
        tenant_department: department(&venue.tenant),
        name: venue.name.clone(),
        address: venue.address.clone(),
        division_code: venue.division.to_string(),
        request_id: request_id.to_string(),
        created_at: venue.created_at,
    }
}

fn from_row(row: Model) -> Result<Venue, CertificateError> {
    let bad = |what| corrupt("venue", &row.id, what);
    Ok(Venue {
        id: Uuid::parse_str(&row.id).map_err(|_| bad("id"))?,
        tenant: TenantId::parse(&row.tenant_division, &row.tenant_department)
            .map_err(|_| bad("tenant"))?,
        division: DivisionCode::parse(&row.division_code).map_err(|_| bad("division"))?,
        name: row.name,
        address: row.address,
        created_at: row.created_at,
    })
}
