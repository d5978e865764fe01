//! What the domain needs from the outside: storage (implemented by
//! `crate::store`) and the approval center's review (implemented by
//! `crate::review`). Reads take the caller's scope; rows outside what it
//! may see do not exist for the call.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;
use zhongtai_kit::auth::Credential;
use zhongtai_kit::{DivisionCode, Page, PageQuery, TenantId, TenantScope};

use super::access_request::{AccessRequest, AccessRequestState};
use super::changes::Changes;
use super::error::CatalogError;
use super::grant::{Grant, GrantState};
use super::resource::{Resource, ResourceLayer, ResourceVersion};
use super::search::{ScoredResource, SearchQuery};

/// Which resources a list returns.
#[derive(Debug, Clone, Default)]
pub struct ResourceFilter {
    /// Owner; a tenant without a department matches every department of its
    /// division.
    pub owner: Option<TenantId>,
    pub layer: Option<ResourceLayer>,
    /// The scope's own retired resources are listed too.
    pub include_retired: bool,
}

/// Resources as the caller may see them: its own scope's, those shared
/// with every tenant, and those its tenant holds a usable grant on.
#[async_trait]
pub trait ResourceRepository: Send + Sync + 'static {
    /// The resource the scope registered with `request_id`.
    async fn by_request_id(
        &self,
        scope: &TenantScope,
        request_id: &str,
    ) -> Result<Option<Resource>, CatalogError>;

    /// One visible resource in its current version.
    async fn visible(
        &self,
        scope: &TenantScope,
        id: Uuid,
    ) -> Result<Option<Resource>, CatalogError>;

    /// Visible resources among `ids`, in no particular order.
    async fn visible_among(
        &self,
        scope: &TenantScope,
        ids: &[Uuid],
    ) -> Result<Vec<Resource>, CatalogError>;

    /// One past version of a visible resource.
    async fn version(
        &self,
        scope: &TenantScope,
        id: Uuid,
        version: i64,
    ) -> Result<Option<ResourceVersion>, CatalogError>;

    /// Visible resources ordered by title.
    async fn list(
        &self,
        scope: &TenantScope,
        filter: &ResourceFilter,
        page: &PageQuery,
    ) -> Result<Page<Resource>, CatalogError>;

    /// A visible resource's history, newest first.
    async fn versions(
        &self,
        scope: &TenantScope,
        id: Uuid,
        page: &PageQuery,
    ) -> Result<Page<ResourceVersion>, CatalogError>;

    /// Visible, published resources holding every query term, best score
    /// first; `limit` of them after skipping `offset`.
    async fn search(
        &self,
        scope: &TenantScope,
        query: &SearchQuery,
        offset: u64,
        limit: u64,
    ) -> Result<Vec<ScoredResource>, CatalogError>;
}

/// Which access requests a list returns.
#[derive(Debug, Clone, Default)]
pub struct RequestFilter {
    /// Requests on the scope's resources instead of requests it made.
    pub as_owner: bool,
    pub resource_id: Option<Uuid>,
    pub states: Vec<AccessRequestState>,
}

/// Which grants a list returns.
#[derive(Debug, Clone, Default)]
pub struct GrantFilter {
    /// Grants on the scope's resources instead of grants it holds.
    pub as_owner: bool,
    pub resource_id: Option<Uuid>,
    pub states: Vec<GrantState>,
    pub grantee: Option<TenantId>,
    /// Only grants given by tenants of exactly this division (a data
    /// bureau's view of its division).
    pub owner_division: Option<DivisionCode>,
}

/// Access requests and grants. A request belongs to its requester and is
/// also seen by the resource's owner; a grant belongs to the owner and is
/// also seen by its grantee.
#[async_trait]
pub trait AccessRepository: Send + Sync + 'static {
    /// The request the scope made with `request_id`.
    async fn request_by_request_id(
        &self,
        scope: &TenantScope,
        request_id: &str,
    ) -> Result<Option<AccessRequest>, CatalogError>;

    /// A request the scope made or received.
    async fn request(
        &self,
        scope: &TenantScope,
        id: Uuid,
    ) -> Result<Option<AccessRequest>, CatalogError>;

    /// Requests newest first.
    async fn requests(
        &self,
        scope: &TenantScope,
        filter: &RequestFilter,
        page: &PageQuery,
    ) -> Result<Page<AccessRequest>, CatalogError>;

    /// A grant the scope gave or holds.
    async fn grant(&self, scope: &TenantScope, id: Uuid) -> Result<Option<Grant>, CatalogError>;

    /// Grants newest first.
    async fn grants(
        &self,
        scope: &TenantScope,
        filter: &GrantFilter,
        page: &PageQuery,
    ) -> Result<Page<Grant>, CatalogError>;

    /// Grants the scope gave on a resource (for a given state set; empty
    /// means all), or, with `held`, those it holds on it.
    async fn grants_on(
        &self,
        scope: &TenantScope,
        resource_id: Uuid,
        held: bool,
        states: &[GrantState],
    ) -> Result<Vec<Grant>, CatalogError>;

    /// Usable grants the scope holds on any of `resource_ids`.
    async fn usable_held_on(
        &self,
        scope: &TenantScope,
        resource_ids: &[Uuid],
    ) -> Result<Vec<Grant>, CatalogError>;

    /// Ids of the resources the scope holds usable grants on, in id order.
    async fn usable_held_resources(
        &self,
        scope: &TenantScope,
        page: &PageQuery,
    ) -> Result<Page<Uuid>, CatalogError>;

    /// Usable grants of every tenant whose period ended by `now` (platform
    /// work for the expiry timer).
    async fn due_for_expiry(
        &self,
        now: DateTime<Utc>,
        limit: u64,
    ) -> Result<Vec<Grant>, CatalogError>;
}

/// Commits one state change atomically.
#[async_trait]
pub trait ChangeStore: Send + Sync + 'static {
    /// Writes everything in `changes` in one transaction.
    /// [`CatalogError::VersionConflict`] when an update's expected version
    /// is no longer stored, [`CatalogError::Duplicate`] when an insert hits
    /// a unique key; nothing is written then.
    async fn commit(&self, changes: Changes) -> Result<(), CatalogError>;
}

/// An access request to be reviewed, with what the reviewers need to know.
#[derive(Debug, Clone)]
pub struct ReviewSubmission {
    pub request: AccessRequest,
    pub resource: Resource,
    /// The data bureau tenant whose service item runs the review.
    pub item_tenant: TenantId,
    pub item_code: String,
}

/// Why the approval center did not do what was asked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReviewError {
    /// The named service item does not exist.
    #[error("service item not found")]
    ItemNotFound,
    /// It could not be reached; a retry may succeed.
    #[error("unavailable: {0}")]
    Unavailable(String),
    /// It refused the caller.
    #[error("denied: {message}")]
    Denied {
        reason: String,
        target: String,
        message: String,
    },
    /// It refused the request's content.
    #[error("invalid: {0:?}")]
    Invalid(Vec<(String, String)>),
    /// The application's state does not allow it (e.g. recalling after a
    /// stage acted).
    #[error("refused: {0}")]
    Refused(String),
    /// Anything else.
    #[error("failed: {0}")]
    Failed(String),
}

/// The approval center as the catalog uses it. Calls carry the caller's
/// own credential, so the approval center checks the same identity.
#[async_trait]
pub trait AccessReview: Send + Sync + 'static {
    /// Raises the application reviewing `submission`; its id.
    async fn submit(
        &self,
        credential: Option<&Credential>,
        submission: &ReviewSubmission,
    ) -> Result<String, ReviewError>;

    /// Recalls a pending application.
    async fn recall(
        &self,
        credential: Option<&Credential>,
        application_id: &str,
        request_id: &str,
        reason: &str,
    ) -> Result<(), ReviewError>;
}
