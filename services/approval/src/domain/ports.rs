//! What the domain needs from storage. The store module implements it.

use async_trait::async_trait;
use uuid::Uuid;
use zhongtai_audit::AuditRecord;
use zhongtai_kit::{Page, PageQuery, TenantId, TenantScope};

use super::error::ApprovalError;
use super::service_item::{ItemKind, ItemState, ServiceItem};

/// Result of an idempotent create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CreateOutcome {
    Created(ServiceItem),
    /// The same request id was seen before: this is what it created.
    AlreadyCreated(ServiceItem),
}

impl CreateOutcome {
    pub fn into_item(self) -> ServiceItem {
        match self {
            CreateOutcome::Created(item) | CreateOutcome::AlreadyCreated(item) => item,
        }
    }
}

/// Which items a list returns.
#[derive(Debug, Clone, Default)]
pub struct ItemFilter {
    pub tenant: Option<TenantId>,
    pub state: Option<ItemState>,
    pub kind: Option<ItemKind>,
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
    ) -> Result<CreateOutcome, ApprovalError>;

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
}
