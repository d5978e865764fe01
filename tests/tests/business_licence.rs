//! S2 steps 1–2 against the real approval center (PostgreSQL, etcd
//! discovery over mutual TLS, RabbitMQ): a business-licence item whose
//! process is a clerk review, then a joint approval by market regulation and
//! fire safety; an application runs through both stages and its approval is
//! announced on RabbitMQ with everything the certificate center needs.

#![allow(clippy::unwrap_used)] // helpers outside #[test] fns may panic: they are test code

mod support;

use std::time::Duration;

use prost::Message;
use prost_types::value::Kind;
use prost_types::{Duration as ProtoDuration, Struct, Value};
use tonic::Code;
use zhongtai_contracts::approval::v1 as approval;
use zhongtai_contracts::approval::v1::approval_service_client::ApprovalServiceClient;
use zhongtai_contracts::common::v1::{Holder, Organization, Tenant, holder};
use zhongtai_contracts::events::v1::ApplicationApproved;
use zhongtai_kit::Role;
use zhongtai_mesh::MeshChannel;

use support::{Mesh, Services, with_token};

const MARKET_REGULATION: &str = "331100/market-regulation";
const FIRE_SAFETY: &str = "331100/fire-safety";
const CLERK: &str = "clerk-wang";
const EVENT_WAIT: Duration = Duration::from_secs(30);

fn tenant(key: &str) -> Tenant {
    let (division, department) = key.split_once('/').unwrap();
    Tenant {
        division_code: division.into(),
        department: department.into(),
    }
}

fn request_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

fn client(mesh: &Mesh) -> ApprovalServiceClient<MeshChannel> {
    ApprovalServiceClient::new(mesh.channel("approval"))
}

fn approver_of(department: &str) -> approval::Assignee {
    approval::Assignee {
        target: Some(approval::assignee::Target::DepartmentRole(
            approval::DepartmentRole {
                tenant: Some(tenant(department)),
                role: "approver".into(),
            },
        )),
    }
}

fn text(value: &str) -> Value {
    Value {
        kind: Some(Kind::StringValue(value.into())),
    }
}

/// Market regulation's set-up: the two-stage process and the item using it.
async fn set_up_business_licence(mesh: &Mesh, operator: &str) -> approval::ServiceItem {
    let mut approval = client(mesh);
    let process = approval
        .create_process_definition(with_token(
            approval::CreateProcessDefinitionRequest {
                request_id: request_id(),
                key: "business-licence-approval".into(),
                name: "营业执照审批".into(),
                stages: vec![
                    approval::StageDefinition {
                        key: "clerk-review".into(),
                        name: "窗口受理".into(),
                        kind: approval::StageKind::Single as i32,
                        assignees: vec![approval::Assignee {
                            target: Some(approval::assignee::Target::User(CLERK.into())),
                        }],
                        ..Default::default()
                    },
                    approval::StageDefinition {
                        key: "joint-review".into(),
                        name: "联合审查".into(),
                        kind: approval::StageKind::Joint as i32,
                        assignees: vec![approver_of(MARKET_REGULATION), approver_of(FIRE_SAFETY)],
                        sla: Some(approval::StageSla {
                            duration: Some(ProtoDuration {
                                seconds: 5 * 24 * 3600,
                                nanos: 0,
                            }),
                            ..Default::default()
                        }),
                        ..Default::default()
                    },
                ],
                ..Default::default()
            },
            operator,
        ))
        .await
        .unwrap()
        .into_inner()
        .process_definition
        .unwrap();
    approval
        .create_service_item(with_token(
            approval::CreateServiceItemRequest {
                request_id: request_id(),
                code: "business-licence".into(),
                name: "营业执照设立登记".into(),
                certificate_type: "business-licence".into(),
                process: Some(approval::ProcessRef {
                    process_definition_id: process.id,
                    version: 0,
                }),
                materials: vec![approval::Material {
                    code: "articles".into(),
                    name: "公司章程".into(),
                    required: true,
                    accepted_media_types: vec!["application/pdf".into()],
                    ..Default::default()
                }],
                form_fields: vec![approval::FormField {
                    name: "company_name".into(),
                    label: "企业名称".into(),
                    r#type: approval::FormFieldType::Text as i32,
                    required: true,
                    ..Default::default()
                }],
                ..Default::default()
            },
            operator,
        ))
        .await
        .unwrap()
        .into_inner()
        .item
        .unwrap()
}

async fn approve(mesh: &Mesh, token: &str, application_id: &str) -> approval::Application {
    client(mesh)
        .approve_application(with_token(
            approval::ApproveApplicationRequest {
                request_id: request_id(),
                application_id: application_id.into(),
                comment: "同意".into(),
                ..Default::default()
            },
            token,
        ))
        .await
        .unwrap()
        .into_inner()
        .application
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_business_licence_application_passes_a_clerk_and_a_joint_approval() {
    let mesh = Mesh::start(Services::ApprovalAndCatalog).await;
    let mut observer = mesh.observe(&["approval.application.*"]).await;
    let operator = mesh.security.token(MARKET_REGULATION, &[Role::Operator]);
    let item = set_up_business_licence(&mesh, &operator).await;

    // The department's app submits for the founding company.
    let submitted = client(&mesh)
        .submit_application(with_token(
            approval::SubmitApplicationRequest {
                request_id: request_id(),
                service_item_id: item.id.clone(),
                applicant: Some(approval::Applicant {
                    holder: Some(Holder {
                        holder: Some(holder::Holder::Organization(Organization {
                            name: "丽水青瓷有限公司".into(),
                            unified_social_credit_code: "91331100MA2A0B1C2D".into(),
                        })),
                    }),
                    ..Default::default()
                }),
                form_data: Some(Struct {
                    fields: [("company_name".to_string(), text("丽水青瓷有限公司"))].into(),
                }),
                materials: vec![approval::SubmittedMaterial {
                    material_code: "articles".into(),
                    document_uri: "s3://materials/articles.pdf".into(),
                    sha256: "ab".repeat(32),
                    media_type: "application/pdf".into(),
                    size_bytes: 52_000,
                    file_name: "章程.pdf".into(),
                }],
                ..Default::default()
            },
            &operator,
        ))
        .await
        .unwrap()
        .into_inner()
        .application
        .unwrap();
    let id = submitted.id.clone();
    assert_eq!(submitted.status(), approval::ApplicationStatus::InProgress);
    assert_eq!(submitted.current_stage_index, 0);
    observer
        .expect("approval.application.submitted", &id, EVENT_WAIT)
        .await;

    // Fire safety has nothing to decide while the clerk reviews: the
    // application reaches it (and becomes visible to it) with its stage.
    let fire_safety = mesh.security.token(FIRE_SAFETY, &[Role::Approver]);
    let early = client(&mesh)
        .approve_application(with_token(
            approval::ApproveApplicationRequest {
                request_id: request_id(),
                application_id: id.clone(),
                ..Default::default()
            },
            &fire_safety,
        ))
        .await
        .unwrap_err();
    assert_eq!(early.code(), Code::NotFound, "{early:?}");

    // The named clerk accepts; the joint stage opens with two tasks.
    let clerk = mesh
        .security
        .token_of(CLERK, MARKET_REGULATION, &[Role::Approver]);
    let after_clerk = approve(&mesh, &clerk, &id).await;
    assert_eq!(after_clerk.current_stage_index, 1);
    assert_eq!(after_clerk.stages[1].tasks.len(), 2);
    observer
        .expect("approval.application.stage_completed", &id, EVENT_WAIT)
        .await;

    // Joint approval in the order the departments get to it.
    let after_fire_safety = approve(&mesh, &fire_safety, &id).await;
    assert_eq!(
        after_fire_safety.status(),
        approval::ApplicationStatus::InProgress,
        "one of two joint approvals is not enough"
    );
    let market_approver = mesh.security.token(MARKET_REGULATION, &[Role::Approver]);
    let approved = approve(&mesh, &market_approver, &id).await;
    assert_eq!(approved.status(), approval::ApplicationStatus::Approved);

    // The approval event carries what the certificate center needs.
    let announced = observer
        .expect("approval.application.approved", &id, EVENT_WAIT)
        .await;
    let event = ApplicationApproved::decode(announced.payload.unwrap().value.as_slice()).unwrap();
    let application = event.application.unwrap();
    assert_eq!(application.certificate_type, "business-licence");
    assert_eq!(
        application.form_data.unwrap().fields["company_name"],
        text("丽水青瓷有限公司")
    );
    let holder = application.applicant.unwrap().holder.unwrap().holder;
    assert!(
        matches!(holder, Some(holder::Holder::Organization(ref o)) if o.unified_social_credit_code == "91331100MA2A0B1C2D"),
        "{holder:?}"
    );
    assert_eq!(
        event.entry.unwrap().action(),
        approval::HistoryAction::Completed
    );

    // The history tells who did what, in order, without gaps.
    let history = client(&mesh)
        .get_application(with_token(
            approval::GetApplicationRequest { id: id.clone() },
            &operator,
        ))
        .await
        .unwrap()
        .into_inner()
        .history;
    use approval::HistoryAction::{Approved, Completed, StageCompleted, Submitted};
    let actions: Vec<_> = history.iter().map(|e| e.action()).collect();
    assert_eq!(
        actions,
        [
            Submitted,
            Approved,
            StageCompleted,
            Approved,
            Approved,
            StageCompleted,
            Completed
        ]
    );
    let sequences: Vec<i64> = history.iter().map(|e| e.sequence).collect();
    assert_eq!(sequences, (1..=7).collect::<Vec<_>>());
    assert_eq!(history[1].actor.as_ref().unwrap().subject, CLERK);
    assert_eq!(
        history[3].actor.as_ref().unwrap().tenant,
        Some(tenant(FIRE_SAFETY))
    );

    // A finished application takes no more decisions.
    let late = client(&mesh)
        .approve_application(with_token(
            approval::ApproveApplicationRequest {
                request_id: request_id(),
                application_id: id.clone(),
                ..Default::default()
            },
            &market_approver,
        ))
        .await
        .unwrap_err();
    assert_eq!(late.code(), Code::FailedPrecondition, "{late:?}");
    mesh.stop().await;
}
