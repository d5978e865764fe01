//! What every write of the codes part shares: a change's events and audit
//! record go into its transaction, and database failures are storage
//! errors for the log.

use sea_orm::{ConnectionTrait, DbErr, EntityTrait, Select, SqlErr, UpdateMany};
use zhongtai_audit::AuditRecord;
use zhongtai_credential::Holder;
use zhongtai_events::Event;
use zhongtai_kit::{Actor, TenantId};

use crate::shared::CertificateError;

/// The service name events and audit records carry.
const SOURCE: &str = "certificate";

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

/// `SELECT` on `dependant_links`: owned by guardians (persons), not by
/// tenants, so there is no tenant scope; every caller of this filters by
/// the guardian's holder key.
#[allow(clippy::disallowed_methods)]
pub(super) fn guardian_owned<E: EntityTrait>() -> Select<E> {
    E::find()
}

/// `UPDATE … WHERE` on `dependant_links`; see [`guardian_owned`].
#[allow(clippy::disallowed_methods)]
pub(super) fn guardian_owned_update<E: EntityTrait>() -> UpdateMany<E> {
    E::update_many()
}

pub(super) fn storage(e: impl std::fmt::Display + 'static) -> CertificateError {
    CertificateError::storage(e)
}

pub(super) fn is_unique_violation(e: &DbErr) -> bool {
    matches!(e.sql_err(), Some(SqlErr::UniqueConstraintViolation(_)))
}

pub(super) fn department(tenant: &TenantId) -> String {
    tenant.department.clone().unwrap_or_default()
}

pub(super) fn holder_json(holder: &Holder) -> Result<serde_json::Value, CertificateError> {
    serde_json::to_value(holder).map_err(storage)
}

pub(super) fn actor_json(actor: &Actor) -> Result<serde_json::Value, CertificateError> {
    serde_json::to_value(actor).map_err(storage)
}

/// A row that does not read back is corruption, reported as a storage
/// failure rather than a panic.
pub(super) fn corrupt(table: &str, id: &str, what: &str) -> CertificateError {
    CertificateError::Storage(format!("{table} {id}: bad {what}"))
}
