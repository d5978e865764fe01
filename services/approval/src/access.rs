//! Who may call which approval RPC. Domain rules (only an assigned approver
//! acts on a task, rows stay in their tenant) come on top of this table.

use zhongtai_kit::auth::roles::{APPROVERS, MAINTAINERS, READERS};
use zhongtai_kit::auth::{Access, AccessPolicy, ServicePolicy};

const APPROVAL: ServicePolicy = ServicePolicy {
    service: "zhongtai.approval.v1.ApprovalService",
    methods: &[
        ("CreateServiceItem", Access::AnyOf(MAINTAINERS)),
        ("GetServiceItem", Access::AnyOf(READERS)),
        ("ListServiceItems", Access::AnyOf(READERS)),
        ("UpdateServiceItem", Access::AnyOf(MAINTAINERS)),
        ("CreateProcessDefinition", Access::AnyOf(MAINTAINERS)),
        ("ReviseProcessDefinition", Access::AnyOf(MAINTAINERS)),
        ("GetProcessDefinition", Access::AnyOf(READERS)),
        ("ListProcessDefinitions", Access::AnyOf(READERS)),
        ("ListProcessDefinitionVersions", Access::AnyOf(READERS)),
        ("DeprecateProcessDefinition", Access::AnyOf(MAINTAINERS)),
        // Department apps submit and follow applications for their users.
        ("SubmitApplication", Access::AnyOf(MAINTAINERS)),
        ("GetApplication", Access::AnyOf(READERS)),
        ("ListApplications", Access::AnyOf(READERS)),
        ("ListApplicationHistory", Access::AnyOf(READERS)),
        ("ListMyTasks", Access::AnyOf(APPROVERS)),
        ("ApproveApplication", Access::AnyOf(APPROVERS)),
        ("RejectApplication", Access::AnyOf(APPROVERS)),
        ("ReturnApplication", Access::AnyOf(APPROVERS)),
        ("ResubmitApplication", Access::AnyOf(MAINTAINERS)),
        ("RecallApplication", Access::AnyOf(MAINTAINERS)),
        ("AddSigner", Access::AnyOf(APPROVERS)),
        ("TransferTask", Access::AnyOf(APPROVERS)),
    ],
};

pub fn policy() -> AccessPolicy {
    AccessPolicy::new().with(APPROVAL)
}
