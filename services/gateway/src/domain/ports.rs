//! What the domain needs from storage. The store module implements it.

use async_trait::async_trait;
use zhongtai_kit::{Page, PageQuery, TenantScope};

use super::app::{App, AppState};
use super::capability::CapabilityName;
use super::error::GatewayError;

/// Which apps a list returns.
#[derive(Debug, Clone, Default)]
pub struct AppFilter {
    pub state: Option<AppState>,
    /// Only apps allowed to call this capability.
    pub capability: Option<CapabilityName>,
}

/// Persistence of integrator apps.
#[async_trait]
pub trait AppRepository: Send + Sync + 'static {
    /// Apps in id (registration) order.
    /// Apps sponsored within `scope`, in id order.
    async fn list(
        &self,
        scope: &TenantScope,
        filter: &AppFilter,
        page: &PageQuery,
    ) -> Result<Page<App>, GatewayError>;
}
