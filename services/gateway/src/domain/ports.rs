//! What the domain needs from storage. The store module implements it.

use async_trait::async_trait;
use zhongtai_kit::{Page, PageQuery};

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
    async fn list(&self, filter: &AppFilter, page: &PageQuery) -> Result<Page<App>, GatewayError>;
}
