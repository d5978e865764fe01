//! Which roles may call which RPCs: one declarative table per gRPC service,
//! checked by the access layer before a handler runs. A method missing from
//! the table is refused, so a new RPC is closed until someone decides who may
//! call it.

use super::caller::{Caller, Role};

/// Role groups the services' tables share.
pub mod roles {
    use super::Role;

    /// Everyone who may read a tenant's records.
    pub const READERS: &[Role] = &[
        Role::Admin,
        Role::Operator,
        Role::Approver,
        Role::Auditor,
        Role::Viewer,
    ];
    /// Those who maintain a tenant's definitions and data.
    pub const MAINTAINERS: &[Role] = &[Role::Admin, Role::Operator];
    /// Those who act on approval tasks.
    pub const APPROVERS: &[Role] = &[Role::Admin, Role::Approver];
    /// Those who review what happened.
    pub const REVIEWERS: &[Role] = &[Role::Admin, Role::Auditor];
    /// Platform administration.
    pub const ADMINS: &[Role] = &[Role::Admin];
}

/// Who may call one method.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone, without a token (a token, when sent, is still verified).
    Public,
    /// Any authenticated caller.
    Authenticated,
    /// Callers holding at least one of these roles.
    AnyOf(&'static [Role]),
}

/// The rules of one gRPC service: `(method name, access)`.
#[derive(Debug, Clone, Copy)]
pub struct ServicePolicy {
    /// Fully qualified service name, `zhongtai.approval.v1.ApprovalService`.
    pub service: &'static str,
    pub methods: &'static [(&'static str, Access)],
}

/// What the policy says about one request path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    /// Infrastructure every server answers openly: health and reflection.
    Infrastructure,
    Declared(Access),
    /// Not in any table: refused.
    Undeclared,
}

/// Why a caller was refused by the policy; codes are stable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    RoleNotAllowed,
    MethodNotDeclared,
}

impl Refusal {
    pub fn code(self) -> &'static str {
        match self {
            Refusal::RoleNotAllowed => "ROLE_NOT_ALLOWED",
            Refusal::MethodNotDeclared => "METHOD_NOT_DECLARED",
        }
    }
}

const INFRASTRUCTURE: [&str; 3] = [
    "/grpc.health.v1.Health/",
    "/grpc.reflection.v1.ServerReflection/",
    "/grpc.reflection.v1alpha.ServerReflection/",
];

/// The access rules of every gRPC service one Zhongtai service serves.
#[derive(Debug, Clone, Default)]
pub struct AccessPolicy {
    services: Vec<ServicePolicy>,
}

impl AccessPolicy {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn with(mut self, service: ServicePolicy) -> Self {
        self.services.push(service);
        self
    }

    pub fn services(&self) -> &[ServicePolicy] {
        &self.services
    }

    /// The rule for `/package.Service/Method`.
    pub fn rule(&self, path: &str) -> Rule {
        if INFRASTRUCTURE.iter().any(|prefix| path.starts_with(prefix)) {
            return Rule::Infrastructure;
        }
        let Some((service, method)) = path.strip_prefix('/').and_then(|rest| rest.split_once('/'))
        else {
            return Rule::Undeclared;
        };
        self.services
            .iter()
            .filter(|s| s.service == service)
            .flat_map(|s| s.methods.iter())
            .find(|(name, _)| *name == method)
            .map_or(Rule::Undeclared, |(_, access)| Rule::Declared(*access))
    }

    /// Whether `caller` (None: no token) may call `path`.
    pub fn check(&self, path: &str, caller: Option<&Caller>) -> Result<(), Refusal> {
        match (self.rule(path), caller) {
            (Rule::Infrastructure | Rule::Declared(Access::Public), _) => Ok(()),
            (Rule::Declared(Access::Authenticated), Some(_)) => Ok(()),
            (Rule::Declared(Access::AnyOf(roles)), Some(caller)) if caller.has_any_role(roles) => {
                Ok(())
            }
            (Rule::Undeclared, _) => Err(Refusal::MethodNotDeclared),
            _ => Err(Refusal::RoleNotAllowed),
        }
    }

    /// Methods of the services named in the contracts that no rule covers,
    /// as paths; empty when the tables are complete.
    pub fn undeclared_methods(&self) -> Vec<String> {
        let mut missing: Vec<String> = zhongtai_contracts::methods::all()
            .map(|(path, _)| path)
            .filter(|path| {
                self.services
                    .iter()
                    .any(|s| path.starts_with(&format!("/{}/", s.service)))
            })
            .filter(|path| self.rule(path) == Rule::Undeclared)
            .map(str::to_string)
            .collect();
        missing.sort();
        missing
    }

    /// Rules naming methods the contracts do not have (typos).
    pub fn unknown_methods(&self) -> Vec<String> {
        let known: std::collections::HashSet<&str> = zhongtai_contracts::methods::all()
            .map(|(path, _)| path)
            .collect();
        self.services
            .iter()
            .flat_map(|s| {
                s.methods
                    .iter()
                    .map(move |(m, _)| format!("/{}/{m}", s.service))
            })
            .filter(|path| !known.contains(path.as_str()))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;
    use crate::tenant::TenantId;

    const POLICY: ServicePolicy = ServicePolicy {
        service: "zhongtai.approval.v1.ApprovalService",
        methods: &[
            ("CreateServiceItem", Access::AnyOf(&[Role::Operator])),
            ("GetServiceItem", Access::Authenticated),
        ],
    };

    fn caller(roles: &[Role]) -> Caller {
        Caller {
            subject: "u".into(),
            tenant: TenantId::parse("331100", "").expect("tenant"),
            roles: roles.iter().copied().collect::<BTreeSet<_>>(),
            cross_tenant_read: Vec::new(),
            token_id: None,
            peer: None,
        }
    }

    #[test]
    fn roles_decide_and_undeclared_methods_are_closed() {
        let policy = AccessPolicy::new().with(POLICY);
        let create = "/zhongtai.approval.v1.ApprovalService/CreateServiceItem";
        assert_eq!(
            policy.check(create, Some(&caller(&[Role::Operator]))),
            Ok(())
        );
        assert_eq!(
            policy.check(create, Some(&caller(&[Role::Viewer]))),
            Err(Refusal::RoleNotAllowed)
        );
        assert_eq!(policy.check(create, None), Err(Refusal::RoleNotAllowed));
        assert_eq!(
            policy.check(
                "/zhongtai.approval.v1.ApprovalService/Nope",
                Some(&caller(&[Role::Admin]))
            ),
            Err(Refusal::MethodNotDeclared)
        );
        assert_eq!(policy.check("/grpc.health.v1.Health/Check", None), Ok(()));
    }

    #[test]
    fn incomplete_tables_are_reported() {
        let policy = AccessPolicy::new().with(POLICY);
        let missing = policy.undeclared_methods();
        assert!(
            missing
                .contains(&"/zhongtai.approval.v1.ApprovalService/SubmitApplication".to_string())
        );
        assert!(!missing.iter().any(|m| m.ends_with("/CreateServiceItem")));
        assert!(policy.unknown_methods().is_empty());
    }
}
