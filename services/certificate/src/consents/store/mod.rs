//! Consents and their usage log on sea-orm. Every write commits with its
//! events and audit record in one transaction, then pokes the relay.

mod entities;
mod rows;

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbErr,
    EntityTrait, IntoActiveModel, QueryFilter, QueryOrder, QuerySelect, SqlErr,
};
use tokio::sync::Notify;
use uuid::Uuid;
use zhongtai_audit::{AuditRecord, Outcome};
use zhongtai_events::Event;
use zhongtai_kit::{Page, PageQuery, ScopedEntity, SystemPurpose, TenantScope};

use self::entities::{consent, usage};
use self::rows::{
    changed_columns, consent_from_row, consent_row, disclosure_from_row, owned_by, storage,
    usage_from_row, usage_row,
};
use super::domain::{
    Change, Consent, ConsentFilter, ConsentState, ConsentStore, Counted, Created, Disclosure,
    Party, ReadOutcome, ReadToCount, Saved, Usage, Viewer, record, rules,
};
use super::published;
use crate::shared::{CertificateError, ConsentRefusal};

/// The service name events and audit records carry.
const SOURCE: &str = "certificate";

/// [`ConsentStore`] on sea-orm.
pub struct SeaConsents {
    db: DatabaseConnection,
    outbox: Arc<Notify>,
}

impl SeaConsents {
    /// `outbox` is poked after each commit that wrote events.
    pub fn new(db: DatabaseConnection, outbox: Arc<Notify>) -> Self {
        Self { db, outbox }
    }

    async fn commit(&self, txn: DatabaseTransaction) -> Result<(), CertificateError> {
        txn.commit().await.map_err(storage)?;
        self.outbox.notify_one();
        Ok(())
    }

    async fn one(
        &self,
        query: sea_orm::Select<consent::Entity>,
    ) -> Result<Option<Consent>, CertificateError> {
        query
            .one(&self.db)
            .await
            .map_err(storage)?
            .map(consent_from_row)
            .transpose()
    }
}

/// Appends a change's events and audit records through its transaction.
async fn record_change<C: ConnectionTrait>(
    txn: &C,
    events: Vec<Event>,
    audits: &[&AuditRecord],
) -> Result<(), CertificateError> {
    zhongtai_events::outbox::append(txn, SOURCE, events)
        .await
        .map_err(storage)?;
    for audit in audits {
        zhongtai_audit::append(txn, SOURCE, audit)
            .await
            .map_err(storage)?;
    }
    Ok(())
}

/// Rows of the consents the viewer's parties see, beside its own tenant's:
/// the holder's, the app's, and every one for the platform. `None` when
/// the viewer is no party to any consent.
fn shared_with(viewer: &Viewer) -> Option<Condition> {
    if viewer.platform {
        return Some(Condition::all().add(consent::Column::Id.is_not_null()));
    }
    let mut shared = Condition::any();
    if let Some(holder_key) = &viewer.holder_key {
        shared = shared.add(consent::Column::HolderKey.eq(holder_key.as_str()));
    }
    if let Some(app_id) = &viewer.app_id {
        shared = shared.add(consent::Column::AppId.eq(app_id.as_str()));
    }
    (!shared.is_empty()).then_some(shared)
}

/// The consents the viewer sees: as custodian (an admin) its own tenant's,
/// and those [`shared_with`] it.
fn visible_to(viewer: &Viewer) -> Option<sea_orm::Select<consent::Entity>> {
    let shared = shared_with(viewer);
    match (viewer.custodian, shared) {
        (true, Some(shared)) => Some(consent::Entity::find_in_or_shared(&viewer.scope, shared)),
        (true, None) => Some(consent::Entity::find_in(&viewer.scope)),
        // Others of the tenant are no party: only the shared rows remain.
        (false, Some(shared)) => {
            Some(consent::Entity::find_in_or_shared(&viewer.scope, shared.clone()).filter(shared))
        }
        (false, None) => None,
    }
}

fn is_unique_violation(e: &DbErr) -> bool {
    matches!(e.sql_err(), Some(SqlErr::UniqueConstraintViolation(_)))
}

fn bad_token() -> CertificateError {
    CertificateError::invalid("page.page_token", "is not a token this API issued")
}

fn after_id(page: &PageQuery) -> Result<Option<String>, CertificateError> {
    page.after
        .as_ref()
        .map(|after| {
            Uuid::parse_str(after)
                .map(|id| id.to_string())
                .map_err(|_| bad_token())
        })
        .transpose()
}

fn unlocked_at(party: Party) -> consent::Column {
    match party {
        Party::Custodian => consent::Column::CustodianUnlockedAt,
        Party::Platform => consent::Column::PlatformUnlockedAt,
        Party::Holder => consent::Column::HolderUnlockedAt,
    }
}

/// A refused attempt as logged: no data, the consent's reason.
fn refused(usage: &Usage, refusal: ConsentRefusal) -> Usage {
    Usage {
        outcome: ReadOutcome::Refused(refusal),
        read_number: 0,
        certificate_ids: Vec::new(),
        claims: Vec::new(),
        ..usage.clone()
    }
}

fn denied(audit: &AuditRecord, refusal: ConsentRefusal) -> AuditRecord {
    let mut audit = audit.clone().with_reason(refusal.code());
    audit.outcome = Outcome::Denied;
    audit
}

impl SeaConsents {
    async fn update_agreement<C: ConnectionTrait>(
        txn: &C,
        change: &Change,
    ) -> Result<bool, CertificateError> {
        let updated = consent::Entity::update_many_in(&owned_by(&change.consent))
            .set(changed_columns(&change.consent)?)
            .filter(consent::Column::Id.eq(change.consent.id.to_string()))
            .filter(consent::Column::Version.eq(change.previous_version))
            .exec(txn)
            .await
            .map_err(storage)?;
        Ok(updated.rows_affected == 1)
    }

    async fn insert_usage<C: ConnectionTrait>(txn: &C, row: usage::Model) -> Result<(), DbErr> {
        usage::Entity::insert(row.into_active_model())
            .exec_without_returning(txn)
            .await
            .map(|_| ())
    }
}

#[async_trait]
impl ConsentStore for SeaConsents {
    async fn by_request(
        &self,
        scope: &TenantScope,
        app_id: &str,
        request_id: &str,
    ) -> Result<Option<(Consent, String)>, CertificateError> {
        let Some(row) = consent::Entity::find_in_or_shared(
            scope,
            Condition::all().add(consent::Column::AppId.eq(app_id)),
        )
        .filter(consent::Column::AppId.eq(app_id))
        .filter(consent::Column::RequestId.eq(request_id))
        .one(&self.db)
        .await
        .map_err(storage)?
        else {
            return Ok(None);
        };
        let fingerprint = row.request_fingerprint.clone();
        Ok(Some((consent_from_row(row)?, fingerprint)))
    }

    async fn create(
        &self,
        scope: &TenantScope,
        change: &Change,
        fingerprint: &str,
        audit: &AuditRecord,
    ) -> Result<Created, CertificateError> {
        let consent = &change.consent;
        let txn = zhongtai_store::begin_write(&self.db)
            .await
            .map_err(storage)?;
        let row = consent_row(consent, fingerprint)?.into_active_model();
        match consent::Entity::insert(row)
            .exec_without_returning(&txn)
            .await
        {
            Ok(_) => {}
            Err(e) if is_unique_violation(&e) => {
                drop(txn);
                let (consent, fingerprint) = self
                    .by_request(scope, &consent.terms.app_id, &consent.request_id)
                    .await?
                    .ok_or_else(|| storage("a consent with this request id vanished"))?;
                return Ok(Created::Existing {
                    consent,
                    fingerprint,
                });
            }
            Err(e) => return Err(storage(e)),
        }
        record_change(&txn, published::change_events(change), &[audit]).await?;
        self.commit(txn).await?;
        Ok(Created::Created(consent.clone()))
    }

    async fn visible(
        &self,
        viewer: &Viewer,
        id: Uuid,
    ) -> Result<Option<Consent>, CertificateError> {
        let Some(query) = visible_to(viewer) else {
            return Ok(None);
        };
        self.one(query.filter(consent::Column::Id.eq(id.to_string())))
            .await
    }

    async fn addressed(
        &self,
        scope: &TenantScope,
        id: Uuid,
    ) -> Result<Option<Consent>, CertificateError> {
        let every_consent = Condition::all().add(consent::Column::Id.is_not_null());
        self.one(
            consent::Entity::find_in_or_shared(scope, every_consent)
                .filter(consent::Column::Id.eq(id.to_string())),
        )
        .await
    }

    async fn list(
        &self,
        viewer: &Viewer,
        filter: &ConsentFilter,
        page: &PageQuery,
    ) -> Result<Page<Consent>, CertificateError> {
        let after = after_id(page)?;
        let Some(mut query) = visible_to(viewer) else {
            return Ok(Page::from_rows(Vec::new(), page, |c: &Consent| {
                c.id.to_string()
            }));
        };
        if !filter.states.is_empty() {
            let names: Vec<&str> = filter.states.iter().map(|s| s.as_str()).collect();
            query = query.filter(consent::Column::State.is_in(names));
        }
        if let Some(party) = filter.awaiting_party {
            query = query
                .filter(consent::Column::State.eq(ConsentState::Pending.as_str()))
                .filter(unlocked_at(party).is_null());
        }
        if let Some(after) = after {
            query = query.filter(consent::Column::Id.lt(after));
        }
        let consents = query
            .order_by_desc(consent::Column::Id)
            .limit(page.fetch_limit())
            .all(&self.db)
            .await
            .map_err(storage)?
            .into_iter()
            .map(consent_from_row)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Page::from_rows(consents, page, |c| c.id.to_string()))
    }

    async fn save(&self, change: &Change, audit: &AuditRecord) -> Result<Saved, CertificateError> {
        let txn = zhongtai_store::begin_write(&self.db)
            .await
            .map_err(storage)?;
        if !Self::update_agreement(&txn, change).await? {
            return Ok(Saved::Conflict);
        }
        record_change(&txn, published::change_events(change), &[audit]).await?;
        self.commit(txn).await?;
        Ok(Saved::Saved)
    }

    async fn past_period(
        &self,
        now: DateTime<Utc>,
        limit: u64,
    ) -> Result<Vec<Consent>, CertificateError> {
        let open = [
            ConsentState::Pending.as_str(),
            ConsentState::Active.as_str(),
        ];
        consent::Entity::find_for_system(SystemPurpose::TIMER)
            .filter(consent::Column::State.is_in(open))
            .filter(consent::Column::EndsAt.lte(now))
            .order_by_asc(consent::Column::EndsAt)
            .limit(limit)
            .all(&self.db)
            .await
            .map_err(storage)?
            .into_iter()
            .map(consent_from_row)
            .collect()
    }

    async fn counted_read(
        &self,
        consent: &Consent,
        request_id: &str,
    ) -> Result<Option<Disclosure>, CertificateError> {
        usage::Entity::find_in(&owned_by(consent))
            .filter(usage::Column::ConsentId.eq(consent.id.to_string()))
            .filter(usage::Column::CountedRequestId.eq(request_id))
            .one(&self.db)
            .await
            .map_err(storage)?
            .as_ref()
            .map(disclosure_from_row)
            .transpose()
    }

    async fn count_read(&self, read: ReadToCount) -> Result<Counted, CertificateError> {
        let scope = owned_by(&read.consent);
        let id = read.consent.id.to_string();
        let now = read.now;
        let txn = zhongtai_store::begin_write(&self.db)
            .await
            .map_err(storage)?;
        // The guard: concurrent reads queue on the row and each sees the
        // count the previous one left, so none passes the limit.
        let counted = consent::Entity::update_many_in(&scope)
            .col_expr(
                consent::Column::ReadCount,
                Expr::col(consent::Column::ReadCount).add(1),
            )
            .filter(consent::Column::Id.eq(id.as_str()))
            .filter(consent::Column::State.eq(ConsentState::Active.as_str()))
            .filter(consent::Column::StartsAt.lte(now))
            .filter(consent::Column::EndsAt.gt(now))
            .filter(Expr::col(consent::Column::ReadCount).lt(Expr::col(consent::Column::ReadLimit)))
            .exec(&txn)
            .await
            .map_err(storage)?
            .rows_affected
            == 1;
        let current = consent::Entity::find_in(&scope)
            .filter(consent::Column::Id.eq(id.as_str()))
            .one(&txn)
            .await
            .map_err(storage)?
            .map(consent_from_row)
            .transpose()?
            .ok_or_else(|| storage(format!("consent {id} vanished during a read")))?;

        if !counted {
            let refusal = rules::read_gate(&current, now)
                .err()
                .unwrap_or(ConsentRefusal::LimitReached);
            let usage = refused(&read.usage, refusal);
            let remaining = current.reads_remaining();
            Self::insert_usage(&txn, usage_row(&current, &usage, remaining, None))
                .await
                .map_err(storage)?;
            record_change(
                &txn,
                vec![published::read(&current, &usage, remaining)],
                &[&denied(&read.audit, refusal)],
            )
            .await?;
            self.commit(txn).await?;
            return Ok(Counted::Refused {
                refusal,
                consent: current,
            });
        }

        let usage = Usage {
            read_number: current.read_count,
            ..read.usage
        };
        let remaining = current.reads_remaining();
        let row = usage_row(&current, &usage, remaining, Some(&read.certificates));
        if let Err(e) = Self::insert_usage(&txn, row).await {
            if !is_unique_violation(&e) {
                return Err(storage(e));
            }
            // A retry with this request id was counted first; this one
            // rolls back and returns that read.
            drop(txn);
            return self
                .counted_read(&current, &usage.request_id)
                .await?
                .map(Counted::AlreadyCounted)
                .ok_or_else(|| storage("a counted read vanished"));
        }
        let mut events = vec![published::read(&current, &usage, remaining)];
        let mut exhausted_audit = None;
        if let Some(mut change) = rules::exhaust(&current, now) {
            record::seal(&mut change.consent, &read.platform_key);
            if !Self::update_agreement(&txn, &change).await? {
                return Err(storage(format!(
                    "consent {id} changed while its row was locked by a read"
                )));
            }
            events.extend(published::change_events(&change));
            exhausted_audit = Some(AuditRecord::new(
                read.audit.actor.clone(),
                read.audit.tenant.clone(),
                change.action,
                read.audit.target.clone(),
                Outcome::Allowed,
            ));
        }
        let mut audits = vec![&read.audit];
        audits.extend(exhausted_audit.as_ref());
        record_change(&txn, events, &audits).await?;
        self.commit(txn).await?;
        Ok(Counted::Allowed(Disclosure {
            certificates: read.certificates,
            usage,
            reads_remaining: remaining,
        }))
    }

    async fn log_refusal(
        &self,
        consent: &Consent,
        usage: &Usage,
        audit: &AuditRecord,
    ) -> Result<(), CertificateError> {
        let remaining = consent.reads_remaining();
        let txn = zhongtai_store::begin_write(&self.db)
            .await
            .map_err(storage)?;
        Self::insert_usage(&txn, usage_row(consent, usage, remaining, None))
            .await
            .map_err(storage)?;
        record_change(
            &txn,
            vec![published::read(consent, usage, remaining)],
            &[audit],
        )
        .await?;
        self.commit(txn).await
    }

    async fn usage(
        &self,
        consent: &Consent,
        page: &PageQuery,
    ) -> Result<Page<Usage>, CertificateError> {
        let mut query = usage::Entity::find_in(&owned_by(consent))
            .filter(usage::Column::ConsentId.eq(consent.id.to_string()));
        if let Some(after) = after_id(page)? {
            query = query.filter(usage::Column::Id.lt(after));
        }
        let usages = query
            .order_by_desc(usage::Column::Id)
            .limit(page.fetch_limit())
            .all(&self.db)
            .await
            .map_err(storage)?
            .iter()
            .map(usage_from_row)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Page::from_rows(usages, page, |u| u.id.to_string()))
    }
}
