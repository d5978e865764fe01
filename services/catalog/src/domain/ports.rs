//! What the domain needs from storage. The store module implements it.

use async_trait::async_trait;
use zhongtai_kit::{Page, PageQuery, TenantId, TenantScope};

use super::error::CatalogError;
use super::resource::{Resource, ResourceLayer};

/// Which resources a list returns.
#[derive(Debug, Clone, Default)]
pub struct ResourceFilter {
    /// Owner; a tenant without a department matches every department of its
    /// division.
    pub owner: Option<TenantId>,
    pub layer: Option<ResourceLayer>,
    /// Retired resources are left out unless this is set.
    pub include_retired: bool,
}

/// Persistence of data resources.
#[async_trait]
pub trait ResourceRepository: Send + Sync + 'static {
    /// Resources in id (registration) order.
    async fn list(
        &self,
        scope: &TenantScope,
        filter: &ResourceFilter,
        page: &PageQuery,
    ) -> Result<Page<Resource>, CatalogError>;
}
