//! What the domain needs from storage. The store module implements it.

use async_trait::async_trait;
use zhongtai_kit::{Page, PageQuery, TenantId, TenantScope};

use super::error::CertificateError;
use super::issuer::Issuer;

/// Which issuers a list returns.
#[derive(Debug, Clone, Default)]
pub struct IssuerFilter {
    /// Only issuers of exactly this tenant.
    pub tenant: Option<TenantId>,
}

/// Persistence of issuers.
#[async_trait]
pub trait IssuerRepository: Send + Sync + 'static {
    /// Issuers in id (creation) order.
    async fn list(
        &self,
        scope: &TenantScope,
        filter: &IssuerFilter,
        page: &PageQuery,
    ) -> Result<Page<Issuer>, CertificateError>;
}
