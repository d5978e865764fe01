//! What the consents workflow needs from storage. Every write commits with
//! its events and audit record in one transaction.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;
use zhongtai_audit::AuditRecord;
use zhongtai_credential::SigningKey;
use zhongtai_kit::{Page, PageQuery, TenantScope};

use super::identity::Viewer;
use super::model::{Consent, ConsentFilter, ConsentedCertificate, Disclosure, Usage};
use super::rules::Change;
use crate::shared::{CertificateError, ConsentRefusal};

/// How an idempotent create ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Created {
    Created(Consent),
    /// The app used the request id before; `fingerprint` is that request's.
    Existing {
        consent: Consent,
        fingerprint: String,
    },
}

/// How a version-checked save ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Saved {
    Saved,
    /// The consent changed since it was read; nothing was written.
    Conflict,
}

/// A read to count, if the guarded update still lets it: state ACTIVE,
/// within the period, reads below the limit.
pub struct ReadToCount {
    pub consent: Consent,
    /// The attempt; its read number is assigned when counted.
    pub usage: Usage,
    pub certificates: Vec<ConsentedCertificate>,
    pub now: DateTime<Utc>,
    /// Re-signs the record when this read exhausts the consent.
    pub platform_key: Arc<SigningKey>,
    pub audit: AuditRecord,
}

/// How counting a read ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Counted {
    Allowed(Disclosure),
    /// The guarded update refused; the refused attempt was logged.
    Refused {
        refusal: ConsentRefusal,
        consent: Consent,
    },
    /// A concurrent retry with the same request id was counted first.
    AlreadyCounted(Disclosure),
}

/// Consents, their read log and their changes.
#[async_trait]
pub trait ConsentStore: Send + Sync + 'static {
    /// The consent `app_id` asked for with `request_id`, with that request's
    /// fingerprint; `scope` is the app's own.
    async fn by_request(
        &self,
        scope: &TenantScope,
        app_id: &str,
        request_id: &str,
    ) -> Result<Option<(Consent, String)>, CertificateError>;

    /// Inserts the consent `change` opened, unless the app's request id was
    /// used already (also by a concurrent request).
    async fn create(
        &self,
        scope: &TenantScope,
        change: &Change,
        fingerprint: &str,
        audit: &AuditRecord,
    ) -> Result<Created, CertificateError>;

    /// The consent if `viewer` sees it.
    async fn visible(&self, viewer: &Viewer, id: Uuid)
    -> Result<Option<Consent>, CertificateError>;

    /// The consent a read or a party's action names, whoever acts: a read
    /// by anyone but the consent's app is refused and logged on the
    /// consent, where its parties see it; acting for a party one is not is
    /// refused as such. `scope` is the caller's own.
    async fn addressed(
        &self,
        scope: &TenantScope,
        id: Uuid,
    ) -> Result<Option<Consent>, CertificateError>;

    /// Consents `viewer` sees, newest first.
    async fn list(
        &self,
        viewer: &Viewer,
        filter: &ConsentFilter,
        page: &PageQuery,
    ) -> Result<Page<Consent>, CertificateError>;

    /// Saves `change` if the consent is still at `change.previous_version`.
    async fn save(&self, change: &Change, audit: &AuditRecord) -> Result<Saved, CertificateError>;

    /// Open consents whose period is over at `now`, oldest first: for the
    /// expiry timer, across tenants.
    async fn past_period(
        &self,
        now: DateTime<Utc>,
        limit: u64,
    ) -> Result<Vec<Consent>, CertificateError>;

    /// The allowed read of `consent` made with `request_id`, as it was
    /// returned.
    async fn counted_read(
        &self,
        consent: &Consent,
        request_id: &str,
    ) -> Result<Option<Disclosure>, CertificateError>;

    /// In one transaction: counts the read with a guarded update, logs it
    /// (allowed, or refused with the reason the consent gives now), marks
    /// the consent EXHAUSTED when this read used up its limit, and records
    /// the events and audit.
    async fn count_read(&self, read: ReadToCount) -> Result<Counted, CertificateError>;

    /// Logs a refused attempt with its event and audit record.
    async fn log_refusal(
        &self,
        consent: &Consent,
        usage: &Usage,
        audit: &AuditRecord,
    ) -> Result<(), CertificateError>;

    /// The consent's read attempts, newest first.
    async fn usage(
        &self,
        consent: &Consent,
        page: &PageQuery,
    ) -> Result<Page<Usage>, CertificateError>;
}
