//! Which resources a scope sees: its own (in any state), published ones
//! shared with every tenant, and those its tenant holds a usable grant on.

use sea_orm::sea_query::{Condition, Query, SelectStatement};
use sea_orm::{ColumnTrait, QuerySelect, QueryTrait, Select};
use zhongtai_kit::{ScopedEntity, TenantScope};

use super::entities::{grant, resource};
use crate::domain::grant::GrantState;
use crate::domain::resource::{ResourceState, Sharing};

/// Names of the usable grant states, as stored.
pub(super) fn usable_states() -> Vec<&'static str> {
    GrantState::USABLE
        .iter()
        .map(|state| state.as_str())
        .collect()
}

/// Ids of the resources `scope` holds a usable grant on.
pub(super) fn granted_resource_ids(scope: &TenantScope) -> SelectStatement {
    Query::select()
        .column(grant::Column::ResourceId)
        .from(grant::Entity)
        .cond_where(scope.condition(
            grant::Column::GranteeDivision,
            grant::Column::GranteeDepartment,
        ))
        .and_where(grant::Column::State.is_in(usable_states()))
        .to_owned()
}

/// Other tenants' resources the scope sees.
fn shared_with(scope: &TenantScope) -> Condition {
    Condition::any()
        .add(
            Condition::all()
                .add(resource::Column::State.eq(ResourceState::Published.as_str()))
                .add(resource::Column::Sharing.ne(Sharing::NotShared.as_str())),
        )
        .add(resource::Column::Id.in_subquery(granted_resource_ids(scope)))
}

/// Every resource the scope sees.
pub(super) fn visible(scope: &TenantScope) -> Select<resource::Entity> {
    resource::Entity::find_in_or_shared(scope, shared_with(scope))
}

/// Ids of every resource the scope sees, for filtering rows that belong
/// to resources (their history).
pub(super) fn visible_ids(scope: &TenantScope) -> SelectStatement {
    visible(scope)
        .select_only()
        .column(resource::Column::Id)
        .into_query()
}

/// The scope's own resources among the visible ones.
pub(super) fn own(scope: &TenantScope) -> Condition {
    scope.condition(
        resource::Column::OwnerDivision,
        resource::Column::OwnerDepartment,
    )
}
