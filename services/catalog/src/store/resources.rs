//! Data resources in the database.

use async_trait::async_trait;
use sea_orm::{ColumnTrait, DatabaseConnection, QueryFilter, QueryOrder, QuerySelect};
use uuid::Uuid;
use zhongtai_kit::{Page, PageQuery, ScopedEntity, TenantId, TenantScope};

use super::entities::resource::{Column, Entity, Model};
use crate::domain::{
    CatalogError, Resource, ResourceFilter, ResourceLayer, ResourceRepository, ResourceState,
};

/// [`ResourceRepository`] on sea-orm.
pub struct SeaResources {
    db: DatabaseConnection,
}

impl SeaResources {
    pub fn new(db: DatabaseConnection) -> Self {
        Self { db }
    }
}

#[async_trait]
impl ResourceRepository for SeaResources {
    async fn list(
        &self,
        scope: &TenantScope,
        filter: &ResourceFilter,
        page: &PageQuery,
    ) -> Result<Page<Resource>, CatalogError> {
        let mut query = Entity::find_in(scope).order_by_asc(Column::Id);
        if let Some(owner) = &filter.owner {
            query = query.filter(Column::OwnerDivision.eq(owner.division.as_str()));
            if let Some(department) = &owner.department {
                query = query.filter(Column::OwnerDepartment.eq(department.as_str()));
            }
        }
        if let Some(layer) = filter.layer {
            query = query.filter(Column::Layer.eq(layer.as_str()));
        }
        if !filter.include_retired {
            query = query.filter(Column::State.ne(ResourceState::Retired.as_str()));
        }
        if let Some(after) = &page.after {
            query = query.filter(Column::Id.gt(after.as_str()));
        }
        let rows = query
            .limit(page.fetch_limit())
            .all(&self.db)
            .await
            .map_err(|e| CatalogError::Storage(e.to_string()))?;
        let resources = rows
            .into_iter()
            .map(resource_from_row)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Page::from_rows(resources, page, |resource| {
            resource.id.to_string()
        }))
    }
}

/// A row that does not read back is corruption, reported as a storage
/// failure rather than a panic.
fn resource_from_row(row: Model) -> Result<Resource, CatalogError> {
    let corrupt = |what: &str| CatalogError::Storage(format!("resource {}: bad {what}", row.id));
    Ok(Resource {
        id: Uuid::parse_str(&row.id).map_err(|_| corrupt("id"))?,
        owner: TenantId::parse(&row.owner_division, &row.owner_department)
            .map_err(|_| corrupt("owner"))?,
        layer: ResourceLayer::from_name(&row.layer).ok_or_else(|| corrupt("layer"))?,
        state: ResourceState::from_name(&row.state).ok_or_else(|| corrupt("state"))?,
        code: row.code,
        title: row.title,
        version: row.version,
        created_at: row.created_at,
        updated_at: row.updated_at,
    })
}
