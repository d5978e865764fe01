//! Who may call which exchange RPC.

use zhongtai_kit::auth::roles::{ADMINS, MAINTAINERS, READERS, REVIEWERS};
use zhongtai_kit::auth::{Access, AccessPolicy, ServicePolicy};

const EXCHANGE: ServicePolicy = ServicePolicy {
    service: "zhongtai.exchange.v1.ExchangeService",
    methods: &[
        ("CreateLine", Access::AnyOf(MAINTAINERS)),
        ("GetLine", Access::AnyOf(READERS)),
        ("ListLines", Access::AnyOf(READERS)),
        ("UpdateLine", Access::AnyOf(MAINTAINERS)),
        ("PauseLine", Access::AnyOf(MAINTAINERS)),
        ("ResumeLine", Access::AnyOf(MAINTAINERS)),
        ("DeleteLine", Access::AnyOf(MAINTAINERS)),
        ("GetLineStatus", Access::AnyOf(READERS)),
        // A source system pushing its own changes: an app identity that
        // may hold no tenant role; the handler admits the line's producer
        // subject alone (and the line's owner for the cursor).
        ("PushChanges", Access::Authenticated),
        ("GetPushCursor", Access::Authenticated),
        ("CreateSubscription", Access::AnyOf(MAINTAINERS)),
        ("GetSubscription", Access::AnyOf(READERS)),
        ("ListSubscriptions", Access::AnyOf(READERS)),
        ("PauseSubscription", Access::AnyOf(MAINTAINERS)),
        ("ResumeSubscription", Access::AnyOf(MAINTAINERS)),
        ("DeleteSubscription", Access::AnyOf(MAINTAINERS)),
        ("GetReconciliationReport", Access::AnyOf(READERS)),
        ("ListReconciliationReports", Access::AnyOf(READERS)),
        ("TraceRecord", Access::AnyOf(REVIEWERS)),
    ],
};

const ENCLAVES: ServicePolicy = ServicePolicy {
    service: "zhongtai.exchange.v1.EnclaveService",
    methods: &[
        ("CreateEnclave", Access::AnyOf(ADMINS)),
        ("GetEnclave", Access::AnyOf(READERS)),
        ("ListEnclaves", Access::AnyOf(READERS)),
        ("CreateEnclaveTable", Access::AnyOf(MAINTAINERS)),
        ("WriteEnclaveRows", Access::AnyOf(MAINTAINERS)),
        ("QueryEnclaveRows", Access::AnyOf(READERS)),
        ("AddBackflowRule", Access::AnyOf(ADMINS)),
        ("RemoveBackflowRule", Access::AnyOf(ADMINS)),
    ],
};

pub fn policy() -> AccessPolicy {
    AccessPolicy::new().with(EXCHANGE).with(ENCLAVES)
}
