//! What the domain needs from storage. The store module implements it.
//! Every write commits with its events and its audit record in one
//! transaction.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;
use zhongtai_audit::AuditRecord;
use zhongtai_kit::{Actor, Page, PageQuery, Role, TenantId, TenantScope};

use super::application::{
    Application, ApplicationStatus, HistoryEntry, Task, TaskStatus, Transition,
};
use super::error::ApprovalError;
use super::process::ProcessDefinition;
use super::service_item::{ItemKind, ItemState, ServiceItem};

/// Result of an idempotent create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CreateOutcome<T> {
    Created(T),
    /// The same request id was seen before: this is what it created.
    AlreadyCreated(T),
}

impl<T> CreateOutcome<T> {
    pub fn into_inner(self) -> T {
        match self {
            CreateOutcome::Created(value) | CreateOutcome::AlreadyCreated(value) => value,
        }
    }
}

/// Whether an optimistic write went through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Saved {
    Saved,
    /// Someone else changed the row first; nothing was written.
    Conflict,
}

/// Which items a list returns.
#[derive(Debug, Clone, Default)]
pub struct ItemFilter {
    pub tenant: Option<TenantId>,
    pub state: Option<ItemState>,
    pub kind: Option<ItemKind>,
}

/// How a submission names its item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ItemLookup {
    Id(Uuid),
    Key { tenant: TenantId, code: String },
}

/// A change of a service item, as its event describes it.
#[derive(Debug, Clone)]
pub struct ItemChange {
    pub item: ServiceItem,
    pub expected_version: i64,
    pub changed_fields: Vec<String>,
    pub actor: Actor,
}

/// Persistence of service items. Every method works inside a tenant scope:
/// rows outside it do not exist for the call.
#[async_trait]
pub trait ServiceItemRepository: Send + Sync + 'static {
    /// Stores `item`, its `approval.service_item.created` event and `audit`
    /// in one transaction. A repeated `request_id` (same tenant) returns the
    /// item the first request created.
    async fn create(
        &self,
        scope: &TenantScope,
        request_id: &str,
        item: ServiceItem,
        audit: &AuditRecord,
    ) -> Result<CreateOutcome<ServiceItem>, ApprovalError>;

    async fn get(
        &self,
        scope: &TenantScope,
        id: Uuid,
    ) -> Result<Option<ServiceItem>, ApprovalError>;

    /// Items in creation order.
    async fn list(
        &self,
        scope: &TenantScope,
        filter: &ItemFilter,
        page: &PageQuery,
    ) -> Result<Page<ServiceItem>, ApprovalError>;

    /// An item the scope's tenant may apply to: one of its own, or a
    /// data-access item of any tenant (every department may ask for data).
    async fn find_for_submission(
        &self,
        scope: &TenantScope,
        lookup: &ItemLookup,
    ) -> Result<Option<ServiceItem>, ApprovalError>;

    /// Stores the changed item with its `approval.service_item.updated`
    /// event, if the stored version is still `expected_version`.
    async fn update(
        &self,
        scope: &TenantScope,
        change: &ItemChange,
        audit: &AuditRecord,
    ) -> Result<Saved, ApprovalError>;
}

/// Persistence of process definition versions, scoped like items.
#[async_trait]
pub trait ProcessRepository: Send + Sync + 'static {
    /// Stores version 1 with its `created` event. A repeated `request_id`
    /// returns the version that request created (whatever it was).
    async fn create(
        &self,
        scope: &TenantScope,
        request_id: &str,
        process: &ProcessDefinition,
        audit: &AuditRecord,
    ) -> Result<CreateOutcome<ProcessDefinition>, ApprovalError>;

    /// The version a request id created in the scope's tenant.
    async fn find_by_request(
        &self,
        scope: &TenantScope,
        request_id: &str,
    ) -> Result<Option<ProcessDefinition>, ApprovalError>;

    /// Stores `next` as the new latest version and retires `previous`
    /// (SUPERSEDED unless deprecated), with the `revised` event — if
    /// `previous` is still the latest; else [`Saved::Conflict`].
    async fn revise(
        &self,
        scope: &TenantScope,
        request_id: &str,
        previous: &ProcessDefinition,
        next: &ProcessDefinition,
        audit: &AuditRecord,
    ) -> Result<Saved, ApprovalError>;

    /// One version; `None` for the latest.
    async fn get(
        &self,
        scope: &TenantScope,
        id: Uuid,
        version: Option<i64>,
    ) -> Result<Option<ProcessDefinition>, ApprovalError>;

    /// The latest version of each definition, ordered by key.
    async fn list_latest(
        &self,
        scope: &TenantScope,
        tenant: Option<&TenantId>,
        page: &PageQuery,
    ) -> Result<Page<ProcessDefinition>, ApprovalError>;

    /// Every version of one definition, newest first.
    async fn list_versions(
        &self,
        scope: &TenantScope,
        id: Uuid,
        page: &PageQuery,
    ) -> Result<Page<ProcessDefinition>, ApprovalError>;

    /// Marks the version deprecated with its event, unless it already is
    /// (then [`Saved::Conflict`] and nothing is written).
    async fn deprecate(
        &self,
        scope: &TenantScope,
        deprecated: &ProcessDefinition,
        reason: &str,
        actor: &Actor,
        audit: &AuditRecord,
    ) -> Result<Saved, ApprovalError>;
}

/// Who reads applications: the tenants of its read scope, and the user it
/// is (for tasks assigned to it by name).
#[derive(Debug, Clone)]
pub struct Viewer {
    pub scope: TenantScope,
    pub subject: String,
}

/// Who looks for its tasks: department roles it holds in its own tenant,
/// and tasks assigned to it by name.
#[derive(Debug, Clone)]
pub struct TaskHolder {
    pub scope: TenantScope,
    pub roles: Vec<Role>,
    pub subject: String,
}

/// Which applications a list returns.
#[derive(Debug, Clone, Default)]
pub struct ApplicationFilter {
    pub statuses: Vec<ApplicationStatus>,
    pub service_item_id: Option<Uuid>,
    pub applicant_subject: Option<String>,
    pub origin_service: Option<String>,
}

/// Persistence of applications: one document per application with its
/// history, a queryable task table and the parties that may see it.
#[async_trait]
pub trait ApplicationRepository: Send + Sync + 'static {
    /// The application `subject` of the scope's tenant submitted with
    /// `request_id`, if any.
    async fn find_submission(
        &self,
        applicant: &TenantScope,
        subject: &str,
        request_id: &str,
    ) -> Result<Option<Application>, ApprovalError>;

    /// Stores a new application with its history, events and audit. A
    /// concurrent submission with the same key wins: `AlreadyCreated`.
    async fn insert(
        &self,
        application: &Application,
        transitions: &[Transition],
        audit: &AuditRecord,
    ) -> Result<CreateOutcome<()>, ApprovalError>;

    /// An application one of whose parties the viewer is.
    async fn load(&self, viewer: &Viewer, id: Uuid) -> Result<Option<Application>, ApprovalError>;

    /// Entries `application` got from `request_id`, oldest first.
    async fn entries_of_request(
        &self,
        application: &Application,
        request_id: &str,
    ) -> Result<Vec<HistoryEntry>, ApprovalError>;

    /// Stores the application after `transitions` (their entries, events,
    /// tasks and parties) and `audit`, if its stored version is still
    /// `expected_version`; else [`Saved::Conflict`] and nothing is written.
    async fn save(
        &self,
        application: &Application,
        expected_version: i64,
        transitions: &[Transition],
        audit: &AuditRecord,
    ) -> Result<Saved, ApprovalError>;

    /// A page of the history, oldest first.
    async fn history(
        &self,
        application: &Application,
        page: &PageQuery,
    ) -> Result<Page<HistoryEntry>, ApprovalError>;

    /// Applications the viewer may see, newest first.
    async fn list(
        &self,
        viewer: &Viewer,
        filter: &ApplicationFilter,
        page: &PageQuery,
    ) -> Result<Page<Application>, ApprovalError>;

    /// Tasks assigned to the holder, soonest due first, with their
    /// applications.
    async fn tasks_of(
        &self,
        holder: &TaskHolder,
        statuses: &[TaskStatus],
        page: &PageQuery,
    ) -> Result<Page<(Task, Application)>, ApprovalError>;

    /// Applications of every tenant with an SLA moment at or before `now`.
    async fn due(&self, now: DateTime<Utc>, limit: u64) -> Result<Vec<Application>, ApprovalError>;

    /// [`Self::save`] for the platform's timer, which no caller scopes.
    async fn save_for_timer(
        &self,
        application: &Application,
        expected_version: i64,
        transitions: &[Transition],
        audit: &AuditRecord,
    ) -> Result<Saved, ApprovalError>;
}
