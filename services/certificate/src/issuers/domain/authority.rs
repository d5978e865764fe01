//! Who administers issuers, keys and certificate types.
//!
//! The platform (the callers of `certificate.platform_tenant`) runs the
//! certificate center: its Admins create and change issuers and revoke keys,
//! its Admins and Operators define certificate types. An issuer's own
//! department may rotate its keys (an Admin of its tenant), since rotation
//! only replaces what it already has. The access layer has already checked
//! the role; this checks the tenant the role is held in.
//!
//! Reading: certificate types are platform-wide and readable by any reader.
//! The administrative view of an issuer (GetIssuer, ListIssuers,
//! ListSigningKeys, with states and revoked keys) is for its own tenant,
//! readers holding a cross-tenant grant over it, and the platform; the
//! public view of every issuer is the trust list, which anyone may fetch.

use zhongtai_kit::{Caller, Role, TenantId};

use super::issuer::Issuer;
use crate::shared::CertificateError;

/// The platform operator's tenant and what its callers may do.
#[derive(Debug, Clone)]
pub struct Authority {
    /// `None` when `certificate.platform_tenant` is not a tenant: then no
    /// caller is the platform.
    platform: Option<TenantId>,
}

impl Authority {
    pub fn new(platform: Option<TenantId>) -> Self {
        Self { platform }
    }

    pub fn is_platform(&self, caller: &Caller) -> bool {
        self.platform.as_ref() == Some(&caller.tenant)
    }

    fn is_platform_with(&self, caller: &Caller, roles: &[Role]) -> bool {
        self.is_platform(caller) && caller.has_any_role(roles)
    }

    /// Creating and changing issuers, revoking keys.
    pub fn require_platform_admin(
        &self,
        caller: &Caller,
        target: impl Into<String>,
    ) -> Result<(), CertificateError> {
        if self.is_platform_with(caller, &[Role::Admin]) {
            return Ok(());
        }
        Err(self.denied(
            caller,
            "NOT_PLATFORM_ADMIN",
            target.into(),
            "only an admin of the platform tenant",
        ))
    }

    /// Defining and changing certificate types.
    pub fn require_type_maintainer(
        &self,
        caller: &Caller,
        target: impl Into<String>,
    ) -> Result<(), CertificateError> {
        if self.is_platform_with(caller, &[Role::Admin, Role::Operator]) {
            return Ok(());
        }
        Err(self.denied(
            caller,
            "NOT_PLATFORM_MAINTAINER",
            target.into(),
            "only an admin or operator of the platform tenant",
        ))
    }

    /// Rotating an issuer's key: the platform's Admins or the issuer's own.
    pub fn require_key_admin(
        &self,
        caller: &Caller,
        issuer: &Issuer,
    ) -> Result<(), CertificateError> {
        let own_admin = caller.tenant == issuer.tenant && caller.has_role(Role::Admin);
        if own_admin || self.is_platform_with(caller, &[Role::Admin]) {
            return Ok(());
        }
        Err(self.denied(
            caller,
            "NOT_ISSUER_ADMIN",
            format!("issuer/{}", issuer.id),
            "only an admin of the issuer's tenant or of the platform tenant",
        ))
    }

    fn denied(
        &self,
        caller: &Caller,
        reason: &'static str,
        target: String,
        who: &str,
    ) -> CertificateError {
        let platform = self
            .platform
            .as_ref()
            .map_or_else(|| "(not configured)".to_string(), TenantId::key);
        CertificateError::Denied {
            reason,
            message: format!(
                "{} may not do this to {target}: {who} may (platform tenant {platform})",
                caller.describe()
            ),
            target,
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::Utc;
    use uuid::Uuid;

    use super::*;
    use crate::issuers::domain::IssuerState;

    fn tenant(key: &str) -> TenantId {
        TenantId::from_key(key).unwrap()
    }

    fn issuer() -> Issuer {
        Issuer {
            id: Uuid::nil(),
            tenant: tenant("331100/market-regulation"),
            name: "x".into(),
            certificate_types: Vec::new(),
            state: IssuerState::Active,
            active_key_id: None,
            version: 1,
            created_at: Utc::now(),
            updated_at: Utc::now(),
        }
    }

    fn reason(result: Result<(), CertificateError>) -> &'static str {
        match result {
            Err(CertificateError::Denied { reason, .. }) => reason,
            other => panic!("not denied: {other:?}"),
        }
    }

    #[test]
    fn the_platform_tenant_administers() {
        let authority = Authority::new(Some(tenant("330000/big-data-bureau")));
        let admin = Caller::new("a", tenant("330000/big-data-bureau"), &[Role::Admin]);
        let operator = Caller::new("o", tenant("330000/big-data-bureau"), &[Role::Operator]);
        let elsewhere = Caller::new("e", tenant("331100/market-regulation"), &[Role::Admin]);
        assert!(authority.require_platform_admin(&admin, "issuer").is_ok());
        assert_eq!(
            reason(authority.require_platform_admin(&operator, "issuer")),
            "NOT_PLATFORM_ADMIN"
        );
        assert_eq!(
            reason(authority.require_platform_admin(&elsewhere, "issuer")),
            "NOT_PLATFORM_ADMIN"
        );
        assert!(authority.require_type_maintainer(&operator, "t").is_ok());
        assert_eq!(
            reason(authority.require_type_maintainer(&elsewhere, "t")),
            "NOT_PLATFORM_MAINTAINER"
        );
    }

    #[test]
    fn an_issuer_rotates_its_own_keys_only() {
        let authority = Authority::new(Some(tenant("330000/big-data-bureau")));
        let own = Caller::new("a", tenant("331100/market-regulation"), &[Role::Admin]);
        let own_operator = Caller::new("o", tenant("331100/market-regulation"), &[Role::Operator]);
        let other = Caller::new("b", tenant("331100/health"), &[Role::Admin]);
        let platform = Caller::new("p", tenant("330000/big-data-bureau"), &[Role::Admin]);
        assert!(authority.require_key_admin(&own, &issuer()).is_ok());
        assert!(authority.require_key_admin(&platform, &issuer()).is_ok());
        assert_eq!(
            reason(authority.require_key_admin(&own_operator, &issuer())),
            "NOT_ISSUER_ADMIN"
        );
        assert_eq!(
            reason(authority.require_key_admin(&other, &issuer())),
            "NOT_ISSUER_ADMIN"
        );
    }

    #[test]
    fn without_a_platform_tenant_nobody_is_the_platform() {
        let authority = Authority::new(None);
        let admin = Caller::new("a", tenant("330000/big-data-bureau"), &[Role::Admin]);
        assert!(authority.require_platform_admin(&admin, "x").is_err());
    }
}
