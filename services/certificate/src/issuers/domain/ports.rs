//! What the issuers part needs from storage. Every write carries its
//! events and audit record into the transaction that makes it; writes that
//! change the trust list move its version in that transaction too and
//! answer with the list as it then stands.

use async_trait::async_trait;
use uuid::Uuid;
use zhongtai_audit::AuditRecord;
use zhongtai_kit::{Actor, Page, PageQuery, TenantId, TenantScope};

use super::issuer::Issuer;
use super::keys::{KeyRecord, LatestExpiry, NewKey, NewPlatformKey, PlatformKeyRecord};
use super::trust_list::TrustList;
use crate::shared::{CertificateError, CertificateType};

/// The result of an idempotent create.
#[derive(Debug)]
pub enum CreateOutcome<T> {
    Created(T),
    /// The same request id was seen before: this is what it created.
    AlreadyCreated(T),
}

impl<T> CreateOutcome<T> {
    pub fn into_inner(self) -> T {
        match self {
            Self::Created(value) | Self::AlreadyCreated(value) => value,
        }
    }
}

/// The result of a write guarded by a version or state check.
#[derive(Debug)]
pub enum Saved<T> {
    Saved(T),
    /// Someone else changed the row first; nothing was written.
    Conflict,
}

/// A changed certificate type, to store if it is still at `expected_version`.
#[derive(Debug, Clone)]
pub struct TypeChange {
    pub certificate_type: CertificateType,
    pub expected_version: i64,
    pub changed_fields: Vec<String>,
    pub actor: Actor,
}

/// Certificate types (platform-wide).
#[async_trait]
pub trait TypeRepository: Send + Sync + 'static {
    /// `AlreadyExists` when the code is taken by another request.
    async fn create(
        &self,
        request_id: &str,
        certificate_type: &CertificateType,
        actor: &Actor,
        audit: &AuditRecord,
    ) -> Result<CreateOutcome<CertificateType>, CertificateError>;

    async fn get(&self, code: &str) -> Result<Option<CertificateType>, CertificateError>;

    /// Which of `codes` exist.
    async fn existing(&self, codes: &[String]) -> Result<Vec<String>, CertificateError>;

    /// Types in code order.
    async fn list(&self, page: &PageQuery) -> Result<Page<CertificateType>, CertificateError>;

    async fn update(
        &self,
        change: &TypeChange,
        audit: &AuditRecord,
    ) -> Result<Saved<()>, CertificateError>;
}

/// Which issuers a caller's reads reach.
#[derive(Debug, Clone)]
pub enum IssuerVisibility {
    /// Every issuer: the platform, and the center's own work.
    Everything,
    /// The issuers of the scope's tenants.
    Scope(TenantScope),
}

/// Which issuers a list returns.
#[derive(Debug, Clone, Default)]
pub struct IssuerFilter {
    /// Only issuers of exactly this tenant.
    pub tenant: Option<TenantId>,
}

/// A changed issuer, to store if it is still at `expected_version`.
#[derive(Debug, Clone)]
pub struct IssuerChange {
    pub issuer: Issuer,
    pub expected_version: i64,
    pub changed_fields: Vec<String>,
    pub actor: Actor,
}

/// A new issuer with its first key.
pub struct NewIssuer<'a> {
    pub request_id: &'a str,
    pub issuer: &'a Issuer,
    pub key: &'a NewKey,
    pub actor: &'a Actor,
}

/// An issuer's active key replaced by a new one.
pub struct Rotation<'a> {
    pub request_id: &'a str,
    pub issuer: &'a Issuer,
    /// The previously active key, as it is once retired.
    pub retired: &'a KeyRecord,
    pub new_key: &'a NewKey,
    pub actor: &'a Actor,
}

/// A key revoked, and the issuer's new key when it was the active one.
pub struct Revocation<'a> {
    pub issuer: &'a Issuer,
    /// The key as it is once revoked.
    pub key: &'a KeyRecord,
    pub replacement: Option<&'a NewKey>,
    pub reason: &'a str,
    pub actor: &'a Actor,
}

/// A key made by a request, and the key it replaced (rotations).
#[derive(Debug, Clone)]
pub struct MadeKey {
    pub record: KeyRecord,
    pub replaces: Option<String>,
}

/// A key with its sealed private part.
#[derive(Debug, Clone)]
pub struct StoredKey {
    pub record: KeyRecord,
    pub sealed_private_key: Vec<u8>,
}

/// Issuers (tenant-owned), their keys and the trust list.
#[async_trait]
pub trait IssuerRepository: Send + Sync + 'static {
    /// Issuers in id (creation) order.
    async fn list(
        &self,
        visibility: &IssuerVisibility,
        filter: &IssuerFilter,
        page: &PageQuery,
    ) -> Result<Page<Issuer>, CertificateError>;

    async fn get(
        &self,
        visibility: &IssuerVisibility,
        id: Uuid,
    ) -> Result<Option<Issuer>, CertificateError>;

    /// The key a CreateIssuer or RotateSigningKey request made.
    async fn key_made_by(&self, request_id: &str) -> Result<Option<MadeKey>, CertificateError>;

    /// `Saved(trust list)`, or `Conflict` when the request id was taken
    /// meanwhile (then look it up with [`Self::key_made_by`]).
    async fn create(
        &self,
        new: NewIssuer<'_>,
        audit: &AuditRecord,
    ) -> Result<Saved<TrustList>, CertificateError>;

    /// `Saved(Some(trust list))` when the change reached the trust list.
    async fn update(
        &self,
        change: &IssuerChange,
        audit: &AuditRecord,
    ) -> Result<Saved<Option<TrustList>>, CertificateError>;

    async fn key(&self, key_id: &str) -> Result<Option<StoredKey>, CertificateError>;

    /// An issuer's keys, newest first.
    async fn keys(
        &self,
        issuer_id: Uuid,
        page: &PageQuery,
    ) -> Result<Page<KeyRecord>, CertificateError>;

    async fn active_key(&self, issuer_id: Uuid) -> Result<Option<KeyRecord>, CertificateError>;

    /// What the certificates signed with `key_id` say about its lifetime.
    async fn latest_expiry(&self, key_id: &str) -> Result<LatestExpiry, CertificateError>;

    /// `Conflict` when the retired key was no longer active, or the
    /// request id was taken meanwhile.
    async fn rotate(
        &self,
        rotation: Rotation<'_>,
        audit: &AuditRecord,
    ) -> Result<Saved<TrustList>, CertificateError>;

    /// `Conflict` when the key changed state meanwhile.
    async fn revoke(
        &self,
        revocation: Revocation<'_>,
        previous: &KeyRecord,
        audit: &AuditRecord,
    ) -> Result<Saved<TrustList>, CertificateError>;

    /// Keys retired since `since` that stop verifying at some point.
    async fn retired_since(
        &self,
        since: chrono::DateTime<chrono::Utc>,
    ) -> Result<Vec<KeyRecord>, CertificateError>;

    /// Sets a retired key's `verify_until` later (`None`: forever) and
    /// publishes the list; `Conflict` when it changed meanwhile.
    async fn extend_verify_until(
        &self,
        key: &KeyRecord,
        verify_until: Option<chrono::DateTime<chrono::Utc>>,
        audit: &AuditRecord,
    ) -> Result<Saved<TrustList>, CertificateError>;

    async fn trust_list_version(&self) -> Result<i64, CertificateError>;

    /// The current list, revoked keys left out.
    async fn trust_list(&self) -> Result<TrustList, CertificateError>;

    async fn platform_key(&self) -> Result<Option<(PlatformKeyRecord, Vec<u8>)>, CertificateError>;

    /// `Conflict` when another instance created it first.
    async fn create_platform_key(
        &self,
        key: &NewPlatformKey,
        audit: &AuditRecord,
    ) -> Result<Saved<TrustList>, CertificateError>;
}
