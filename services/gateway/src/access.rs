//! Who may call which gateway administration RPC. Integrators never call
//! these; they reach opened capabilities through the gateway's front door.

use zhongtai_kit::auth::roles::{ADMINS, READERS, REVIEWERS};
use zhongtai_kit::auth::{Access, AccessPolicy, ServicePolicy};

const ADMIN: ServicePolicy = ServicePolicy {
    service: "zhongtai.gateway.v1.GatewayAdminService",
    methods: &[
        ("RegisterApp", Access::AnyOf(ADMINS)),
        ("GetApp", Access::AnyOf(READERS)),
        ("ListApps", Access::AnyOf(READERS)),
        ("UpdateApp", Access::AnyOf(ADMINS)),
        ("DisableApp", Access::AnyOf(ADMINS)),
        ("EnableApp", Access::AnyOf(ADMINS)),
        ("IssueCredential", Access::AnyOf(ADMINS)),
        ("RotateCredential", Access::AnyOf(ADMINS)),
        ("RevokeCredential", Access::AnyOf(ADMINS)),
        ("ListCredentials", Access::AnyOf(REVIEWERS)),
        ("CreateCapability", Access::AnyOf(ADMINS)),
        ("GetCapability", Access::AnyOf(READERS)),
        ("ListCapabilities", Access::AnyOf(READERS)),
        ("UpdateCapability", Access::AnyOf(ADMINS)),
        ("PublishCapability", Access::AnyOf(ADMINS)),
        ("UnpublishCapability", Access::AnyOf(ADMINS)),
        ("DeleteCapability", Access::AnyOf(ADMINS)),
        ("SetPolicy", Access::AnyOf(ADMINS)),
        ("GetPolicy", Access::AnyOf(READERS)),
        ("ListPolicies", Access::AnyOf(READERS)),
        ("DeletePolicy", Access::AnyOf(ADMINS)),
        ("GetUsage", Access::AnyOf(READERS)),
        ("ListUsageBuckets", Access::AnyOf(READERS)),
        ("ListAuditRecords", Access::AnyOf(REVIEWERS)),
        ("GetOpenApiDocument", Access::Authenticated),
    ],
};

pub fn policy() -> AccessPolicy {
    AccessPolicy::new().with(ADMIN)
}
