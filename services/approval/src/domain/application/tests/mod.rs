//! The state machine, transition by transition: stage rules, routing,
//! signers, timers and submission checks. Fixtures here, tests by concern
//! in the submodules.

mod routing;
mod signers;
mod stages;
mod submissions;
mod timers;

use chrono::Utc;
use serde_json::json;
use uuid::Uuid;
use zhongtai_kit::{Caller, Role, TenantId};

use super::*;
use crate::domain::assignee::{Assignee, DepartmentRole};
use crate::domain::process::{ProcessDefinition, ProcessState, StageDefinition, StageKind};
use crate::domain::service_item::{
    FieldType, FormField, ItemCode, ItemKind, ItemState, Material, ServiceItem,
};

pub(super) const HANDLER: &str = "331100/market-regulation";
pub(super) const APPLICANT: &str = "331100/housing-fund";

pub(super) fn tenant(key: &str) -> TenantId {
    TenantId::from_key(key).expect("tenant")
}

pub(super) fn role(key: &str) -> DepartmentRole {
    DepartmentRole {
        tenant: tenant(key),
        role: Role::Approver,
    }
}

pub(super) fn approver(key: &str) -> Caller {
    Caller::new(format!("approver@{key}"), tenant(key), &[Role::Approver])
}

pub(super) fn applicant() -> Caller {
    Caller::new("clerk", tenant(APPLICANT), &[Role::Operator])
}

pub(super) fn stage(
    key: &str,
    kind: StageKind,
    departments: &[&str],
    required: u32,
) -> StageDefinition {
    StageDefinition {
        key: key.into(),
        name: format!("stage {key}"),
        kind,
        assignees: departments
            .iter()
            .map(|d| Assignee::DepartmentRole(role(d)))
            .collect(),
        required_approvals: required,
        sla: None,
    }
}

pub(super) fn process(stages: Vec<StageDefinition>) -> ProcessDefinition {
    ProcessDefinition {
        id: Uuid::now_v7(),
        tenant: tenant(HANDLER),
        key: ItemCode::parse("test-process").expect("key"),
        name: "test".into(),
        description: String::new(),
        version: 1,
        stages,
        state: ProcessState::Active,
        created_at: Utc::now(),
        created_by: zhongtai_kit::Actor::system("test"),
    }
}

pub(super) fn item(kind: ItemKind) -> ServiceItem {
    ServiceItem {
        id: Uuid::now_v7(),
        tenant: tenant(HANDLER),
        code: ItemCode::parse("business-licence").expect("code"),
        name: "营业执照".into(),
        description: String::new(),
        materials: vec![
            Material {
                code: "articles".into(),
                name: "公司章程".into(),
                description: String::new(),
                required: true,
                accepted_media_types: vec!["application/pdf".into()],
                max_size_bytes: 1000,
            },
            Material {
                code: "photo".into(),
                name: "照片".into(),
                description: String::new(),
                required: false,
                accepted_media_types: Vec::new(),
                max_size_bytes: 0,
            },
        ],
        certificate_type: Some("business-licence".into()),
        process: None,
        form_fields: vec![
            FormField {
                name: "company_name".into(),
                label: "企业名称".into(),
                field_type: FieldType::Text,
                required: true,
                description: String::new(),
            },
            FormField {
                name: "capital".into(),
                label: "注册资本".into(),
                field_type: FieldType::Decimal,
                required: false,
                description: String::new(),
            },
        ],
        kind,
        state: ItemState::Active,
        version: 1,
        created_at: Utc::now(),
        updated_at: Utc::now(),
    }
}

pub(super) fn document(code: &str) -> SubmittedMaterial {
    SubmittedMaterial {
        material_code: code.into(),
        document_uri: format!("s3://docs/{code}.pdf"),
        sha256: "a".repeat(64),
        media_type: "application/pdf".into(),
        size_bytes: 100,
        file_name: format!("{code}.pdf"),
    }
}

pub(super) fn draft() -> SubmissionDraft {
    let serde_json::Value::Object(form) =
        json!({"company_name": "某某有限公司", "capital": "100.00"})
    else {
        panic!("object");
    };
    SubmissionDraft {
        request_id: "submit-1".into(),
        item: ItemSelector::Missing,
        applicant: ApplicantDraft::default(),
        form_data: form,
        materials: vec![document("articles")],
        origin: None,
        bindings: Vec::new(),
    }
}

pub(super) fn submit(stages: Vec<StageDefinition>) -> Application {
    let caller = applicant();
    let acting = Acting::caller(&caller, "submit-1", Utc::now());
    let (application, transitions) = Application::submit(
        &acting,
        tenant(APPLICANT),
        &item(ItemKind::PublicService),
        &process(stages),
        &draft(),
    )
    .expect("submitted");
    assert_eq!(kinds(&transitions), [TransitionKind::Submitted]);
    application
}

pub(super) fn kinds(transitions: &[Transition]) -> Vec<TransitionKind> {
    transitions.iter().map(|t| t.kind).collect()
}

pub(super) fn act<'a>(caller: &'a Caller, request: &str) -> Acting<'a> {
    Acting::caller(caller, request, Utc::now())
}

pub(super) fn statuses(stage: &StageInstance) -> Vec<TaskStatus> {
    stage.tasks.iter().map(|t| t.status).collect()
}
