//! Who is calling: the typed identity the access layer derives from a
//! verified token. Handlers receive it; none of them parses tokens.

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

use crate::tenancy::TenantScope;
use crate::tenant::{DivisionCode, TenantId};

/// What a caller may do, as the platform names it. Tokens may carry other
/// role names (an identity provider serves many systems); those are ignored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Role {
    /// Platform administration within the caller's tenant.
    Admin,
    /// A department's app team: maintains service items, resources, lines.
    Operator,
    /// Acts on approval tasks assigned to the caller's department.
    Approver,
    /// Reads audit-relevant records; changes nothing.
    Auditor,
    /// Read-only access to the caller's tenant.
    Viewer,
}

impl Role {
    pub const ALL: [Role; 5] = [
        Role::Admin,
        Role::Operator,
        Role::Approver,
        Role::Auditor,
        Role::Viewer,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Operator => "operator",
            Role::Approver => "approver",
            Role::Auditor => "auditor",
            Role::Viewer => "viewer",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A role name the platform does not know.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown role `{0}` (known: admin, operator, approver, auditor, viewer)")]
pub struct UnknownRole(pub String);

impl FromStr for Role {
    type Err = UnknownRole;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::ALL
            .into_iter()
            .find(|role| role.as_str() == s)
            .ok_or_else(|| UnknownRole(s.to_string()))
    }
}

/// An authenticated caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// Stable subject id from the token (`sub`).
    pub subject: String,
    /// The tenant the caller acts for.
    pub tenant: TenantId,
    pub roles: BTreeSet<Role>,
    /// Divisions whose rows the caller may read although they belong to
    /// other tenants: an explicit cross-tenant grant carried by the token.
    pub cross_tenant_read: Vec<DivisionCode>,
    /// Token id (`jti`), for the audit trail.
    pub token_id: Option<String>,
    /// Where the request came from: the peer address.
    pub peer: Option<String>,
}

impl Caller {
    /// A caller acting for `tenant` with `roles` (no grant, no peer).
    pub fn new(subject: impl Into<String>, tenant: TenantId, roles: &[Role]) -> Self {
        Self {
            subject: subject.into(),
            tenant,
            roles: roles.iter().copied().collect(),
            cross_tenant_read: Vec::new(),
            token_id: None,
            peer: None,
        }
    }

    /// The same caller with a cross-tenant read grant over `divisions`.
    pub fn with_cross_tenant_read(mut self, divisions: Vec<DivisionCode>) -> Self {
        self.cross_tenant_read = divisions;
        self
    }

    pub fn has_role(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }

    pub fn has_any_role(&self, roles: &[Role]) -> bool {
        roles.iter().any(|role| self.roles.contains(role))
    }

    /// Rows the caller may change: its own tenant's, always.
    pub fn write_scope(&self) -> TenantScope {
        TenantScope::tenant(self.tenant.clone())
    }

    /// Rows the caller may read: its own tenant's, plus those of the
    /// divisions an explicit cross-tenant grant names.
    pub fn read_scope(&self) -> TenantScope {
        if self.cross_tenant_read.is_empty() {
            self.write_scope()
        } else {
            TenantScope::with_grant(self.tenant.clone(), self.cross_tenant_read.clone())
        }
    }

    /// The form audit records and logs use.
    pub fn describe(&self) -> String {
        format!("{} ({})", self.subject, self.tenant)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_round_trip_and_unknown_names_are_refused() {
        for role in Role::ALL {
            assert_eq!(role.as_str().parse::<Role>(), Ok(role));
        }
        assert!("root".parse::<Role>().is_err());
    }

    #[test]
    fn read_scope_widens_only_with_a_grant() {
        let tenant = TenantId::parse("331100", "housing-fund").expect("tenant");
        let mut caller = Caller {
            subject: "u1".into(),
            tenant: tenant.clone(),
            roles: BTreeSet::from([Role::Viewer]),
            cross_tenant_read: Vec::new(),
            token_id: None,
            peer: None,
        };
        assert_eq!(caller.read_scope(), TenantScope::tenant(tenant.clone()));
        caller.cross_tenant_read = vec![DivisionCode::parse("330000").expect("division")];
        assert_ne!(caller.read_scope(), TenantScope::tenant(tenant.clone()));
        assert_eq!(caller.write_scope(), TenantScope::tenant(tenant));
    }
}
