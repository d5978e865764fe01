//! One state change as the domain decides it: the rows to write, the
//! events to publish and the audit records to keep. The store commits a
//! [`Changes`] in one transaction, so all of it happens or none does.

use zhongtai_audit::AuditRecord;
use zhongtai_kit::{Actor, SystemPurpose, TenantScope};

use super::access_request::AccessRequest;
use super::grant::Grant;
use super::resource::{Resource, ResourceVersion};
use super::search::IndexedTerm;

/// Whose rows a change may touch: a caller's tenant scope, or the
/// platform's own work (a timer, a consumed event).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Authority {
    Scope(TenantScope),
    System(SystemPurpose),
}

/// A row to write: new, or replacing the stored revision
/// `expected_version` (the write fails if that is no longer stored).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Write<T> {
    Insert(T),
    Update { value: T, expected_version: i64 },
}

/// A resource write with what goes with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceWrite {
    pub write: Write<Resource>,
    /// Only for an insert: the registering client's idempotency key.
    pub request_id: Option<String>,
    pub history: ResourceVersion,
    /// The complete set of terms the resource is found by.
    pub index: Vec<IndexedTerm>,
}

/// The events the catalog publishes, as domain values; `crate::published`
/// turns them into contract payloads.
#[derive(Debug, Clone, PartialEq)]
pub enum CatalogEvent {
    ResourcePublished {
        resource: Resource,
        actor: Actor,
    },
    ResourceUpdated {
        resource: Resource,
        changed_fields: Vec<String>,
        actor: Actor,
        note: String,
    },
    ResourceRetired {
        resource: Resource,
        actor: Actor,
        reason: String,
    },
    AccessRequestSubmitted(AccessRequest),
    AccessRequestApproved {
        request: AccessRequest,
        grant: Box<Grant>,
        auto_approved: bool,
    },
    AccessRequestRejected(AccessRequest),
    AccessRequestWithdrawn {
        request: AccessRequest,
        actor: Actor,
    },
    GrantCreated(Grant),
    GrantApproved(Grant),
    GrantProvisioned {
        grant: Grant,
        subscription_id: String,
    },
    GrantRevoked(Grant),
    GrantExpired(Grant),
}

/// Everything one operation writes.
#[derive(Debug, Clone, PartialEq)]
pub struct Changes {
    pub authority: Authority,
    pub resource: Option<ResourceWrite>,
    pub requests: Vec<Write<AccessRequest>>,
    pub grants: Vec<Write<Grant>>,
    pub events: Vec<CatalogEvent>,
    pub audit: Vec<AuditRecord>,
}

impl Changes {
    pub fn new(authority: Authority) -> Self {
        Self {
            authority,
            resource: None,
            requests: Vec::new(),
            grants: Vec::new(),
            events: Vec::new(),
            audit: Vec::new(),
        }
    }

    pub fn resource(mut self, write: ResourceWrite) -> Self {
        self.resource = Some(write);
        self
    }

    pub fn request(mut self, write: Write<AccessRequest>) -> Self {
        self.requests.push(write);
        self
    }

    pub fn grant(mut self, write: Write<Grant>) -> Self {
        self.grants.push(write);
        self
    }

    pub fn event(mut self, event: CatalogEvent) -> Self {
        self.events.push(event);
        self
    }

    pub fn audit(mut self, record: AuditRecord) -> Self {
        self.audit.push(record);
        self
    }
}
