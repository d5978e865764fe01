//! Writing one [`Changes`]: rows, index, history, outbox events and audit
//! records in one transaction. Updates are conditional on the revision the
//! domain read, so a concurrent change makes the whole commit fail instead
//! of being overwritten.

use async_trait::async_trait;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, IntoActiveModel,
    QueryFilter, SqlErr, UpdateMany,
};
use zhongtai_kit::{ScopedEntity, TenantOwned, TenantScope};

use super::SeaStore;
use super::entities::{access_request, grant, resource, resource_version};
use super::rows::{grant_row, request_row, resource_row, storage, version_row};
use super::search_index;
use crate::domain::CatalogError;
use crate::domain::changes::{Authority, Changes, ResourceWrite, Write};
use crate::domain::ports::ChangeStore;
use crate::published;

/// The service name events and audit records carry.
const SOURCE: &str = "catalog";

#[async_trait]
impl ChangeStore for SeaStore {
    async fn commit(&self, changes: Changes) -> Result<(), CatalogError> {
        let txn = zhongtai_store::begin_write(&self.db)
            .await
            .map_err(storage)?;
        // On failure the transaction is dropped, which rolls it back.
        commit_in(&txn, &changes).await?;
        txn.commit().await.map_err(storage)?;
        if !changes.events.is_empty() || !changes.audit.is_empty() {
            self.outbox.notify_one();
        }
        Ok(())
    }
}

/// Writes `changes` through `conn` (a transaction the caller commits, e.g.
/// an event consumer's).
pub async fn commit_in<C: ConnectionTrait>(
    conn: &C,
    changes: &Changes,
) -> Result<(), CatalogError> {
    if let Some(write) = &changes.resource {
        write_resource(conn, &changes.authority, write).await?;
    }
    for write in &changes.requests {
        match write {
            Write::Insert(request) => {
                if let Authority::Scope(scope) = &changes.authority
                    && !scope.permits(&request.requester)
                {
                    return Err(out_of_scope("access request", scope));
                }
                insert::<access_request::Entity, _>(
                    conn,
                    request_row(request)?.into_active_model(),
                )
                .await?;
            }
            Write::Update {
                value,
                expected_version,
            } => {
                let row = request_row(value)?;
                let updated = updater::<access_request::Entity>(&changes.authority)
                    .set(row.into_active_model().reset_all())
                    .filter(access_request::Column::Id.eq(value.id.to_string()))
                    .filter(access_request::Column::Version.eq(*expected_version))
                    .exec(conn)
                    .await
                    .map_err(storage)?;
                if updated.rows_affected != 1 {
                    return Err(conflict("access request", value.id));
                }
            }
        }
    }
    for write in &changes.grants {
        match write {
            Write::Insert(grant) => {
                insert::<grant::Entity, _>(conn, grant_row(grant)?.into_active_model()).await?;
            }
            Write::Update {
                value,
                expected_version,
            } => {
                let row = grant_row(value)?;
                let updated = updater::<grant::Entity>(&changes.authority)
                    .set(row.into_active_model().reset_all())
                    .filter(grant::Column::Id.eq(value.id.to_string()))
                    .filter(grant::Column::Version.eq(*expected_version))
                    .exec(conn)
                    .await
                    .map_err(storage)?;
                if updated.rows_affected != 1 {
                    return Err(conflict("grant", value.id));
                }
            }
        }
    }
    let events = changes.events.iter().map(published::event).collect();
    zhongtai_events::outbox::append(conn, SOURCE, events)
        .await
        .map_err(storage)?;
    for record in &changes.audit {
        zhongtai_audit::append(conn, SOURCE, record)
            .await
            .map_err(storage)?;
    }
    Ok(())
}

async fn write_resource<C: ConnectionTrait>(
    conn: &C,
    authority: &Authority,
    write: &ResourceWrite,
) -> Result<(), CatalogError> {
    // Resources change only on their owner's behalf.
    let Authority::Scope(scope) = authority else {
        return Err(CatalogError::Storage(
            "resources change only within a tenant scope".into(),
        ));
    };
    let resource = match &write.write {
        Write::Insert(resource) => {
            if scope.own() != &resource.owner {
                return Err(out_of_scope("resource", scope));
            }
            let row = resource_row(resource, write.request_id.as_deref())?;
            insert::<resource::Entity, _>(conn, row.into_active_model()).await?;
            resource
        }
        Write::Update {
            value,
            expected_version,
        } => {
            let row = resource_row(value, None)?;
            let mut active = row.into_active_model().reset_all();
            // The registration key never changes.
            active.request_id = sea_orm::ActiveValue::NotSet;
            let updated = resource::Entity::update_many_in(scope)
                .set(active)
                .filter(resource::Column::Id.eq(value.id.to_string()))
                .filter(resource::Column::Version.eq(*expected_version))
                .exec(conn)
                .await
                .map_err(storage)?;
            if updated.rows_affected != 1 {
                return Err(conflict("resource", value.id));
            }
            value
        }
    };
    insert::<resource_version::Entity, _>(conn, version_row(&write.history)?.into_active_model())
        .await?;
    search_index::replace(conn, scope, resource, &write.index).await
}

/// `UPDATE` on the rows the authority may change.
fn updater<E: TenantOwned>(authority: &Authority) -> UpdateMany<E> {
    match authority {
        Authority::Scope(scope) => E::update_many_in(scope),
        Authority::System(purpose) => E::update_many_for_system(*purpose),
    }
}

async fn insert<E, C>(conn: &C, row: E::ActiveModel) -> Result<(), CatalogError>
where
    E: EntityTrait,
    C: ConnectionTrait,
{
    match E::insert(row.reset_all())
        .exec_without_returning(conn)
        .await
    {
        Ok(_) => Ok(()),
        Err(e) if is_unique_violation(&e) => Err(CatalogError::Duplicate(e.to_string())),
        Err(e) => Err(storage(e)),
    }
}

fn is_unique_violation(e: &DbErr) -> bool {
    matches!(e.sql_err(), Some(SqlErr::UniqueConstraintViolation(_)))
}

fn conflict(kind: &'static str, id: uuid::Uuid) -> CatalogError {
    CatalogError::VersionConflict {
        kind,
        id: id.to_string(),
    }
}

fn out_of_scope(kind: &str, scope: &TenantScope) -> CatalogError {
    CatalogError::Storage(format!(
        "refusing to store a {kind} outside the scope of {}",
        scope.own()
    ))
}
