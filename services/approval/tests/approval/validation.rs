//! Bad data for the service-item and process RPCs, on PostgreSQL: each
//! answer is INVALID_ARGUMENT naming every offending field, and nothing is
//! written. The application RPCs are in `validation_applications.rs`.

use zhongtai_contracts::approval::v1 as pb;
use zhongtai_contracts::approval::v1::approval_service_server::ApprovalService;
use zhongtai_contracts::common::v1::PageRequest;

use crate::support::*;
use pb::StageKind::{Joint, NOfM, Single};

fn bad_page() -> Option<PageRequest> {
    Some(PageRequest {
        page_size: -1,
        page_token: "not-a-token".into(),
    })
}

#[tokio::test]
async fn service_item_and_process_rpcs_name_every_bad_field() {
    let Fixture {
        h, process, item, ..
    } = fixture().await;
    let before = h.snapshot().await;
    let api = &h.api;
    let op = operator();

    invalid(
        "create item",
        api.create_service_item(by(
            &op,
            pb::CreateServiceItemRequest {
                request_id: String::new(),
                code: "Bad Code".into(),
                name: "x".repeat(201),
                process: Some(pb::ProcessRef {
                    process_definition_id: "nope".into(),
                    version: -1,
                }),
                form_fields: vec![pb::FormField {
                    name: "f".into(),
                    label: "f".into(),
                    ..Default::default()
                }],
                ..Default::default()
            },
        ))
        .await,
        &["form_fields[0].type"],
    );
    invalid(
        "create item fields",
        api.create_service_item(by(
            &op,
            pb::CreateServiceItemRequest {
                request_id: rid(),
                code: "Bad Code".into(),
                name: "x".repeat(201),
                process: Some(pb::ProcessRef {
                    process_definition_id: "nope".into(),
                    version: -1,
                }),
                ..Default::default()
            },
        ))
        .await,
        &[
            "code",
            "name",
            "process.process_definition_id",
            "process.version",
        ],
    );
    let update = |item: pb::ServiceItem, paths: &[&str]| pb::UpdateServiceItemRequest {
        item: Some(item),
        update_mask: Some(prost_types::FieldMask {
            paths: paths.iter().map(|p| p.to_string()).collect(),
        }),
    };
    invalid(
        "update without item",
        api.update_service_item(by(&op, pb::UpdateServiceItemRequest::default()))
            .await,
        &["item"],
    );
    invalid(
        "update bad mask",
        api.update_service_item(by(
            &op,
            update(
                pb::ServiceItem {
                    id: "nope".into(),
                    ..Default::default()
                },
                &["code", "kind"],
            ),
        ))
        .await,
        &["update_mask.paths[0]", "update_mask.paths[1]", "item.id"],
    );
    invalid(
        "update empty mask",
        api.update_service_item(by(&op, update(item.clone(), &[])))
            .await,
        &["update_mask"],
    );
    invalid(
        "update bad values",
        api.update_service_item(by(
            &op,
            update(
                pb::ServiceItem {
                    name: String::new(),
                    materials: vec![pb::Material::default()],
                    ..item.clone()
                },
                &["name", "materials"],
            ),
        ))
        .await,
        &[
            "item.name",
            "item.materials[0].code",
            "item.materials[0].name",
        ],
    );
    invalid(
        "update unset state",
        api.update_service_item(by(
            &op,
            update(
                pb::ServiceItem {
                    state: 0,
                    ..item.clone()
                },
                &["state"],
            ),
        ))
        .await,
        &["item.state"],
    );
    invalid(
        "update untyped form field",
        api.update_service_item(by(
            &op,
            update(
                pb::ServiceItem {
                    form_fields: vec![pb::FormField {
                        name: "x".into(),
                        label: "x".into(),
                        ..Default::default()
                    }],
                    ..item.clone()
                },
                &["form_fields"],
            ),
        ))
        .await,
        &["item.form_fields[0].type"],
    );

    let mut sla_stage = stage("timed", Single, vec![role(HANDLER, "approver")], 0);
    sla_stage.sla = Some(pb::StageSla {
        duration: None,
        remind_before: Some(prost_types::Duration {
            seconds: -5,
            nanos: 0,
        }),
        escalate_to: Some(pb::DepartmentRole {
            tenant: None,
            role: "boss".into(),
        }),
    });
    let bad_stages = vec![
        stage("Bad Key", Single, vec![], 0),
        stage(
            "dup",
            Joint,
            vec![
                role(HANDLER, "clerk"),
                pb::Assignee { target: None },
                slot(""),
            ],
            0,
        ),
        stage("dup", NOfM, vec![role("33A100/x", "approver"), user("")], 3),
        pb::StageDefinition {
            kind: 0,
            ..stage("unkinded", Single, vec![role(HANDLER, "approver")], 0)
        },
        sla_stage,
    ];
    invalid(
        "create process",
        api.create_process_definition(by(
            &op,
            pb::CreateProcessDefinitionRequest {
                request_id: String::new(),
                tenant: Some(tenant("33A100/x")),
                key: "No".into(),
                name: String::new(),
                description: "d".repeat(4001),
                stages: bad_stages.clone(),
            },
        ))
        .await,
        &[
            "tenant",
            "key",
            "name",
            "description",
            "stages[0].key",
            "stages[0].assignees",
            "stages[1].assignees[0].department_role.role",
            "stages[1].assignees[1].target",
            "stages[1].assignees[2].slot",
            "stages[2].key",
            "stages[2].assignees[0].department_role.tenant",
            "stages[2].assignees[1].user",
            "stages[2].required_approvals",
            "stages[3].kind",
            "stages[4].sla.duration",
            "stages[4].sla.remind_before",
            "stages[4].sla.escalate_to.tenant",
            "stages[4].sla.escalate_to.role",
        ],
    );
    invalid(
        "create process without stages",
        api.create_process_definition(by(
            &op,
            pb::CreateProcessDefinitionRequest {
                request_id: rid(),
                key: "no-stages".into(),
                name: "无阶段".into(),
                ..Default::default()
            },
        ))
        .await,
        &["stages"],
    );
    invalid(
        "revise",
        api.revise_process_definition(by(
            &op,
            pb::ReviseProcessDefinitionRequest {
                request_id: String::new(),
                id: "nope".into(),
                base_version: 0,
                name: "n".repeat(201),
                description: String::new(),
                stages: bad_stages,
            },
        ))
        .await,
        &["request_id"],
    );
    invalid(
        "revise fields",
        api.revise_process_definition(by(
            &op,
            pb::ReviseProcessDefinitionRequest {
                request_id: rid(),
                id: "nope".into(),
                base_version: 0,
                name: "n".repeat(201),
                description: String::new(),
                stages: vec![],
            },
        ))
        .await,
        &["id", "base_version", "name", "stages"],
    );
    invalid(
        "get process",
        api.get_process_definition(by(
            &op,
            pb::GetProcessDefinitionRequest {
                id: "nope".into(),
                version: -1,
            },
        ))
        .await,
        &["id", "version"],
    );
    invalid(
        "list processes",
        api.list_process_definitions(by(
            &op,
            pb::ListProcessDefinitionsRequest {
                page: bad_page(),
                tenant: None,
            },
        ))
        .await,
        &["page.page_size"],
    );
    invalid(
        "list processes by a bad tenant",
        api.list_process_definitions(by(
            &op,
            pb::ListProcessDefinitionsRequest {
                page: None,
                tenant: Some(tenant("12")),
            },
        ))
        .await,
        &["tenant"],
    );
    invalid(
        "list versions",
        api.list_process_definition_versions(by(
            &op,
            pb::ListProcessDefinitionVersionsRequest {
                page: Some(PageRequest {
                    page_size: 10,
                    page_token: "garbage".into(),
                }),
                id: process.id.clone(),
            },
        ))
        .await,
        &["page.page_token"],
    );
    invalid(
        "deprecate",
        api.deprecate_process_definition(by(
            &op,
            pb::DeprecateProcessDefinitionRequest {
                id: "nope".into(),
                version: 0,
                reason: "r".repeat(2001),
            },
        ))
        .await,
        &["id", "version", "reason"],
    );
    assert_eq!(h.snapshot().await, before, "nothing was written");
}
