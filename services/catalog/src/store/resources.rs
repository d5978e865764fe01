//! Reading resources and their history, within the caller's visibility.

use async_trait::async_trait;
use sea_orm::sea_query::Condition;
use sea_orm::{ColumnTrait, QueryFilter, QueryOrder, QuerySelect};
use uuid::Uuid;
use zhongtai_kit::{Page, PageQuery, ScopedEntity, TenantId, TenantScope};

use super::SeaStore;
use super::entities::{resource, resource_version};
use super::rows::{department, resource_from_row, storage, version_from_row};
use super::{search_index, visibility};
use crate::domain::CatalogError;
use crate::domain::ports::{ResourceFilter, ResourceRepository};
use crate::domain::resource::{Resource, ResourceState, ResourceVersion};
use crate::domain::search::{ScoredResource, SearchQuery};

#[async_trait]
impl ResourceRepository for SeaStore {
    async fn by_request_id(
        &self,
        scope: &TenantScope,
        request_id: &str,
    ) -> Result<Option<Resource>, CatalogError> {
        resource::Entity::find_in(scope)
            .filter(resource::Column::RequestId.eq(request_id))
            .one(&self.db)
            .await
            .map_err(storage)?
            .map(resource_from_row)
            .transpose()
    }

    async fn visible(
        &self,
        scope: &TenantScope,
        id: Uuid,
    ) -> Result<Option<Resource>, CatalogError> {
        visibility::visible(scope)
            .filter(resource::Column::Id.eq(id.to_string()))
            .one(&self.db)
            .await
            .map_err(storage)?
            .map(resource_from_row)
            .transpose()
    }

    async fn visible_among(
        &self,
        scope: &TenantScope,
        ids: &[Uuid],
    ) -> Result<Vec<Resource>, CatalogError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        visibility::visible(scope)
            .filter(resource::Column::Id.is_in(ids.iter().map(Uuid::to_string)))
            .all(&self.db)
            .await
            .map_err(storage)?
            .into_iter()
            .map(resource_from_row)
            .collect()
    }

    async fn version(
        &self,
        scope: &TenantScope,
        id: Uuid,
        version: i64,
    ) -> Result<Option<ResourceVersion>, CatalogError> {
        history(scope, id)
            .filter(resource_version::Column::Version.eq(version))
            .one(&self.db)
            .await
            .map_err(storage)?
            .map(version_from_row)
            .transpose()
    }

    async fn list(
        &self,
        scope: &TenantScope,
        filter: &ResourceFilter,
        page: &PageQuery,
    ) -> Result<Page<Resource>, CatalogError> {
        let mut query = visibility::visible(scope)
            .order_by_asc(resource::Column::Title)
            .order_by_asc(resource::Column::Id);
        query = if filter.include_retired {
            query.filter(
                Condition::any()
                    .add(resource::Column::State.eq(ResourceState::Published.as_str()))
                    .add(visibility::own(scope)),
            )
        } else {
            query.filter(resource::Column::State.eq(ResourceState::Published.as_str()))
        };
        if let Some(owner) = &filter.owner {
            query = query.filter(owner_condition(owner));
        }
        if let Some(layer) = filter.layer {
            query = query.filter(resource::Column::Layer.eq(layer.as_str()));
        }
        if let Some(after) = &page.after {
            let (title, id) = title_key(after)?;
            query = query.filter(
                Condition::any()
                    .add(resource::Column::Title.gt(title.clone()))
                    .add(
                        Condition::all()
                            .add(resource::Column::Title.eq(title))
                            .add(resource::Column::Id.gt(id)),
                    ),
            );
        }
        let rows = query
            .limit(page.fetch_limit())
            .all(&self.db)
            .await
            .map_err(storage)?;
        let resources = rows
            .into_iter()
            .map(resource_from_row)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Page::from_rows(resources, page, |resource| {
            serde_json::json!([resource.details.title, resource.id.to_string()]).to_string()
        }))
    }

    async fn versions(
        &self,
        scope: &TenantScope,
        id: Uuid,
        page: &PageQuery,
    ) -> Result<Page<ResourceVersion>, CatalogError> {
        let mut query = history(scope, id).order_by_desc(resource_version::Column::Version);
        if let Some(after) = &page.after {
            let before: i64 = after.parse().map_err(|_| bad_token())?;
            query = query.filter(resource_version::Column::Version.lt(before));
        }
        let rows = query
            .limit(page.fetch_limit())
            .all(&self.db)
            .await
            .map_err(storage)?;
        let versions = rows
            .into_iter()
            .map(version_from_row)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Page::from_rows(versions, page, |entry| {
            entry.resource.version.to_string()
        }))
    }

    async fn search(
        &self,
        scope: &TenantScope,
        query: &SearchQuery,
        offset: u64,
        limit: u64,
    ) -> Result<Vec<ScoredResource>, CatalogError> {
        search_index::search(&self.db, scope, query, offset, limit).await
    }
}

/// History rows of one resource, if the scope sees the resource.
fn history(scope: &TenantScope, id: Uuid) -> sea_orm::Select<resource_version::Entity> {
    let of_visible = Condition::all()
        .add(resource_version::Column::ResourceId.in_subquery(visibility::visible_ids(scope)));
    resource_version::Entity::find_in_or_shared(scope, of_visible)
        .filter(resource_version::Column::ResourceId.eq(id.to_string()))
}

/// Rows owned by `owner`; a division alone matches all its departments.
pub(super) fn owner_condition(owner: &TenantId) -> Condition {
    let mut condition =
        Condition::all().add(resource::Column::OwnerDivision.eq(owner.division.as_str()));
    if owner.department.is_some() {
        condition = condition.add(resource::Column::OwnerDepartment.eq(department(owner)));
    }
    condition
}

/// The (title, id) a list page ended at.
fn title_key(after: &str) -> Result<(String, String), CatalogError> {
    serde_json::from_str::<(String, String)>(after).map_err(|_| bad_token())
}

fn bad_token() -> CatalogError {
    CatalogError::invalid("page.page_token", "is not a token this API issued")
}
