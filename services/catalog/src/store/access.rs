//! Reading access requests and grants. A request is its requester's row,
//! also seen by the resource's owner; a grant is the owner's row, also
//! seen by its grantee.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sea_orm::sea_query::Condition;
use sea_orm::{ColumnTrait, QueryFilter, QueryOrder, QuerySelect, Select};
use uuid::Uuid;
use zhongtai_kit::{Page, PageQuery, ScopedEntity, SystemPurpose, TenantScope};

use super::SeaStore;
use super::entities::{access_request, grant};
use super::rows::{department, grant_from_row, request_from_row, storage};
use super::visibility::usable_states;
use crate::domain::CatalogError;
use crate::domain::access_request::AccessRequest;
use crate::domain::grant::{Grant, GrantState};
use crate::domain::ports::{AccessRepository, GrantFilter, RequestFilter};

fn received(scope: &TenantScope) -> Condition {
    scope.condition(
        access_request::Column::OwnerDivision,
        access_request::Column::OwnerDepartment,
    )
}

/// Requests the scope made or received.
fn requests_seen(scope: &TenantScope) -> Select<access_request::Entity> {
    access_request::Entity::find_in_or_shared(scope, received(scope))
}

fn held(scope: &TenantScope) -> Condition {
    scope.condition(
        grant::Column::GranteeDivision,
        grant::Column::GranteeDepartment,
    )
}

/// Grants the scope gave or holds.
fn grants_seen(scope: &TenantScope) -> Select<grant::Entity> {
    grant::Entity::find_in_or_shared(scope, held(scope))
}

fn state_names(states: &[GrantState]) -> Vec<String> {
    states
        .iter()
        .map(|state| state.as_str().to_string())
        .collect()
}

#[async_trait]
impl AccessRepository for SeaStore {
    async fn request_by_request_id(
        &self,
        scope: &TenantScope,
        request_id: &str,
    ) -> Result<Option<AccessRequest>, CatalogError> {
        access_request::Entity::find_in(scope)
            .filter(access_request::Column::RequestId.eq(request_id))
            .one(&self.db)
            .await
            .map_err(storage)?
            .map(request_from_row)
            .transpose()
    }

    async fn request(
        &self,
        scope: &TenantScope,
        id: Uuid,
    ) -> Result<Option<AccessRequest>, CatalogError> {
        requests_seen(scope)
            .filter(access_request::Column::Id.eq(id.to_string()))
            .one(&self.db)
            .await
            .map_err(storage)?
            .map(request_from_row)
            .transpose()
    }

    async fn requests(
        &self,
        scope: &TenantScope,
        filter: &RequestFilter,
        page: &PageQuery,
    ) -> Result<Page<AccessRequest>, CatalogError> {
        let mut query = if filter.as_owner {
            requests_seen(scope).filter(received(scope))
        } else {
            access_request::Entity::find_in(scope)
        }
        .order_by_desc(access_request::Column::Id);
        if let Some(resource_id) = filter.resource_id {
            query = query.filter(access_request::Column::ResourceId.eq(resource_id.to_string()));
        }
        if !filter.states.is_empty() {
            query = query.filter(
                access_request::Column::State
                    .is_in(filter.states.iter().map(|state| state.as_str().to_string())),
            );
        }
        if let Some(after) = &page.after {
            query = query.filter(access_request::Column::Id.lt(after.as_str()));
        }
        let rows = query
            .limit(page.fetch_limit())
            .all(&self.db)
            .await
            .map_err(storage)?;
        let requests = rows
            .into_iter()
            .map(request_from_row)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Page::from_rows(requests, page, |request| {
            request.id.to_string()
        }))
    }

    async fn grant(&self, scope: &TenantScope, id: Uuid) -> Result<Option<Grant>, CatalogError> {
        grants_seen(scope)
            .filter(grant::Column::Id.eq(id.to_string()))
            .one(&self.db)
            .await
            .map_err(storage)?
            .map(grant_from_row)
            .transpose()
    }

    async fn grants(
        &self,
        scope: &TenantScope,
        filter: &GrantFilter,
        page: &PageQuery,
    ) -> Result<Page<Grant>, CatalogError> {
        let mut query = if filter.as_owner {
            grant::Entity::find_in(scope)
        } else {
            grants_seen(scope).filter(held(scope))
        }
        .order_by_desc(grant::Column::Id);
        if let Some(resource_id) = filter.resource_id {
            query = query.filter(grant::Column::ResourceId.eq(resource_id.to_string()));
        }
        if !filter.states.is_empty() {
            query = query.filter(grant::Column::State.is_in(state_names(&filter.states)));
        }
        if let Some(grantee) = &filter.grantee {
            query = query
                .filter(grant::Column::GranteeDivision.eq(grantee.division.as_str()))
                .filter(grant::Column::GranteeDepartment.eq(department(grantee)));
        }
        if let Some(division) = &filter.owner_division {
            query = query.filter(grant::Column::OwnerDivision.eq(division.as_str()));
        }
        if let Some(after) = &page.after {
            query = query.filter(grant::Column::Id.lt(after.as_str()));
        }
        let rows = query
            .limit(page.fetch_limit())
            .all(&self.db)
            .await
            .map_err(storage)?;
        let grants = rows
            .into_iter()
            .map(grant_from_row)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Page::from_rows(grants, page, |grant| grant.id.to_string()))
    }

    async fn grants_on(
        &self,
        scope: &TenantScope,
        resource_id: Uuid,
        held_only: bool,
        states: &[GrantState],
    ) -> Result<Vec<Grant>, CatalogError> {
        let mut query = if held_only {
            grants_seen(scope).filter(held(scope))
        } else {
            grant::Entity::find_in(scope)
        }
        .filter(grant::Column::ResourceId.eq(resource_id.to_string()))
        .order_by_asc(grant::Column::Id);
        if !states.is_empty() {
            query = query.filter(grant::Column::State.is_in(state_names(states)));
        }
        query
            .all(&self.db)
            .await
            .map_err(storage)?
            .into_iter()
            .map(grant_from_row)
            .collect()
    }

    async fn usable_held_on(
        &self,
        scope: &TenantScope,
        resource_ids: &[Uuid],
    ) -> Result<Vec<Grant>, CatalogError> {
        if resource_ids.is_empty() {
            return Ok(Vec::new());
        }
        grants_seen(scope)
            .filter(held(scope))
            .filter(grant::Column::State.is_in(usable_states()))
            .filter(grant::Column::ResourceId.is_in(resource_ids.iter().map(Uuid::to_string)))
            .order_by_asc(grant::Column::Id)
            .all(&self.db)
            .await
            .map_err(storage)?
            .into_iter()
            .map(grant_from_row)
            .collect()
    }

    async fn usable_held_resources(
        &self,
        scope: &TenantScope,
        page: &PageQuery,
    ) -> Result<Page<Uuid>, CatalogError> {
        let mut query = grants_seen(scope)
            .filter(held(scope))
            .filter(grant::Column::State.is_in(usable_states()))
            .select_only()
            .column(grant::Column::ResourceId)
            .distinct()
            .order_by_asc(grant::Column::ResourceId);
        if let Some(after) = &page.after {
            query = query.filter(grant::Column::ResourceId.gt(after.as_str()));
        }
        let ids = query
            .limit(page.fetch_limit())
            .into_tuple::<String>()
            .all(&self.db)
            .await
            .map_err(storage)?
            .into_iter()
            .map(|id| {
                Uuid::parse_str(&id)
                    .map_err(|_| CatalogError::Storage(format!("grant with bad resource id {id}")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Page::from_rows(ids, page, Uuid::to_string))
    }

    async fn due_for_expiry(
        &self,
        now: DateTime<Utc>,
        limit: u64,
    ) -> Result<Vec<Grant>, CatalogError> {
        grant::Entity::find_for_system(SystemPurpose::TIMER)
            .filter(grant::Column::State.is_in(usable_states()))
            .filter(grant::Column::PeriodEnd.lte(now))
            .order_by_asc(grant::Column::PeriodEnd)
            .limit(limit)
            .all(&self.db)
            .await
            .map_err(storage)?
            .into_iter()
            .map(grant_from_row)
            .collect()
    }
}
