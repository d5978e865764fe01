//! What the domain needs from storage. The store module implements it.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;
use zhongtai_audit::AuditRecord;
use zhongtai_kit::{Page, PageQuery};

use super::app::{App, AppScope, AppState};
use super::capability::{Capability, CapabilityName};
use super::credential::{Credential, NewCredential, SigningCredential};
use super::error::GatewayError;
use super::policy::{Policy, PolicyTarget};

/// Which apps a list returns.
#[derive(Debug, Clone, Default)]
pub struct AppFilter {
    pub state: Option<AppState>,
    /// Only apps allowed to call this capability.
    pub capability: Option<CapabilityName>,
}

/// Persistence of integrator apps. Every write bumps the configuration
/// revision and appends its audit record in the same transaction.
#[async_trait]
pub trait AppRepository: Send + Sync + 'static {
    /// Apps sponsored within `scope`, in id order.
    async fn list(
        &self,
        scope: &AppScope,
        filter: &AppFilter,
        page: &PageQuery,
    ) -> Result<Page<App>, GatewayError>;
    /// One app, if it is inside `scope`.
    async fn get(&self, scope: &AppScope, id: Uuid) -> Result<Option<App>, GatewayError>;
    /// Stores a new app; when `request_id` was used before, returns the app
    /// registered with it instead (whatever its sponsor: the caller checks).
    async fn register(
        &self,
        app: &App,
        request_id: &str,
        audit: &AuditRecord,
    ) -> Result<App, GatewayError>;
    /// Replaces the stored app whose version is still `expected_version`;
    /// VersionConflict otherwise.
    async fn save(
        &self,
        app: &App,
        expected_version: i64,
        audit: &AuditRecord,
    ) -> Result<App, GatewayError>;
}

/// Persistence of app credentials. Writes bump the configuration revision.
#[async_trait]
pub trait CredentialRepository: Send + Sync + 'static {
    /// An app's credentials, newest first.
    async fn list(&self, app_id: Uuid, page: &PageQuery) -> Result<Page<Credential>, GatewayError>;
    /// One credential by app key.
    async fn get(&self, app_key: &str) -> Result<Option<Credential>, GatewayError>;
    /// Stores `new` unless its app already holds `max_live` credentials
    /// accepted at `now` (FailedPrecondition).
    async fn issue(
        &self,
        new: &NewCredential,
        max_live: u64,
        now: DateTime<Utc>,
        audit: &AuditRecord,
    ) -> Result<(), GatewayError>;
    /// Stores `new` and marks `previous_key` rotating until `previous_expires_at`,
    /// if it is still accepted at `now` (FailedPrecondition otherwise).
    async fn rotate(
        &self,
        new: &NewCredential,
        previous_key: &str,
        previous_expires_at: DateTime<Utc>,
        now: DateTime<Utc>,
        audit: &AuditRecord,
    ) -> Result<Credential, GatewayError>;
    /// Marks a credential revoked at `at`, with `reason`.
    async fn revoke(
        &self,
        app_key: &str,
        at: DateTime<Utc>,
        reason: &str,
        audit: &AuditRecord,
    ) -> Result<Credential, GatewayError>;
    /// Records when keys last signed an accepted request; not a
    /// configuration change, so the revision stays.
    async fn mark_used(&self, used: &[(String, DateTime<Utc>)]) -> Result<(), GatewayError>;
}

/// Which capabilities a list returns.
#[derive(Debug, Clone, Default)]
pub struct CapabilityFilter {
    pub published_only: bool,
    /// Only capabilities calling this backend service.
    pub backend_service: Option<String>,
}

/// Persistence of capabilities (platform-wide). Writes bump the
/// configuration revision.
#[async_trait]
pub trait CapabilityRepository: Send + Sync + 'static {
    /// Stores a new capability; when `request_id` was used before, returns
    /// the capability created with it. AlreadyExists for a taken (name,
    /// version) or (HTTP method, route template).
    async fn create(
        &self,
        capability: &Capability,
        request_id: &str,
        audit: &AuditRecord,
    ) -> Result<Capability, GatewayError>;
    /// One version.
    async fn get(
        &self,
        name: &CapabilityName,
        version: &str,
    ) -> Result<Option<Capability>, GatewayError>;
    /// Every version of a capability.
    async fn versions(&self, name: &CapabilityName) -> Result<Vec<Capability>, GatewayError>;
    /// Capabilities by name and version.
    async fn list(
        &self,
        filter: &CapabilityFilter,
        page: &PageQuery,
    ) -> Result<Page<Capability>, GatewayError>;
    /// Replaces the stored version whose revision is still
    /// `expected_revision`; AlreadyExists when its route is taken by another.
    async fn save(
        &self,
        capability: &Capability,
        expected_revision: i64,
        audit: &AuditRecord,
    ) -> Result<Capability, GatewayError>;
    /// Deletes an unpublished version (FailedPrecondition if published).
    async fn delete(
        &self,
        name: &CapabilityName,
        version: &str,
        audit: &AuditRecord,
    ) -> Result<(), GatewayError>;
}

/// Persistence of policies. Writes bump the configuration revision.
#[async_trait]
pub trait PolicyRepository: Send + Sync + 'static {
    /// The policy of (app, target).
    async fn get(
        &self,
        app_id: Uuid,
        target: &PolicyTarget,
    ) -> Result<Option<Policy>, GatewayError>;
    /// Policies of the apps inside `scope` (or of one of them), by app.
    async fn list(
        &self,
        scope: &AppScope,
        app_id: Option<Uuid>,
        page: &PageQuery,
    ) -> Result<Page<Policy>, GatewayError>;
    /// Creates or replaces the policy of (`policy.app_id`, `policy.target`);
    /// `expected_version` 0 overwrites unconditionally, otherwise a stored
    /// policy at another version (or none) is a VersionConflict. The id,
    /// version and times are assigned here.
    async fn set(
        &self,
        policy: &Policy,
        expected_version: i64,
        audit: &AuditRecord,
    ) -> Result<Policy, GatewayError>;
    /// Deletes the policy of (app, target); NotFound if there is none.
    async fn delete(
        &self,
        app_id: Uuid,
        target: &PolicyTarget,
        audit: &AuditRecord,
    ) -> Result<(), GatewayError>;
}

/// Everything the front door routes and checks calls with, read in one go.
#[derive(Debug, Clone, Default)]
pub struct ConfigSnapshotData {
    /// The configuration revision this was read at.
    pub revision: i64,
    /// Every app, active or disabled.
    pub apps: Vec<App>,
    /// Credentials that may still be accepted (active or rotating, not
    /// past expiry when read), with their secrets opened.
    pub credentials: Vec<SigningCredential>,
    /// Published capabilities.
    pub capabilities: Vec<Capability>,
    /// Every policy.
    pub policies: Vec<Policy>,
}

/// Where every gateway instance reads the configuration it enforces.
#[async_trait]
pub trait ConfigSource: Send + Sync + 'static {
    /// The current revision; moves with every change to apps, credentials,
    /// capabilities or policies.
    async fn revision(&self) -> Result<i64, GatewayError>;
    /// The whole configuration, consistent at one revision.
    async fn load(&self) -> Result<ConfigSnapshotData, GatewayError>;
}

/// The current time at the precision both databases keep (microseconds),
/// so what a write returns equals what a later read returns.
pub fn now() -> DateTime<Utc> {
    use chrono::SubsecRound;
    Utc::now().trunc_subsecs(6)
}
