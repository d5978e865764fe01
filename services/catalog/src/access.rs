//! Who may call which catalog RPC.

use zhongtai_kit::auth::roles::{ADMINS, MAINTAINERS, READERS};
use zhongtai_kit::auth::{Access, AccessPolicy, ServicePolicy};

const CATALOG: ServicePolicy = ServicePolicy {
    service: "zhongtai.catalog.v1.CatalogService",
    methods: &[
        ("RegisterResource", Access::AnyOf(MAINTAINERS)),
        ("GetResource", Access::AnyOf(READERS)),
        ("ListResources", Access::AnyOf(READERS)),
        ("UpdateResource", Access::AnyOf(MAINTAINERS)),
        ("RetireResource", Access::AnyOf(MAINTAINERS)),
        ("ListResourceVersions", Access::AnyOf(READERS)),
        ("SearchResources", Access::AnyOf(READERS)),
        ("ListAccessibleResources", Access::AnyOf(READERS)),
        ("GetResourceLineage", Access::AnyOf(READERS)),
        ("RequestAccess", Access::AnyOf(MAINTAINERS)),
        ("GetAccessRequest", Access::AnyOf(READERS)),
        ("ListAccessRequests", Access::AnyOf(READERS)),
        ("WithdrawAccessRequest", Access::AnyOf(MAINTAINERS)),
        ("GetGrant", Access::AnyOf(READERS)),
        ("ListGrants", Access::AnyOf(READERS)),
        ("RevokeGrant", Access::AnyOf(MAINTAINERS)),
        // Reported by the exchange's operators once delivery is set up.
        ("MarkGrantProvisioned", Access::AnyOf(ADMINS)),
    ],
};

pub fn policy() -> AccessPolicy {
    AccessPolicy::new().with(CATALOG)
}
