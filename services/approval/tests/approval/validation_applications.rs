//! Bad data for every application RPC, on PostgreSQL: each answer is
//! INVALID_ARGUMENT naming every offending field, and nothing is written.

use zhongtai_contracts::approval::v1 as pb;
use zhongtai_contracts::approval::v1::approval_service_server::ApprovalService;
use zhongtai_contracts::common::v1::PageRequest;

use crate::support::*;

fn number(n: f64) -> prost_types::Value {
    prost_types::Value {
        kind: Some(prost_types::value::Kind::NumberValue(n)),
    }
}

#[tokio::test]
async fn application_rpcs_name_every_bad_field() {
    use pb::return_application_request::Target;
    let Fixture { h, item, app, .. } = fixture().await;
    let before = h.snapshot().await;
    let api = &h.api;
    let clerk = clerk();
    let assignee = approver(HANDLER);

    let mut bad = submission(&item);
    bad.applicant = Some(pb::Applicant {
        holder: Some(zhongtai_contracts::common::v1::Holder {
            holder: Some(
                zhongtai_contracts::common::v1::holder::Holder::Organization(
                    zhongtai_contracts::common::v1::Organization {
                        name: String::new(),
                        unified_social_credit_code: "123".into(),
                    },
                ),
            ),
        }),
        contact: "c".repeat(201),
        ..Default::default()
    });
    let mut form_data = form("某某公司");
    form_data.fields.insert("unknown_field".into(), number(1.0));
    form_data.fields.remove("company_name");
    bad.form_data = Some(form_data);
    let mut wrong = document("articles");
    wrong.sha256 = "XYZ".into();
    wrong.media_type = "image/png".into();
    wrong.size_bytes = 21 * 1024 * 1024;
    wrong.document_uri = String::new();
    bad.materials = vec![wrong, document("unknown")];
    bad.origin = Some(pb::ExternalRef {
        service: String::new(),
        kind: "access request".into(),
        id: "x".into(),
    });
    bad.assignee_bindings.insert(
        "stranger".into(),
        pb::DepartmentRole {
            tenant: Some(tenant(CIVIL)),
            role: "approver".into(),
        },
    );
    invalid(
        "submit",
        api.submit_application(by(&clerk, bad)).await,
        &[
            "applicant.holder.organization.name",
            "applicant.holder.organization.unified_social_credit_code",
            "applicant.contact",
            "form_data.unknown_field",
            "form_data.company_name",
            "materials[0].sha256",
            "materials[0].media_type",
            "materials[0].size_bytes",
            "materials[0].document_uri",
            "materials[1].material_code",
            "origin.service",
            "origin.kind",
            "assignee_bindings[stranger]",
            "assignee_bindings[owner]",
        ],
    );
    let mut bad_binding = submission(&item);
    bad_binding.assignee_bindings.insert(
        "owner".into(),
        pb::DepartmentRole {
            tenant: Some(tenant("33A100/x")),
            role: "clerk".into(),
        },
    );
    invalid(
        "submit with a bad binding",
        api.submit_application(by(&clerk, bad_binding)).await,
        &[
            "assignee_bindings[owner].tenant",
            "assignee_bindings[owner].role",
        ],
    );
    invalid(
        "submit without a request id or item",
        api.submit_application(by(&clerk, pb::SubmitApplicationRequest::default()))
            .await,
        &["request_id"],
    );
    invalid(
        "submit without an item",
        api.submit_application(by(
            &clerk,
            pb::SubmitApplicationRequest {
                request_id: rid(),
                ..Default::default()
            },
        ))
        .await,
        &["service_item_id"],
    );
    invalid(
        "submit by a bad key",
        api.submit_application(by(
            &clerk,
            pb::SubmitApplicationRequest {
                request_id: rid(),
                service_item_key: Some(pb::ServiceItemKey {
                    tenant: None,
                    code: "X".into(),
                }),
                ..Default::default()
            },
        ))
        .await,
        &["service_item_key.tenant", "service_item_key.code"],
    );
    let mut nan = submission(&item);
    nan.form_data
        .as_mut()
        .unwrap()
        .fields
        .insert("capital".into(), number(f64::NAN));
    invalid(
        "submit NaN",
        api.submit_application(by(&clerk, nan)).await,
        &["form_data"],
    );
    let mut huge = submission(&item);
    huge.form_data.as_mut().unwrap().fields.insert(
        "company_name".into(),
        prost_types::Value {
            kind: Some(prost_types::value::Kind::StringValue("字".repeat(100_000))),
        },
    );
    invalid(
        "submit a huge form",
        api.submit_application(by(&clerk, huge)).await,
        &["form_data"],
    );

    invalid(
        "get",
        api.get_application(by(&clerk, pb::GetApplicationRequest { id: "nope".into() }))
            .await,
        &["id"],
    );
    invalid(
        "list",
        api.list_applications(by(
            &clerk,
            pb::ListApplicationsRequest {
                page: None,
                statuses: vec![0],
                service_item_id: "nope".into(),
                applicant_subject: "s".repeat(129),
                origin_service: "o".repeat(65),
            },
        ))
        .await,
        &[
            "statuses[0]",
            "service_item_id",
            "applicant_subject",
            "origin_service",
        ],
    );
    invalid(
        "list with a bad page",
        api.list_applications(by(
            &clerk,
            pb::ListApplicationsRequest {
                page: Some(PageRequest {
                    page_size: 5,
                    page_token: "v1:6e6f7065".into(),
                }),
                ..Default::default()
            },
        ))
        .await,
        &["page.page_token"],
    );
    invalid(
        "history",
        api.list_application_history(by(
            &clerk,
            pb::ListApplicationHistoryRequest {
                page: None,
                application_id: "nope".into(),
            },
        ))
        .await,
        &["application_id"],
    );
    invalid(
        "history page",
        api.list_application_history(by(
            &clerk,
            pb::ListApplicationHistoryRequest {
                page: Some(PageRequest {
                    page_size: 1,
                    page_token: "v1:7878".into(),
                }),
                application_id: app.id.clone(),
            },
        ))
        .await,
        &["page.page_token"],
    );
    invalid(
        "my tasks",
        api.list_my_tasks(by(
            &assignee,
            pb::ListMyTasksRequest {
                page: None,
                statuses: vec![0],
            },
        ))
        .await,
        &["statuses[0]"],
    );

    invalid(
        "approve",
        api.approve_application(by(
            &assignee,
            pb::ApproveApplicationRequest {
                request_id: "r".repeat(129),
                application_id: "nope".into(),
                task_id: "nope".into(),
                comment: "c".repeat(2001),
            },
        ))
        .await,
        &["request_id", "application_id", "task_id", "comment"],
    );
    invalid(
        "reject without a reason",
        api.reject_application(by(
            &assignee,
            pb::RejectApplicationRequest {
                request_id: rid(),
                application_id: app.id.clone(),
                task_id: String::new(),
                comment: "  ".into(),
            },
        ))
        .await,
        &["comment"],
    );
    invalid(
        "return without a target or reason",
        api.return_application(by(
            &assignee,
            pb::ReturnApplicationRequest {
                request_id: rid(),
                application_id: app.id.clone(),
                ..Default::default()
            },
        ))
        .await,
        &["target", "comment"],
    );
    invalid(
        "return to a stage asking for materials",
        api.return_application(by(
            &assignee,
            pb::ReturnApplicationRequest {
                request_id: rid(),
                application_id: app.id.clone(),
                comment: "x".into(),
                target: Some(Target::StageKey("joint".into())),
                requested_materials: vec!["photo".into()],
                ..Default::default()
            },
        ))
        .await,
        &["requested_materials"],
    );
    invalid(
        "resubmit",
        api.resubmit_application(by(
            &clerk,
            pb::ResubmitApplicationRequest {
                request_id: String::new(),
                application_id: "nope".into(),
                comment: "c".repeat(2001),
                ..Default::default()
            },
        ))
        .await,
        &["request_id", "application_id", "comment"],
    );
    invalid(
        "recall",
        api.recall_application(by(
            &clerk,
            pb::RecallApplicationRequest {
                request_id: String::new(),
                application_id: app.id.clone(),
                comment: String::new(),
            },
        ))
        .await,
        &["request_id"],
    );
    invalid(
        "add signer",
        api.add_signer(by(
            &assignee,
            pb::AddSignerRequest {
                request_id: rid(),
                application_id: app.id.clone(),
                assignee: None,
                comment: String::new(),
            },
        ))
        .await,
        &["assignee.target"],
    );
    invalid(
        "add a bad signer",
        api.add_signer(by(
            &assignee,
            pb::AddSignerRequest {
                request_id: rid(),
                application_id: app.id.clone(),
                assignee: Some(role("331100/Civil", "root")),
                comment: String::new(),
            },
        ))
        .await,
        &[
            "assignee.department_role.tenant",
            "assignee.department_role.role",
        ],
    );
    invalid(
        "transfer",
        api.transfer_task(by(
            &assignee,
            pb::TransferTaskRequest {
                request_id: rid(),
                application_id: app.id.clone(),
                task_id: "nope".into(),
                assignee: Some(slot("owner")),
                comment: String::new(),
            },
        ))
        .await,
        &["task_id", "assignee.slot"],
    );
    assert_eq!(h.snapshot().await, before, "nothing was written");
}
