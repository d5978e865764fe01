//! Reading and writing certificates.

use sea_orm::sea_query::{Condition, Expr};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseTransaction, DbErr, EntityTrait, IntoActiveModel,
    QueryFilter, QueryOrder, QuerySelect, SqlErr, TransactionTrait,
};
use uuid::Uuid;
use zhongtai_audit::AuditRecord;
use zhongtai_events::Event;
use zhongtai_kit::{Page, PageQuery, ScopedEntity, SystemPurpose, TenantScope};

use super::entities::certificate::{self, Column};
use super::rows::{certificate_from_row, certificate_row, storage};
use super::status_lists::allocate_entry;
use super::{SOURCE, random_below};
use crate::certificates::domain::draft::{Draft, serial_number};
use crate::shared::{CertificateError, CertificateRecord, CertificateStatus, IssuerSigner};

/// Idempotency keys are unique platform-wide; whether a replay belongs to
/// the caller is decided on the record found.
const IDEMPOTENCY: SystemPurpose = SystemPurpose("idempotency");
/// Codes and consents read certificates after their own access checks.
const DIRECTORY: SystemPurpose = SystemPurpose("certificate-directory");

/// Tries before giving up on finding a free serial number and position.
const ISSUE_ATTEMPTS: usize = 8;

/// What an issue did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Issued {
    New(CertificateRecord),
    /// A certificate already existed for the request id or the application
    /// (a concurrent request won the race).
    Existing(CertificateRecord),
}

/// Filters of a certificate list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListFilter {
    pub holder_key: Option<String>,
    pub certificate_type: Option<String>,
    pub issuer_id: Option<Uuid>,
    /// Empty: every status. `Expired` is computed, so it matches by
    /// `valid_until` rather than the stored status.
    pub statuses: Vec<CertificateStatus>,
}

pub async fn by_request_id<C: ConnectionTrait>(
    conn: &C,
    request_id: &str,
) -> Result<Option<CertificateRecord>, CertificateError> {
    one(
        conn,
        certificate::Entity::find_for_system(IDEMPOTENCY).filter(Column::RequestId.eq(request_id)),
    )
    .await
}

pub async fn by_application<C: ConnectionTrait>(
    conn: &C,
    application_id: Uuid,
) -> Result<Option<CertificateRecord>, CertificateError> {
    one(
        conn,
        certificate::Entity::find_for_system(IDEMPOTENCY)
            .filter(Column::ApplicationId.eq(application_id.to_string())),
    )
    .await
}

/// A certificate in `scope`, or held by `holder_key`.
pub async fn readable<C: ConnectionTrait>(
    conn: &C,
    scope: &TenantScope,
    holder_key: Option<&str>,
    id: Uuid,
) -> Result<Option<CertificateRecord>, CertificateError> {
    let select = match holder_key {
        Some(key) => certificate::Entity::find_in_or_shared(
            scope,
            Condition::all().add(Column::HolderKey.eq(key)),
        ),
        None => certificate::Entity::find_in(scope),
    };
    one(conn, select.filter(Column::Id.eq(id.to_string()))).await
}

/// A certificate whoever's it is, for the parts that checked access.
pub async fn for_directory<C: ConnectionTrait>(
    conn: &C,
    id: Uuid,
) -> Result<Option<CertificateRecord>, CertificateError> {
    one(
        conn,
        certificate::Entity::find_for_system(DIRECTORY).filter(Column::Id.eq(id.to_string())),
    )
    .await
}

/// Every certificate of a holder, newest first, only of `types` unless empty.
pub async fn of_holder<C: ConnectionTrait>(
    conn: &C,
    holder_key: &str,
    types: &[String],
) -> Result<Vec<CertificateRecord>, CertificateError> {
    let mut select =
        certificate::Entity::find_for_system(DIRECTORY).filter(Column::HolderKey.eq(holder_key));
    if !types.is_empty() {
        select = select.filter(Column::CertificateType.is_in(types.iter().cloned()));
    }
    select
        .order_by_desc(Column::Id)
        .all(conn)
        .await
        .map_err(storage)?
        .into_iter()
        .map(certificate_from_row)
        .collect()
}

/// One page, newest first, of the certificates in `scope`, and of those
/// held by `holder_caller`, the caller's own holder key.
pub async fn list<C: ConnectionTrait>(
    conn: &C,
    scope: &TenantScope,
    holder_caller: Option<&str>,
    filter: &ListFilter,
    page: &PageQuery,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Page<CertificateRecord>, CertificateError> {
    let mut select = match holder_caller {
        Some(key) => certificate::Entity::find_in_or_shared(
            scope,
            Condition::all().add(Column::HolderKey.eq(key)),
        ),
        None => certificate::Entity::find_in(scope),
    };
    if let Some(key) = &filter.holder_key {
        select = select.filter(Column::HolderKey.eq(key.as_str()));
    }
    if let Some(code) = &filter.certificate_type {
        select = select.filter(Column::CertificateType.eq(code.as_str()));
    }
    if let Some(issuer) = filter.issuer_id {
        select = select.filter(Column::IssuerId.eq(issuer.to_string()));
    }
    if !filter.statuses.is_empty() {
        select = select.filter(status_condition(&filter.statuses, now));
    }
    if let Some(after) = &page.after {
        select = select.filter(Column::Id.lt(after.as_str()));
    }
    let rows = select
        .order_by_desc(Column::Id)
        .limit(page.fetch_limit())
        .all(conn)
        .await
        .map_err(storage)?
        .into_iter()
        .map(certificate_from_row)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Page::from_rows(rows, page, |record| record.id.to_string()))
}

/// Rows whose status at `now` is one of `statuses`.
fn status_condition(
    statuses: &[CertificateStatus],
    now: chrono::DateTime<chrono::Utc>,
) -> Condition {
    let in_force = || {
        Condition::any()
            .add(Column::ValidUntil.is_null())
            .add(Column::ValidUntil.gt(now))
    };
    statuses
        .iter()
        .fold(Condition::any(), |any, status| match status {
            CertificateStatus::Revoked => any.add(Column::Status.eq(status.as_str())),
            CertificateStatus::Valid | CertificateStatus::Suspended => any.add(
                Condition::all()
                    .add(Column::Status.eq(status.as_str()))
                    .add(in_force()),
            ),
            CertificateStatus::Expired => any.add(
                Condition::all()
                    .add(Column::Status.ne(CertificateStatus::Revoked.as_str()))
                    .add(Column::ValidUntil.lte(now)),
            ),
        })
}

/// Issues `draft` through `txn`: a status position and a serial number,
/// the signature, the row, and the `record`ed events and audit record.
/// Positions and serial numbers are unique in the table, so instances
/// racing for one retry with another; a race on the request id or the
/// application answers with the winner's certificate.
pub async fn issue_in(
    txn: &DatabaseTransaction,
    draft: &Draft,
    signer: &IssuerSigner,
    record: impl Fn(&CertificateRecord) -> (Vec<Event>, AuditRecord),
) -> Result<Issued, CertificateError> {
    for _ in 0..ISSUE_ATTEMPTS {
        let attempt = txn.begin().await.map_err(storage)?;
        let entry = allocate_entry(&attempt).await?;
        let serial = serial_number(draft.issued_at, random_below(100_000_000));
        let certificate = draft.sign(signer, serial, entry);
        let row = certificate_row(&certificate, &draft.request_id)?;
        match certificate::Entity::insert(row.into_active_model())
            .exec_without_returning(&attempt)
            .await
        {
            Ok(_) => {
                attempt.commit().await.map_err(storage)?;
                let (events, audit) = record(&certificate);
                append(txn, events, &audit).await?;
                return Ok(Issued::New(certificate));
            }
            Err(e) if is_unique_violation(&e) => {
                attempt.rollback().await.map_err(storage)?;
                if let Some(existing) = by_request_id(txn, &draft.request_id).await? {
                    return Ok(Issued::Existing(existing));
                }
                if let Some(application) = draft.application_id
                    && let Some(existing) = by_application(txn, application).await?
                {
                    return Ok(Issued::Existing(existing));
                }
            }
            Err(e) => return Err(storage(e)),
        }
    }
    Err(CertificateError::Storage(format!(
        "no free serial number and status position found in {ISSUE_ATTEMPTS} attempts"
    )))
}

/// Writes `after` over the stored certificate if it is still at
/// `expected_version`.
pub async fn update_status<C: ConnectionTrait>(
    conn: &C,
    scope: &TenantScope,
    after: &CertificateRecord,
    expected_version: i64,
) -> Result<(), CertificateError> {
    let updated = certificate::Entity::update_many_in(scope)
        .col_expr(Column::Status, Expr::value(after.status.as_str()))
        .col_expr(
            Column::StatusReason,
            Expr::value(after.status_reason.clone()),
        )
        .col_expr(Column::Version, Expr::value(after.version))
        .col_expr(Column::UpdatedAt, Expr::value(after.updated_at))
        .filter(Column::Id.eq(after.id.to_string()))
        .filter(Column::Version.eq(expected_version))
        .exec(conn)
        .await
        .map_err(storage)?;
    if updated.rows_affected != 1 {
        return Err(CertificateError::VersionConflict {
            kind: "certificate",
            id: after.id.to_string(),
        });
    }
    Ok(())
}

/// Appends a change's events and audit record through its transaction.
pub async fn append<C: ConnectionTrait>(
    conn: &C,
    events: Vec<Event>,
    audit: &AuditRecord,
) -> Result<(), CertificateError> {
    zhongtai_events::outbox::append(conn, SOURCE, events)
        .await
        .map_err(storage)?;
    zhongtai_audit::append(conn, SOURCE, audit)
        .await
        .map_err(storage)
}

async fn one<C: ConnectionTrait>(
    conn: &C,
    select: sea_orm::Select<certificate::Entity>,
) -> Result<Option<CertificateRecord>, CertificateError> {
    select
        .one(conn)
        .await
        .map_err(storage)?
        .map(certificate_from_row)
        .transpose()
}

fn is_unique_violation(e: &DbErr) -> bool {
    matches!(e.sql_err(), Some(SqlErr::UniqueConstraintViolation(_)))
}
