//! Fixtures: assignees, stages, processes, items, submissions, and the
//! calls the tests make most.

use tonic::Status;
use zhongtai_contracts::approval::v1 as pb;
use zhongtai_contracts::approval::v1::approval_service_server::ApprovalService;
use zhongtai_kit::Caller;

use super::{CIVIL, HANDLER, Harness, by, clerk, operator, rid, tenant};

pub fn role(tenant: &str, role: &str) -> pb::Assignee {
    pb::Assignee {
        target: Some(pb::assignee::Target::DepartmentRole(pb::DepartmentRole {
            tenant: Some(self::tenant(tenant)),
            role: role.into(),
        })),
    }
}

pub fn user(subject: &str) -> pb::Assignee {
    pb::Assignee {
        target: Some(pb::assignee::Target::User(subject.into())),
    }
}

pub fn slot(name: &str) -> pb::Assignee {
    pb::Assignee {
        target: Some(pb::assignee::Target::Slot(name.into())),
    }
}

pub fn stage(
    key: &str,
    kind: pb::StageKind,
    assignees: Vec<pb::Assignee>,
    required: i32,
) -> pb::StageDefinition {
    pb::StageDefinition {
        key: key.into(),
        name: format!("阶段 {key}"),
        kind: kind as i32,
        assignees,
        required_approvals: required,
        sla: None,
    }
}

pub async fn create_process(
    h: &Harness,
    key: &str,
    stages: Vec<pb::StageDefinition>,
) -> pb::ProcessDefinition {
    h.api
        .create_process_definition(by(
            &operator(),
            pb::CreateProcessDefinitionRequest {
                request_id: rid(),
                key: key.into(),
                name: format!("流程 {key}"),
                stages,
                ..Default::default()
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .process_definition
        .unwrap()
}

/// A public-service item with one required material and one required
/// text field, approved by `process` (latest version when `version` is 0).
pub async fn create_item(
    h: &Harness,
    code: &str,
    process: &pb::ProcessDefinition,
    version: i64,
) -> pb::ServiceItem {
    h.api
        .create_service_item(by(
            &operator(),
            pb::CreateServiceItemRequest {
                request_id: rid(),
                code: code.into(),
                name: format!("事项 {code}"),
                materials: vec![
                    pb::Material {
                        code: "articles".into(),
                        name: "公司章程".into(),
                        required: true,
                        accepted_media_types: vec!["application/pdf".into()],
                        ..Default::default()
                    },
                    pb::Material {
                        code: "photo".into(),
                        name: "照片".into(),
                        ..Default::default()
                    },
                ],
                certificate_type: "business-licence".into(),
                process: Some(pb::ProcessRef {
                    process_definition_id: process.id.clone(),
                    version,
                }),
                form_fields: vec![pb::FormField {
                    name: "company_name".into(),
                    label: "企业名称".into(),
                    r#type: pb::FormFieldType::Text as i32,
                    required: true,
                    ..Default::default()
                }],
                ..Default::default()
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .item
        .unwrap()
}

pub fn document(code: &str) -> pb::SubmittedMaterial {
    pb::SubmittedMaterial {
        material_code: code.into(),
        document_uri: format!("s3://documents/{code}.pdf"),
        sha256: "0123456789abcdef".repeat(4),
        media_type: "application/pdf".into(),
        size_bytes: 2048,
        file_name: format!("{code}.pdf"),
    }
}

pub fn form(company: &str) -> prost_types::Struct {
    prost_types::Struct {
        fields: [(
            "company_name".to_string(),
            prost_types::Value {
                kind: Some(prost_types::value::Kind::StringValue(company.into())),
            },
        )]
        .into_iter()
        .collect(),
    }
}

/// A valid submission of `item` (the request id is fresh).
pub fn submission(item: &pb::ServiceItem) -> pb::SubmitApplicationRequest {
    pb::SubmitApplicationRequest {
        request_id: rid(),
        service_item_id: item.id.clone(),
        applicant: Some(pb::Applicant {
            contact: "13800000000".into(),
            ..Default::default()
        }),
        form_data: Some(form("某某科技有限公司")),
        materials: vec![document("articles")],
        ..Default::default()
    }
}

pub async fn submit(h: &Harness, item: &pb::ServiceItem) -> pb::Application {
    h.api
        .submit_application(by(&clerk(), submission(item)))
        .await
        .unwrap()
        .into_inner()
        .application
        .unwrap()
}

pub async fn approve(h: &Harness, who: &Caller, id: &str) -> Result<pb::Application, Status> {
    h.api
        .approve_application(by(
            who,
            pb::ApproveApplicationRequest {
                request_id: rid(),
                application_id: id.into(),
                task_id: String::new(),
                comment: "同意".into(),
            },
        ))
        .await
        .map(|r| r.into_inner().application.unwrap())
}

pub async fn reject(h: &Harness, who: &Caller, id: &str) -> Result<pb::Application, Status> {
    h.api
        .reject_application(by(
            who,
            pb::RejectApplicationRequest {
                request_id: rid(),
                application_id: id.into(),
                task_id: String::new(),
                comment: "不同意".into(),
            },
        ))
        .await
        .map(|r| r.into_inner().application.unwrap())
}

pub async fn get(
    h: &Harness,
    who: &Caller,
    id: &str,
) -> Result<pb::GetApplicationResponse, Status> {
    h.api
        .get_application(by(who, pb::GetApplicationRequest { id: id.into() }))
        .await
        .map(|r| r.into_inner())
}

/// The history actions of an application, oldest first.
pub async fn actions(h: &Harness, id: &str) -> Vec<pb::HistoryAction> {
    let got = get(h, &operator(), id).await.unwrap();
    let sequences: Vec<i64> = got.history.iter().map(|e| e.sequence).collect();
    let expected: Vec<i64> = (1..=got.history.len() as i64).collect();
    assert_eq!(
        sequences, expected,
        "history is numbered from 1 without gaps"
    );
    got.history.iter().map(|e| e.action()).collect()
}

/// A process with one joint stage of the civil-affairs and data-bureau
/// approvers, and an item on it.
pub async fn joint_item(h: &Harness) -> pb::ServiceItem {
    let process = create_process(
        h,
        "joint-review",
        vec![stage(
            "joint",
            pb::StageKind::Joint,
            vec![role(CIVIL, "approver"), role(super::BUREAU, "approver")],
            0,
        )],
    )
    .await;
    create_item(h, "business-licence", &process, 0).await
}

/// A process with a joint stage of the handler's approvers and a slot,
/// an item on it, and an application submitted.
pub struct Fixture {
    pub h: Harness,
    pub process: pb::ProcessDefinition,
    pub item: pb::ServiceItem,
    pub app: pb::Application,
}

pub async fn fixture() -> Fixture {
    let h = Harness::postgres().await;
    let process = create_process(
        &h,
        "joint-review",
        vec![stage(
            "joint",
            pb::StageKind::Joint,
            vec![role(HANDLER, "approver"), slot("owner")],
            0,
        )],
    )
    .await;
    let item = create_item(&h, "business-licence", &process, 0).await;
    let mut request = submission(&item);
    request.assignee_bindings.insert(
        "owner".into(),
        pb::DepartmentRole {
            tenant: Some(tenant(CIVIL)),
            role: "approver".into(),
        },
    );
    let app = h
        .api
        .submit_application(by(&clerk(), request))
        .await
        .unwrap()
        .into_inner()
        .application
        .unwrap();
    Fixture {
        h,
        process,
        item,
        app,
    }
}
