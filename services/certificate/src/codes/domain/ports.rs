//! What the codes part needs from storage. The store implements these on
//! sea-orm; each write carries its events and audit record in one
//! transaction.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;
use zhongtai_audit::AuditRecord;
use zhongtai_kit::{Actor, DivisionCode, Page, PageQuery, TenantScope};

use super::model::{DependantLink, OfflineCode, ScanRecord, Venue};
use crate::shared::CertificateError;

/// How an idempotent insert went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Inserted {
    Inserted,
    /// A unique key was taken: the same request id (a repeat, or a race
    /// with one), or the natural key. The caller looks which.
    Duplicate,
}

/// A time window of scans: `[start, end)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
}

#[async_trait]
pub trait VenueRepository: Send + Sync + 'static {
    async fn insert(
        &self,
        venue: &Venue,
        request_id: &str,
        actor: &Actor,
        audit: &AuditRecord,
    ) -> Result<Inserted, CertificateError>;

    async fn by_request(
        &self,
        scope: &TenantScope,
        request_id: &str,
    ) -> Result<Option<Venue>, CertificateError>;

    async fn get(&self, scope: &TenantScope, id: Uuid) -> Result<Option<Venue>, CertificateError>;

    /// In id (registration) order; `within` limits them to a division.
    async fn list(
        &self,
        scope: &TenantScope,
        within: Option<&DivisionCode>,
        page: &PageQuery,
    ) -> Result<Page<Venue>, CertificateError>;
}

/// Dependant links belong to their guardian (a person, not a tenant):
/// every query names the guardian's holder key.
#[async_trait]
pub trait DependantRepository: Send + Sync + 'static {
    async fn insert(
        &self,
        link: &DependantLink,
        request_id: &str,
        actor: &Actor,
        audit: &AuditRecord,
    ) -> Result<Inserted, CertificateError>;

    async fn by_request(
        &self,
        guardian_key: &str,
        request_id: &str,
    ) -> Result<Option<DependantLink>, CertificateError>;

    async fn get(
        &self,
        guardian_key: &str,
        id: Uuid,
    ) -> Result<Option<DependantLink>, CertificateError>;

    /// The guardian's links in id (creation) order.
    async fn list(
        &self,
        guardian_key: &str,
        page: &PageQuery,
    ) -> Result<Page<DependantLink>, CertificateError>;

    /// The guardian's active links (a handful), in creation order.
    async fn active(&self, guardian_key: &str) -> Result<Vec<DependantLink>, CertificateError>;

    /// Marks `link` (already REMOVED in memory) removed, if it is still
    /// active; `false` when it was not.
    async fn remove(
        &self,
        link: &DependantLink,
        actor: &Actor,
        audit: &AuditRecord,
    ) -> Result<bool, CertificateError>;
}

#[async_trait]
pub trait OfflineCodeRepository: Send + Sync + 'static {
    async fn insert(
        &self,
        code: &OfflineCode,
        request_id: &str,
        audit: &AuditRecord,
    ) -> Result<Inserted, CertificateError>;

    async fn by_request(
        &self,
        scope: &TenantScope,
        request_id: &str,
    ) -> Result<Option<OfflineCode>, CertificateError>;

    async fn get(
        &self,
        scope: &TenantScope,
        id: Uuid,
    ) -> Result<Option<OfflineCode>, CertificateError>;

    /// Records the revocation of `code` (revocation fields set), if it is
    /// not revoked yet; `false` when it already was.
    async fn revoke(
        &self,
        code: &OfflineCode,
        actor: &Actor,
        audit: &AuditRecord,
    ) -> Result<bool, CertificateError>;

    /// `(id, expiry)` of codes revoked at or after `since` (every revoked
    /// code not expired at `now` when `None`), across all tenants: each
    /// instance keeps the whole set.
    async fn revoked_since(
        &self,
        since: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Result<Vec<(Uuid, DateTime<Utc>)>, CertificateError>;
}

/// Whether a scan handed to the log was new.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Logged {
    Recorded,
    /// A scan with this id was recorded before (a retry).
    AlreadyRecorded,
}

/// Where scans go: durably, before `record` returns.
#[async_trait]
pub trait ScanLog: Send + Sync + 'static {
    /// Overloaded when too many scans wait to be written.
    async fn record(&self, scan: ScanRecord) -> Result<Logged, CertificateError>;
}

#[async_trait]
pub trait ScanRepository: Send + Sync + 'static {
    async fn get(
        &self,
        scope: &TenantScope,
        scan_id: Uuid,
    ) -> Result<Option<ScanRecord>, CertificateError>;

    /// Scans at the venue within the window, oldest first.
    async fn at_venue(
        &self,
        scope: &TenantScope,
        venue_id: Uuid,
        window: Window,
        page: &PageQuery,
    ) -> Result<Page<ScanRecord>, CertificateError>;

    /// Scans of the holder within the window, oldest first: in `scope`, or
    /// wherever they were when `own` (the holder asks about themself).
    async fn of_holder(
        &self,
        scope: &TenantScope,
        holder_key: &str,
        own: bool,
        window: Window,
        page: &PageQuery,
    ) -> Result<Page<ScanRecord>, CertificateError>;
}
