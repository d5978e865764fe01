//! The inverted index: written with its resource, in the same
//! transaction, and searched with every query term bound as a parameter
//! (terms are compared for equality, never used as patterns).

use sea_orm::sea_query::{Condition, Expr, ExprTrait, Func, Query, SelectStatement};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel, Order,
    QueryFilter, QueryOrder, QuerySelect,
};
use uuid::Uuid;
use zhongtai_kit::{ScopedEntity, TenantScope};

use super::entities::{resource, resource_tag, search_term};
use super::resources::owner_condition;
use super::rows::{department, resource_from_row, storage};
use super::visibility;
use crate::domain::CatalogError;
use crate::domain::resource::{Resource, ResourceState};
use crate::domain::search::{IndexedTerm, ScoredResource, SearchQuery};

/// Rows per INSERT: far below the bind-parameter limits of both databases.
const INSERT_CHUNK: usize = 500;

/// Replaces the resource's index rows (terms and tags) with `terms` and
/// its current tags.
pub(super) async fn replace<C: ConnectionTrait>(
    conn: &C,
    scope: &TenantScope,
    resource: &Resource,
    terms: &[IndexedTerm],
) -> Result<(), CatalogError> {
    let id = resource.id.to_string();
    search_term::Entity::delete_many_in(scope)
        .filter(search_term::Column::ResourceId.eq(id.as_str()))
        .exec(conn)
        .await
        .map_err(storage)?;
    resource_tag::Entity::delete_many_in(scope)
        .filter(resource_tag::Column::ResourceId.eq(id.as_str()))
        .exec(conn)
        .await
        .map_err(storage)?;
    let division = resource.owner.division.to_string();
    let owner_department = department(&resource.owner);
    for chunk in terms.chunks(INSERT_CHUNK) {
        let rows = chunk.iter().map(|indexed| {
            search_term::Model {
                resource_id: id.clone(),
                term: indexed.term.clone(),
                weight: indexed.weight,
                owner_division: division.clone(),
                owner_department: owner_department.clone(),
            }
            .into_active_model()
            .reset_all()
        });
        search_term::Entity::insert_many(rows)
            .exec_without_returning(conn)
            .await
            .map_err(storage)?;
    }
    for chunk in resource.details.tags.chunks(INSERT_CHUNK) {
        let rows = chunk.iter().map(|tag| {
            resource_tag::Model {
                resource_id: id.clone(),
                tag: tag.clone(),
                owner_division: division.clone(),
                owner_department: owner_department.clone(),
            }
            .into_active_model()
            .reset_all()
        });
        resource_tag::Entity::insert_many(rows)
            .exec_without_returning(conn)
            .await
            .map_err(storage)?;
    }
    Ok(())
}

/// Resources holding every one of `terms`.
fn holding_every_term(terms: &[String]) -> SelectStatement {
    Query::select()
        .column(search_term::Column::ResourceId)
        .from(search_term::Entity)
        .and_where(search_term::Column::Term.is_in(terms.iter().cloned()))
        .group_by_col(search_term::Column::ResourceId)
        .and_having(ExprTrait::eq(
            Expr::expr(Func::count(Expr::col(search_term::Column::Term))),
            terms.len() as i64,
        ))
        .to_owned()
}

/// Resources carrying every one of `tags`.
fn carrying_every_tag(tags: &[String]) -> SelectStatement {
    let distinct: std::collections::BTreeSet<&String> = tags.iter().collect();
    Query::select()
        .column(resource_tag::Column::ResourceId)
        .from(resource_tag::Entity)
        .and_where(resource_tag::Column::Tag.is_in(distinct.iter().map(|tag| tag.to_string())))
        .group_by_col(resource_tag::Column::ResourceId)
        .and_having(ExprTrait::eq(
            Expr::expr(Func::count(Expr::col(resource_tag::Column::Tag))),
            distinct.len() as i64,
        ))
        .to_owned()
}

/// A resource's score: the sum of the weights of the query terms it holds.
fn score(terms: &[String]) -> Expr {
    Expr::from(
        Query::select()
            .expr(Func::sum(Expr::col((
                search_term::Entity,
                search_term::Column::Weight,
            ))))
            .from(search_term::Entity)
            .and_where(
                Expr::col((search_term::Entity, search_term::Column::ResourceId))
                    .equals((resource::Entity, resource::Column::Id)),
            )
            .and_where(search_term::Column::Term.is_in(terms.iter().cloned()))
            .to_owned(),
    )
}

/// `column IN (names)`; no restriction when there are none.
fn one_of(column: resource::Column, names: impl Iterator<Item = &'static str>) -> Condition {
    let names: Vec<&str> = names.collect();
    if names.is_empty() {
        Condition::all()
    } else {
        Condition::all().add(column.is_in(names))
    }
}

/// Visible, published resources matching `query`, best first (then by
/// title), `limit` of them after `offset`.
pub(super) async fn search<C: ConnectionTrait>(
    conn: &C,
    scope: &TenantScope,
    query: &SearchQuery,
    offset: u64,
    limit: u64,
) -> Result<Vec<ScoredResource>, CatalogError> {
    let filter = &query.filter;
    let mut select = visibility::visible(scope)
        .filter(resource::Column::State.eq(ResourceState::Published.as_str()))
        .select_only()
        .column(resource::Column::Id);
    if !filter.owners.is_empty() {
        let any_owner = filter.owners.iter().fold(Condition::any(), |any, owner| {
            any.add(owner_condition(owner))
        });
        select = select.filter(any_owner);
    }
    select = select
        .filter(one_of(
            resource::Column::Layer,
            filter.layers.iter().map(|l| l.as_str()),
        ))
        .filter(one_of(
            resource::Column::Sharing,
            filter.sharing.iter().map(|s| s.as_str()),
        ))
        .filter(one_of(
            resource::Column::Open,
            filter.open.iter().map(|o| o.as_str()),
        ))
        .filter(one_of(
            resource::Column::UpdateFrequency,
            filter.update_frequencies.iter().map(|f| f.as_str()),
        ));
    if !filter.tags.is_empty() {
        select = select.filter(resource::Column::Id.in_subquery(carrying_every_tag(&filter.tags)));
    }
    let ranked: Vec<(String, i64)> = if query.terms.is_empty() {
        select
            .order_by_asc(resource::Column::Title)
            .order_by_asc(resource::Column::Id)
            .offset(offset)
            .limit(limit)
            .into_tuple::<String>()
            .all(conn)
            .await
            .map_err(storage)?
            .into_iter()
            .map(|id| (id, 0))
            .collect()
    } else {
        select
            .filter(resource::Column::Id.in_subquery(holding_every_term(&query.terms)))
            .expr_as(score(&query.terms), "score")
            .order_by(score(&query.terms), Order::Desc)
            .order_by_asc(resource::Column::Title)
            .order_by_asc(resource::Column::Id)
            .offset(offset)
            .limit(limit)
            .into_tuple::<(String, i64)>()
            .all(conn)
            .await
            .map_err(storage)?
    };
    if ranked.is_empty() {
        return Ok(Vec::new());
    }
    let rows = visibility::visible(scope)
        .filter(resource::Column::Id.is_in(ranked.iter().map(|(id, _)| id.clone())))
        .all(conn)
        .await
        .map_err(storage)?;
    let mut by_id = std::collections::HashMap::new();
    for row in rows {
        let resource = resource_from_row(row)?;
        by_id.insert(resource.id, resource);
    }
    Ok(ranked
        .into_iter()
        .filter_map(|(id, score)| {
            let resource = by_id.remove(&Uuid::parse_str(&id).ok()?)?;
            Some(ScoredResource { resource, score })
        })
        .collect())
}
