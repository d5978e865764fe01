//! Issuers in the database.

use async_trait::async_trait;
use sea_orm::{ColumnTrait, DatabaseConnection, QueryFilter, QueryOrder, QuerySelect};
use uuid::Uuid;
use zhongtai_kit::{Page, PageQuery, ScopedEntity, TenantId, TenantScope};

use super::domain::{Issuer, IssuerFilter, IssuerRepository, IssuerState};
use super::entities::issuer::{Column, Entity, Model};
use crate::shared::CertificateError;

/// [`IssuerRepository`] on sea-orm.
pub struct SeaIssuers {
    db: DatabaseConnection,
}

impl SeaIssuers {
    pub fn new(db: DatabaseConnection) -> Self {
        Self { db }
    }
}

#[async_trait]
impl IssuerRepository for SeaIssuers {
    async fn list(
        &self,
        scope: &TenantScope,
        filter: &IssuerFilter,
        page: &PageQuery,
    ) -> Result<Page<Issuer>, CertificateError> {
        let mut query = Entity::find_in(scope).order_by_asc(Column::Id);
        if let Some(tenant) = &filter.tenant {
            let department = tenant.department.as_deref().unwrap_or_default();
            query = query
                .filter(Column::TenantDivision.eq(tenant.division.as_str()))
                .filter(Column::TenantDepartment.eq(department));
        }
        if let Some(after) = &page.after {
            query = query.filter(Column::Id.gt(after.as_str()));
        }
        let issuers = query
            .limit(page.fetch_limit())
            .all(&self.db)
            .await
            .map_err(|e| CertificateError::Storage(e.to_string()))?
            .into_iter()
            .map(issuer_from_row)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Page::from_rows(issuers, page, |issuer| {
            issuer.id.to_string()
        }))
    }
}

/// A row that does not read back is corruption, reported as a storage
/// failure rather than a panic.
fn issuer_from_row(row: Model) -> Result<Issuer, CertificateError> {
    let corrupt = |what: &str| CertificateError::Storage(format!("issuer {}: bad {what}", row.id));
    Ok(Issuer {
        id: Uuid::parse_str(&row.id).map_err(|_| corrupt("id"))?,
        tenant: TenantId::parse(&row.tenant_division, &row.tenant_department)
            .map_err(|_| corrupt("tenant"))?,
        state: IssuerState::from_name(&row.state).ok_or_else(|| corrupt("state"))?,
        name: row.name,
        version: row.version,
        created_at: row.created_at,
        updated_at: row.updated_at,
    })
}
