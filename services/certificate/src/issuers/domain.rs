//! Issuers: departments that issue certificates with their own keys.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;
use zhongtai_kit::{Page, PageQuery, TenantId, TenantScope};

use crate::shared::CertificateError;

/// Whether an issuer may issue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IssuerState {
    Active,
    /// Issues nothing new; what it issued still verifies until expiry.
    Suspended,
}

impl IssuerState {
    pub const ALL: [Self; 2] = [Self::Active, Self::Suspended];

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Suspended => "suspended",
        }
    }

    /// Inverse of [`IssuerState::as_str`].
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|state| state.as_str() == name)
    }
}

/// An issuing department.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issuer {
    pub id: Uuid,
    pub tenant: TenantId,
    /// Display name, e.g. `浙江省市场监督管理局`.
    pub name: String,
    pub state: IssuerState,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_names_round_trip() {
        for state in IssuerState::ALL {
            assert_eq!(IssuerState::from_name(state.as_str()), Some(state));
        }
        assert_eq!(IssuerState::Suspended.as_str(), "suspended");
        assert_eq!(IssuerState::from_name("ACTIVE"), None);
        assert_eq!(IssuerState::from_name("revoked"), None);
    }
}
