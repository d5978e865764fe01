//! What every write of the issuers part shares: a change's events and audit
//! record go into the transaction that makes it, and database failures are
//! storage errors for the log.

use sea_orm::{ConnectionTrait, DbErr, EntityTrait, Select, SqlErr};
use zhongtai_audit::AuditRecord;
use zhongtai_events::Event;

use crate::shared::CertificateError;

/// The service name events and audit records carry.
pub(super) const SOURCE: &str = "certificate";

/// Appends a change's `events` and its `audit` record through the
/// transaction that makes the change.
pub(super) async fn record<C: ConnectionTrait>(
    txn: &C,
    events: Vec<Event>,
    audit: &AuditRecord,
) -> Result<(), CertificateError> {
    zhongtai_events::outbox::append(txn, SOURCE, events)
        .await
        .map_err(storage)?;
    zhongtai_audit::append(txn, SOURCE, audit)
        .await
        .map_err(storage)
}

/// `SELECT` on a platform-wide table (certificate types, keys, the trust
/// list state): their rows belong to no tenant, so there is no scope to
/// apply. Never for `issuers`, which is tenant-owned.
#[allow(clippy::disallowed_methods)]
pub(super) fn platform_wide<E: EntityTrait>() -> Select<E> {
    E::find()
}

/// `UPDATE … WHERE` on a platform-wide table; see [`platform_wide`].
#[allow(clippy::disallowed_methods)]
pub(super) fn platform_wide_update<E: EntityTrait>() -> sea_orm::UpdateMany<E> {
    E::update_many()
}

/// `DELETE … WHERE` on a platform-wide table; see [`platform_wide`].
#[allow(clippy::disallowed_methods)]
pub(super) fn platform_wide_delete<E: EntityTrait>() -> sea_orm::DeleteMany<E> {
    E::delete_many()
}

pub(super) fn storage(e: impl std::fmt::Display + 'static) -> CertificateError {
    CertificateError::storage(e)
}

pub(super) fn is_unique_violation(e: &DbErr) -> bool {
    matches!(e.sql_err(), Some(SqlErr::UniqueConstraintViolation(_)))
}
