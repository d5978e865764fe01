//! What every gateway repository shares: the platform-wide tables (the
//! configuration revision, capabilities, credentials and policies, whose
//! tenancy is their app's) and the scope of an app query.
//!
//! Credentials and policies carry no tenant columns: the repositories reach
//! them only through an app id the caller's scope already admitted, or from
//! the configuration loader that serves every tenant. Platform admins'
//! scope is every tenant. Hence the unscoped queries here, and only here.
#![allow(clippy::disallowed_methods)]

use sea_orm::sea_query::{Condition, Expr, ExprTrait};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbErr, DeleteMany, EntityTrait, QueryFilter, Select, SqlErr,
    UpdateMany,
};
use zhongtai_audit::AuditRecord;
use zhongtai_kit::ScopedEntity;

use super::entities::{app, config_revision};
use crate::domain::{AppScope, GatewayError};

/// The service name audit records carry.
const SOURCE: &str = "gateway";
const REVISION_ROW: i32 = 1;

/// Rows after the page token `after` ("first second") in the order of the
/// two columns `first`, `second`.
pub(super) fn after_pair<C: ColumnTrait>(
    after: &str,
    first: C,
    second: C,
) -> Result<Condition, GatewayError> {
    let (first_value, second_value) = after.split_once(' ').ok_or_else(|| {
        GatewayError::invalid("page.page_token", "is not a token this API issued")
    })?;
    Ok(Condition::any().add(first.gt(first_value)).add(
        Condition::all()
            .add(first.eq(first_value))
            .add(second.gt(second_value)),
    ))
}

/// `SELECT` on a table without tenant columns.
pub(super) fn platform_wide<E: EntityTrait>() -> Select<E> {
    E::find()
}

/// `UPDATE … WHERE` on a table without tenant columns.
pub(super) fn platform_wide_update<E: EntityTrait>() -> UpdateMany<E> {
    E::update_many()
}

/// `DELETE … WHERE` on a table without tenant columns.
pub(super) fn platform_wide_delete<E: EntityTrait>() -> DeleteMany<E> {
    E::delete_many()
}

/// `SELECT` of the apps inside `scope`.
pub(super) fn apps_in(scope: &AppScope) -> Select<app::Entity> {
    match scope {
        AppScope::Everything => app::Entity::find(),
        AppScope::Within(scope) => app::Entity::find_in(scope),
    }
}

/// `UPDATE … WHERE` of the apps inside `scope`.
pub(super) fn update_apps_in(scope: &AppScope) -> UpdateMany<app::Entity> {
    match scope {
        AppScope::Everything => app::Entity::update_many(),
        AppScope::Within(scope) => app::Entity::update_many_in(scope),
    }
}

/// Moves the configuration revision on, in the transaction of the change,
/// so every instance reloads exactly when the change is visible.
pub(super) async fn bump_revision<C: ConnectionTrait>(txn: &C) -> Result<(), GatewayError> {
    let result = config_revision::Entity::update_many()
        .col_expr(
            config_revision::Column::Revision,
            Expr::col(config_revision::Column::Revision).add(1),
        )
        .col_expr(
            config_revision::Column::UpdatedAt,
            Expr::value(crate::domain::ports::now()),
        )
        .filter(config_revision::Column::Id.eq(REVISION_ROW))
        .exec(txn)
        .await
        .map_err(storage)?;
    if result.rows_affected == 1 {
        Ok(())
    } else {
        Err(GatewayError::Storage(
            "the config_revision row is missing".into(),
        ))
    }
}

/// The current configuration revision.
pub(super) async fn read_revision<C: ConnectionTrait>(conn: &C) -> Result<i64, GatewayError> {
    config_revision::Entity::find_by_id(REVISION_ROW)
        .one(conn)
        .await
        .map_err(storage)?
        .map(|row| row.revision)
        .ok_or_else(|| GatewayError::Storage("the config_revision row is missing".into()))
}

/// Finishes a configuration change: the revision moves and the audit
/// record is appended, both in the change's transaction.
pub(super) async fn record_change<C: ConnectionTrait>(
    txn: &C,
    audit: &AuditRecord,
) -> Result<(), GatewayError> {
    bump_revision(txn).await?;
    zhongtai_audit::append(txn, SOURCE, audit)
        .await
        .map_err(storage)
}

/// A database failure, for the log.
pub(super) fn storage(e: impl std::fmt::Display + 'static) -> GatewayError {
    GatewayError::storage(e)
}

/// Whether `e` is a unique-key violation.
pub(super) fn is_unique_violation(e: &DbErr) -> bool {
    matches!(e.sql_err(), Some(SqlErr::UniqueConstraintViolation(_)))
}
