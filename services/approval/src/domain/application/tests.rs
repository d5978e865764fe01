//! The state machine, transition by transition: stage rules, routing,
//! signers, timers and submission checks.

use chrono::{TimeDelta, Utc};
use serde_json::json;
use uuid::Uuid;
use zhongtai_kit::{ActorKind, Caller, Role, TenantId};

use super::*;
use crate::domain::assignee::{Assignee, DepartmentRole, DepartmentRoleDraft, TaskAssignee};
use crate::domain::process::{
    ProcessDefinition, ProcessState, StageDefinition, StageKind, StageSla,
};
use crate::domain::service_item::{
    FieldType, FormField, ItemCode, ItemKind, ItemState, Material, ServiceItem,
};

const HANDLER: &str = "331100/market-regulation";
const APPLICANT: &str = "331100/housing-fund";

fn tenant(key: &str) -> TenantId {
    TenantId::from_key(key).expect("tenant")
}

fn role(key: &str) -> DepartmentRole {
    DepartmentRole {
        tenant: tenant(key),
        role: Role::Approver,
    }
}

fn approver(key: &str) -> Caller {
    Caller::new(format!("approver@{key}"), tenant(key), &[Role::Approver])
}

fn applicant() -> Caller {
    Caller::new("clerk", tenant(APPLICANT), &[Role::Operator])
}

fn stage(key: &str, kind: StageKind, departments: &[&str], required: u32) -> StageDefinition {
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

fn process(stages: Vec<StageDefinition>) -> ProcessDefinition {
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

fn item(kind: ItemKind) -> ServiceItem {
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

fn document(code: &str) -> SubmittedMaterial {
    SubmittedMaterial {
        material_code: code.into(),
        document_uri: format!("s3://docs/{code}.pdf"),
        sha256: "a".repeat(64),
        media_type: "application/pdf".into(),
        size_bytes: 100,
        file_name: format!("{code}.pdf"),
    }
}

fn draft() -> SubmissionDraft {
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

fn submit(stages: Vec<StageDefinition>) -> Application {
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

fn kinds(transitions: &[Transition]) -> Vec<TransitionKind> {
    transitions.iter().map(|t| t.kind).collect()
}

fn act<'a>(caller: &'a Caller, request: &str) -> Acting<'a> {
    Acting::caller(caller, request, Utc::now())
}

fn statuses(stage: &StageInstance) -> Vec<TaskStatus> {
    stage.tasks.iter().map(|t| t.status).collect()
}

#[test]
fn submission_activates_the_first_stage_at_version_one() {
    let app = submit(vec![
        stage(
            "review",
            StageKind::Joint,
            &["331100/civil-affairs", HANDLER],
            0,
        ),
        stage("sign", StageKind::Single, &[HANDLER], 0),
    ]);
    assert_eq!(app.version, 1);
    assert_eq!(app.history_len, 1);
    assert_eq!(app.status, ApplicationStatus::InProgress);
    assert_eq!(app.current_stage, Some(0));
    assert_eq!(app.stages[0].status, StageStatus::Active);
    assert_eq!(app.stages[0].tasks.len(), 2);
    assert_eq!(app.stages[1].status, StageStatus::Pending);
    assert!(app.stages[1].tasks.is_empty());
    assert_eq!(app.applicant.tenant, tenant(APPLICANT));
    assert_eq!(app.applicant.submitted_by.subject, "clerk");
    let (tenants, users) = app.parties();
    assert_eq!(tenants.len(), 3, "{tenants:?}");
    assert!(users.is_empty());
}

#[test]
fn joint_stage_needs_every_approval_in_any_order() {
    let departments = ["331100/civil-affairs", "331100/data-bureau", HANDLER];
    for order in [[0, 1, 2], [2, 0, 1], [1, 2, 0]] {
        let mut app = submit(vec![stage("joint", StageKind::Joint, &departments, 0)]);
        for (n, index) in order.iter().enumerate() {
            let caller = approver(departments[*index]);
            let transitions = app
                .approve(&act(&caller, &format!("a{n}")), None, "同意")
                .expect("approve");
            if n < 2 {
                assert_eq!(kinds(&transitions), [TransitionKind::TaskApproved]);
                assert_eq!(app.status, ApplicationStatus::InProgress);
            } else {
                assert_eq!(
                    kinds(&transitions),
                    [
                        TransitionKind::TaskApproved,
                        TransitionKind::StageCompleted,
                        TransitionKind::Approved
                    ]
                );
                // Each transition carries the application right after it.
                assert_eq!(
                    transitions[0].application.status,
                    ApplicationStatus::InProgress
                );
                assert_eq!(
                    transitions[2].application.status,
                    ApplicationStatus::Approved
                );
                let versions: Vec<i64> =
                    transitions.iter().map(|t| t.application.version).collect();
                assert_eq!(versions, [4, 5, 6]);
                let sequences: Vec<i64> = transitions.iter().map(|t| t.entry.sequence).collect();
                assert_eq!(sequences, [4, 5, 6]);
            }
        }
        assert_eq!(app.status, ApplicationStatus::Approved);
        assert_eq!(app.current_stage, None);
        assert!(app.completed_at.is_some());
        assert_eq!(app.stages[0].status, StageStatus::Approved);
    }
}

#[test]
fn one_joint_rejection_rejects_and_cancels_the_rest() {
    let departments = ["331100/civil-affairs", "331100/data-bureau"];
    let mut app = submit(vec![
        stage("joint", StageKind::Joint, &departments, 0),
        stage("later", StageKind::Single, &[HANDLER], 0),
    ]);
    let first = approver(departments[0]);
    app.approve(&act(&first, "a"), None, "").expect("approve");
    let second = approver(departments[1]);
    let transitions = app
        .reject(&act(&second, "r"), None, "材料不符")
        .expect("reject");
    assert_eq!(kinds(&transitions), [TransitionKind::Rejected]);
    assert_eq!(transitions[0].entry.action, HistoryAction::Rejected);
    assert_eq!(transitions[0].entry.comment, "材料不符");
    assert_eq!(app.status, ApplicationStatus::Rejected);
    assert_eq!(app.stages[0].status, StageStatus::Rejected);
    assert_eq!(app.stages[1].status, StageStatus::Pending);
    assert_eq!(
        statuses(&app.stages[0]),
        [TaskStatus::Approved, TaskStatus::Rejected]
    );
}

#[test]
fn any_of_follows_the_first_decision() {
    let departments = ["331100/civil-affairs", "331100/data-bureau", HANDLER];
    let mut app = submit(vec![stage("any", StageKind::AnyOf, &departments, 0)]);
    let caller = approver(departments[1]);
    let transitions = app.approve(&act(&caller, "a"), None, "").expect("approve");
    assert_eq!(
        kinds(&transitions),
        [
            TransitionKind::TaskApproved,
            TransitionKind::StageCompleted,
            TransitionKind::Approved
        ]
    );
    assert_eq!(
        statuses(&app.stages[0]),
        [
            TaskStatus::Cancelled,
            TaskStatus::Approved,
            TaskStatus::Cancelled
        ]
    );

    let mut app = submit(vec![stage("any", StageKind::AnyOf, &departments, 0)]);
    let caller = approver(departments[2]);
    let transitions = app.reject(&act(&caller, "r"), None, "no").expect("reject");
    assert_eq!(kinds(&transitions), [TransitionKind::Rejected]);
    assert_eq!(
        statuses(&app.stages[0]),
        [
            TaskStatus::Cancelled,
            TaskStatus::Cancelled,
            TaskStatus::Rejected
        ]
    );
    // The others' tasks are gone: they can no longer act.
    let late = approver(departments[0]);
    assert!(matches!(
        app.approve(&act(&late, "late"), None, ""),
        Err(ApprovalError::FailedPrecondition(_))
    ));
}

#[test]
fn n_of_m_completes_at_n_and_fails_once_n_is_out_of_reach() {
    let departments = ["331100/civil-affairs", "331100/data-bureau", HANDLER];
    let mut app = submit(vec![stage("panel", StageKind::NOfM, &departments, 2)]);
    let first = approver(departments[0]);
    assert_eq!(
        kinds(&app.approve(&act(&first, "1"), None, "").expect("1")),
        [TransitionKind::TaskApproved]
    );
    let second = approver(departments[2]);
    assert_eq!(
        kinds(&app.approve(&act(&second, "2"), None, "").expect("2")),
        [
            TransitionKind::TaskApproved,
            TransitionKind::StageCompleted,
            TransitionKind::Approved
        ]
    );
    assert_eq!(app.stages[0].tasks[1].status, TaskStatus::Cancelled);

    let mut app = submit(vec![stage("panel", StageKind::NOfM, &departments, 2)]);
    let first = approver(departments[0]);
    let transitions = app.reject(&act(&first, "1"), None, "no").expect("1");
    assert_eq!(
        kinds(&transitions),
        [TransitionKind::TaskRejected],
        "2 of the 2 left can still approve"
    );
    assert_eq!(app.status, ApplicationStatus::InProgress);
    let second = approver(departments[1]);
    assert_eq!(
        kinds(&app.reject(&act(&second, "2"), None, "no").expect("2")),
        [TransitionKind::Rejected]
    );
    assert_eq!(app.status, ApplicationStatus::Rejected);
    assert_eq!(app.stages[0].tasks[2].status, TaskStatus::Cancelled);
}

#[test]
fn a_completed_stage_activates_the_next() {
    let mut app = submit(vec![
        stage("first", StageKind::Single, &["331100/civil-affairs"], 0),
        stage("second", StageKind::Single, &[HANDLER], 0),
    ]);
    let caller = approver("331100/civil-affairs");
    let transitions = app.approve(&act(&caller, "a"), None, "").expect("approve");
    assert_eq!(
        kinds(&transitions),
        [TransitionKind::TaskApproved, TransitionKind::StageCompleted]
    );
    let completed = &transitions[1];
    assert_eq!(completed.entry.stage_key, "first");
    assert_eq!(completed.application.current_stage, Some(1));
    assert_eq!(completed.application.stages[1].status, StageStatus::Active);
    assert_eq!(app.stages[1].tasks.len(), 1);
}

#[test]
fn who_may_act_on_a_task() {
    let mut app = submit(vec![stage(
        "joint",
        StageKind::Joint,
        &["331100/civil-affairs", HANDLER],
        0,
    )]);
    let before = app.clone();
    let outsider = approver("331100/data-bureau");
    assert!(matches!(
        app.approve(&act(&outsider, "x"), None, ""),
        Err(ApprovalError::Denied {
            reason: "NOT_ASSIGNEE",
            ..
        })
    ));
    let task = app.stages[0].tasks[0].id;
    assert!(matches!(
        app.approve(&act(&outsider, "x"), Some(task), ""),
        Err(ApprovalError::Denied {
            reason: "NOT_ASSIGNEE",
            ..
        })
    ));
    let viewer = Caller::new("v", tenant("331100/civil-affairs"), &[Role::Viewer]);
    assert!(matches!(
        app.approve(&act(&viewer, "x"), Some(task), ""),
        Err(ApprovalError::Denied { .. })
    ));
    assert!(matches!(
        app.approve(&act(&outsider, "x"), Some(Uuid::now_v7()), ""),
        Err(ApprovalError::TaskNotFound(_))
    ));
    assert_eq!(app, before, "refusals change nothing");

    let assignee = approver("331100/civil-affairs");
    app.approve(&act(&assignee, "a"), Some(task), "")
        .expect("approve");
    assert!(matches!(
        app.approve(&act(&assignee, "again"), Some(task), ""),
        Err(ApprovalError::FailedPrecondition(_))
    ));
    assert!(matches!(
        app.approve(&act(&assignee, "again"), None, ""),
        Err(ApprovalError::FailedPrecondition(_))
    ));
}

#[test]
fn several_pending_tasks_must_be_named() {
    let mut app = submit(vec![stage(
        "joint",
        StageKind::Joint,
        &["331100/civil-affairs"],
        0,
    )]);
    let admin = Caller::new("boss", tenant(HANDLER), &[Role::Admin, Role::Approver]);
    let caller = approver("331100/civil-affairs");
    app.add_signer(
        &act(&admin, "s"),
        TaskAssignee::User(caller.subject.clone()),
        "",
    )
    .expect("signer");
    assert!(matches!(
        app.approve(&act(&caller, "a"), None, ""),
        Err(ApprovalError::Invalid(v)) if v[0].0 == "task_id"
    ));
}

#[test]
fn finished_applications_take_no_action() {
    let mut app = submit(vec![stage("only", StageKind::Single, &[HANDLER], 0)]);
    let caller = approver(HANDLER);
    app.approve(&act(&caller, "a"), None, "").expect("approve");
    let done = app.clone();
    let clerk = applicant();
    assert!(matches!(
        app.approve(&act(&caller, "b"), None, ""),
        Err(ApprovalError::FailedPrecondition(_))
    ));
    assert!(matches!(
        app.reject(&act(&caller, "b"), None, "x"),
        Err(ApprovalError::FailedPrecondition(_))
    ));
    assert!(matches!(
        app.recall(&act(&clerk, "b"), ""),
        Err(ApprovalError::FailedPrecondition(_))
    ));
    assert!(matches!(
        app.add_signer(&act(&caller, "b"), TaskAssignee::User("u".into()), ""),
        Err(ApprovalError::FailedPrecondition(_))
    ));
    assert!(matches!(
        app.resubmit(&act(&clerk, "b"), None, &[], ""),
        Err(ApprovalError::FailedPrecondition(_))
    ));
    assert!(
        app.fire_due_timers(&Acting::system("t", Utc::now()))
            .is_empty()
    );
    assert_eq!(app, done);
}

#[test]
fn returned_to_an_earlier_stage_it_runs_that_stage_again() {
    let mut app = submit(vec![
        stage("first", StageKind::Single, &["331100/civil-affairs"], 0),
        stage("second", StageKind::Single, &["331100/data-bureau"], 0),
        stage("third", StageKind::Single, &[HANDLER], 0),
    ]);
    let first = approver("331100/civil-affairs");
    let second = approver("331100/data-bureau");
    let third = approver(HANDLER);
    app.approve(&act(&first, "1"), None, "").expect("1");
    app.approve(&act(&second, "2"), None, "").expect("2");
    assert!(matches!(
        app.send_back(&act(&third, "back"), None, "x", &ReturnTarget::Stage("third".into())),
        Err(ApprovalError::Invalid(v)) if v[0].0 == "stage_key"
    ));
    let transitions = app
        .send_back(
            &act(&third, "back"),
            None,
            "请复核",
            &ReturnTarget::Stage("first".into()),
        )
        .expect("back");
    assert_eq!(kinds(&transitions), [TransitionKind::Returned]);
    assert_eq!(
        transitions[0].entry.detail,
        Some(HistoryDetail::Returned {
            stage_key: Some("first".into()),
            requested_materials: vec![]
        })
    );
    assert_eq!(app.status, ApplicationStatus::InProgress);
    assert_eq!(app.current_stage, Some(0));
    assert_eq!(app.stages[0].status, StageStatus::Active);
    assert_eq!(app.stages[1].status, StageStatus::Pending);
    assert_eq!(app.stages[2].status, StageStatus::Returned);
    assert_eq!(
        statuses(&app.stages[0]),
        [TaskStatus::Approved, TaskStatus::Pending]
    );
    assert_eq!(app.stages[0].activation, 2);
    // The round starts over: every stage decides again.
    app.approve(&act(&first, "1b"), None, "").expect("1b");
    assert_eq!(app.current_stage, Some(1));
    app.approve(&act(&second, "2b"), None, "").expect("2b");
    assert_eq!(app.current_stage, Some(2));
    assert_eq!(app.stages[2].status, StageStatus::Active);
    let transitions = app.approve(&act(&third, "3"), None, "").expect("3");
    assert_eq!(kinds(&transitions).last(), Some(&TransitionKind::Approved));
}

#[test]
fn returned_to_the_applicant_it_resumes_where_it_left_after_resubmission() {
    let mut app = submit(vec![
        stage("first", StageKind::Single, &["331100/civil-affairs"], 0),
        stage(
            "second",
            StageKind::Joint,
            &["331100/data-bureau", HANDLER],
            0,
        ),
    ]);
    let first = approver("331100/civil-affairs");
    app.approve(&act(&first, "1"), None, "").expect("1");
    let reviewer = approver(HANDLER);
    assert!(matches!(
        app.send_back(
            &act(&reviewer, "back"),
            None,
            "x",
            &ReturnTarget::Applicant { requested_materials: vec!["unknown".into()] }
        ),
        Err(ApprovalError::Invalid(v)) if v[0].0 == "requested_materials[0]"
    ));
    let transitions = app
        .send_back(
            &act(&reviewer, "back"),
            None,
            "请补充照片",
            &ReturnTarget::Applicant {
                requested_materials: vec!["photo".into(), "photo".into()],
            },
        )
        .expect("back");
    assert_eq!(kinds(&transitions), [TransitionKind::Returned]);
    assert_eq!(app.status, ApplicationStatus::Returned);
    assert_eq!(app.current_stage, None);
    assert_eq!(app.requested_materials, ["photo"]);
    assert_eq!(
        statuses(&app.stages[1]),
        [TaskStatus::Cancelled, TaskStatus::Returned]
    );
    // Nobody decides a returned application.
    let other = approver("331100/data-bureau");
    assert!(matches!(
        app.approve(&act(&other, "x"), None, ""),
        Err(ApprovalError::FailedPrecondition(_))
    ));

    let clerk = applicant();
    assert!(matches!(
        app.resubmit(&act(&first, "re"), None, &[document("photo")], ""),
        Err(ApprovalError::Denied {
            reason: "NOT_APPLICANT",
            ..
        })
    ));
    assert!(matches!(
        app.resubmit(&act(&clerk, "re"), None, &[], ""),
        Err(ApprovalError::Invalid(v)) if v[0].0 == "materials"
    ));
    let mut photo = document("photo");
    photo.media_type = "image/jpeg".into();
    let transitions = app
        .resubmit(&act(&clerk, "re"), None, &[photo], "已补充")
        .expect("resubmit");
    assert_eq!(kinds(&transitions), [TransitionKind::Resubmitted]);
    assert_eq!(transitions[0].entry.stage_key, "second");
    assert_eq!(app.status, ApplicationStatus::InProgress);
    assert_eq!(app.current_stage, Some(1));
    assert_eq!(app.materials.len(), 2);
    assert_eq!(
        statuses(&app.stages[1]),
        [
            TaskStatus::Cancelled,
            TaskStatus::Returned,
            TaskStatus::Pending,
            TaskStatus::Pending
        ]
    );
    app.approve(&act(&other, "a"), None, "").expect("a");
    let transitions = app.approve(&act(&reviewer, "b"), None, "").expect("b");
    assert_eq!(kinds(&transitions).last(), Some(&TransitionKind::Approved));
}

#[test]
fn recall_only_before_the_current_stage_acted() {
    let departments = ["331100/civil-affairs", HANDLER];
    let clerk = applicant();
    let mut app = submit(vec![stage("joint", StageKind::Joint, &departments, 0)]);
    let someone = approver(HANDLER);
    assert!(matches!(
        app.recall(&act(&someone, "r"), ""),
        Err(ApprovalError::Denied { .. })
    ));
    let transitions = app.recall(&act(&clerk, "r"), "不办了").expect("recall");
    assert_eq!(kinds(&transitions), [TransitionKind::Recalled]);
    assert_eq!(app.status, ApplicationStatus::Recalled);
    assert_eq!(app.stages[0].status, StageStatus::Cancelled);
    assert_eq!(
        statuses(&app.stages[0]),
        [TaskStatus::Cancelled, TaskStatus::Cancelled]
    );

    let mut app = submit(vec![stage("joint", StageKind::Joint, &departments, 0)]);
    app.approve(&act(&someone, "a"), None, "").expect("approve");
    let before = app.clone();
    assert!(matches!(
        app.recall(&act(&clerk, "r"), ""),
        Err(ApprovalError::FailedPrecondition(_))
    ));
    assert_eq!(app, before);

    // A later stage that has not acted yet can still be recalled.
    let mut app = submit(vec![
        stage("first", StageKind::Single, &[HANDLER], 0),
        stage("second", StageKind::Single, &[HANDLER], 0),
    ]);
    app.approve(&act(&someone, "a"), None, "").expect("approve");
    app.recall(&act(&clerk, "r"), "").expect("recall");
    assert_eq!(app.stages[0].status, StageStatus::Approved);
    assert_eq!(app.stages[1].status, StageStatus::Cancelled);
}

#[test]
fn added_signers_must_also_decide() {
    let mut app = submit(vec![stage("joint", StageKind::Joint, &[HANDLER], 0)]);
    let caller = approver(HANDLER);
    let outsider = approver("331100/data-bureau");
    assert!(matches!(
        app.add_signer(
            &act(&outsider, "s"),
            TaskAssignee::DepartmentRole(role(HANDLER)),
            ""
        ),
        Err(ApprovalError::Denied { .. })
    ));
    assert!(matches!(
        app.add_signer(
            &act(&caller, "s"),
            TaskAssignee::DepartmentRole(role(HANDLER)),
            ""
        ),
        Err(ApprovalError::FailedPrecondition(_))
    ));
    let (transitions, new_task) = app
        .add_signer(
            &act(&caller, "s"),
            TaskAssignee::DepartmentRole(role("331100/data-bureau")),
            "加签",
        )
        .expect("signer");
    assert_eq!(kinds(&transitions), [TransitionKind::SignerAdded]);
    let task = app.task(new_task).expect("new task");
    assert_eq!(task.origin, TaskOrigin::AddedSigner);
    assert!(matches!(
        transitions[0].entry.detail,
        Some(HistoryDetail::SignerAdded { new_task_id, .. }) if new_task_id == new_task
    ));
    assert_eq!(
        kinds(&app.approve(&act(&caller, "a"), None, "").expect("a")),
        [TransitionKind::TaskApproved]
    );
    assert_eq!(
        kinds(&app.approve(&act(&outsider, "b"), None, "").expect("b")).last(),
        Some(&TransitionKind::Approved)
    );
}

#[test]
fn an_added_signer_grows_m_of_an_n_of_m_stage() {
    let departments = ["331100/civil-affairs", HANDLER];
    let mut app = submit(vec![stage("panel", StageKind::NOfM, &departments, 2)]);
    let admin = Caller::new("boss", tenant(HANDLER), &[Role::Admin]);
    app.add_signer(
        &act(&admin, "s"),
        TaskAssignee::DepartmentRole(role("331100/data-bureau")),
        "",
    )
    .expect("an admin of the handling tenant may add signers");
    // 2 of 3 now: one rejection leaves the stage open.
    let first = approver(departments[0]);
    assert_eq!(
        kinds(&app.reject(&act(&first, "r"), None, "no").expect("r")),
        [TransitionKind::TaskRejected]
    );
    let second = approver(departments[1]);
    app.approve(&act(&second, "a"), None, "").expect("a");
    let third = approver("331100/data-bureau");
    assert_eq!(
        kinds(&app.approve(&act(&third, "b"), None, "").expect("b")).last(),
        Some(&TransitionKind::Approved)
    );
}

#[test]
fn a_transferred_task_is_decided_by_its_new_assignee() {
    let mut app = submit(vec![stage("only", StageKind::Single, &[HANDLER], 0)]);
    let caller = approver(HANDLER);
    assert!(matches!(
        app.transfer(&act(&caller, "t"), None, TaskAssignee::DepartmentRole(role(HANDLER)), ""),
        Err(ApprovalError::Invalid(v)) if v[0].0 == "assignee"
    ));
    let (transitions, new_task) = app
        .transfer(
            &act(&caller, "t"),
            None,
            TaskAssignee::User("wangfang".into()),
            "出差",
        )
        .expect("transfer");
    assert_eq!(kinds(&transitions), [TransitionKind::TaskTransferred]);
    assert_eq!(
        statuses(&app.stages[0]),
        [TaskStatus::Transferred, TaskStatus::Pending]
    );
    assert_eq!(
        app.task(new_task).map(|t| t.origin),
        Some(TaskOrigin::Transfer)
    );
    assert!(matches!(
        app.approve(&act(&caller, "a"), None, ""),
        Err(ApprovalError::FailedPrecondition(_))
    ));
    let wang = Caller::new(
        "wangfang",
        tenant("331100/civil-affairs"),
        &[Role::Approver],
    );
    let transitions = app
        .approve(&act(&wang, "w"), None, "")
        .expect("the new assignee decides");
    assert_eq!(kinds(&transitions).last(), Some(&TransitionKind::Approved));
    let (_, users) = app.parties();
    assert_eq!(users, ["wangfang"]);
}

fn with_sla(
    mut definition: StageDefinition,
    minutes: i64,
    remind: i64,
    escalate: bool,
) -> StageDefinition {
    definition.sla = Some(StageSla {
        duration_micros: minutes * 60_000_000,
        remind_before_micros: remind * 60_000_000,
        escalate_to: escalate.then(|| DepartmentRole {
            tenant: tenant(HANDLER),
            role: Role::Admin,
        }),
    });
    definition
}

#[test]
fn sla_moments_fire_once_per_activation() {
    let mut app = submit(vec![with_sla(
        stage("only", StageKind::Joint, &["331100/civil-affairs"], 0),
        60,
        10,
        true,
    )]);
    let start = app.stages[0].started_at.expect("started");
    assert_eq!(app.next_reminder(), Some(start + TimeDelta::minutes(50)));
    assert_eq!(app.next_escalation(), Some(start + TimeDelta::minutes(60)));
    let timer = |at| Acting::system("approval.sla-timer", at);
    assert!(
        app.fire_due_timers(&timer(start + TimeDelta::minutes(49)))
            .is_empty()
    );
    let reminded = app.fire_due_timers(&timer(start + TimeDelta::minutes(50)));
    assert_eq!(kinds(&reminded), [TransitionKind::ReminderDue]);
    assert_eq!(reminded[0].entry.actor.kind, ActorKind::System);
    assert!(
        app.fire_due_timers(&timer(start + TimeDelta::minutes(55)))
            .is_empty()
    );
    assert_eq!(app.next_reminder(), None);
    let escalated = app.fire_due_timers(&timer(start + TimeDelta::minutes(61)));
    assert_eq!(kinds(&escalated), [TransitionKind::Escalated]);
    assert!(app.stages[0].escalated);
    assert_eq!(app.next_escalation(), None);
    assert!(
        app.fire_due_timers(&timer(start + TimeDelta::minutes(120)))
            .is_empty()
    );
    let Some(HistoryDetail::Escalated {
        new_task_id: Some(new_task),
        escalated_to,
        ..
    }) = &escalated[0].entry.detail
    else {
        panic!("escalation detail: {:?}", escalated[0].entry.detail);
    };
    assert_eq!(escalated_to.as_ref().map(|r| r.role), Some(Role::Admin));
    assert_eq!(
        app.task(*new_task).map(|t| t.origin),
        Some(TaskOrigin::Escalation)
    );
    // The original task stays open; whoever it escalated to decides alone.
    assert_eq!(app.stages[0].tasks[0].status, TaskStatus::Pending);
    let boss = Caller::new("boss", tenant(HANDLER), &[Role::Admin]);
    let transitions = app
        .approve(&act(&boss, "b"), Some(*new_task), "")
        .expect("approve");
    assert_eq!(kinds(&transitions).last(), Some(&TransitionKind::Approved));
}

#[test]
fn late_timers_fire_both_moments_and_a_return_restarts_the_clock() {
    let mut app = submit(vec![
        with_sla(
            stage("first", StageKind::Single, &[HANDLER], 0),
            60,
            10,
            false,
        ),
        stage("second", StageKind::Single, &[HANDLER], 0),
    ]);
    let start = app.stages[0].started_at.expect("started");
    let fired = app.fire_due_timers(&Acting::system("t", start + TimeDelta::hours(5)));
    assert_eq!(
        kinds(&fired),
        [TransitionKind::ReminderDue, TransitionKind::Escalated]
    );
    assert!(matches!(
        fired[1].entry.detail,
        Some(HistoryDetail::Escalated {
            new_task_id: None,
            escalated_to: None,
            ..
        })
    ));
    let caller = approver(HANDLER);
    app.approve(&act(&caller, "a"), None, "").expect("a");
    assert_eq!(app.next_escalation(), None, "the second stage has no SLA");
    app.send_back(
        &act(&caller, "b"),
        None,
        "again",
        &ReturnTarget::Stage("first".into()),
    )
    .expect("back");
    assert!(!app.stages[0].escalated);
    assert!(
        app.next_reminder().is_some(),
        "a new activation, a new clock"
    );
}

#[test]
fn submissions_are_checked_against_the_item_and_the_process() {
    let caller = applicant();
    let acting = Acting::caller(&caller, "s", Utc::now());
    let mut owner_stage = stage("joint", StageKind::Joint, &[HANDLER], 0);
    owner_stage.assignees.push(Assignee::Slot("owner".into()));
    let process = process(vec![owner_stage]);
    let mut bad = draft();
    bad.form_data.insert("capital".into(), json!(100));
    bad.form_data.insert("nickname".into(), json!("x"));
    bad.form_data.remove("company_name");
    let mut wrong = document("photo");
    wrong.sha256 = "ABC".into();
    wrong.size_bytes = 0;
    let mut big = document("articles");
    big.size_bytes = 1001;
    big.media_type = "image/png".into();
    bad.materials = vec![wrong, big, document("nothing")];
    bad.bindings = vec![(
        "stranger".into(),
        DepartmentRoleDraft {
            tenant: Some(("331100".into(), "x".into())),
            role: "approver".into(),
        },
    )];
    let Err(ApprovalError::Invalid(violations)) = Application::submit(
        &acting,
        tenant(APPLICANT),
        &item(ItemKind::PublicService),
        &process,
        &bad,
    ) else {
        panic!("expected violations");
    };
    let fields: Vec<&str> = violations.iter().map(|(f, _)| f.as_str()).collect();
    for expected in [
        "form_data.capital",
        "form_data.nickname",
        "form_data.company_name",
        "materials[0].sha256",
        "materials[0].size_bytes",
        "materials[1].size_bytes",
        "materials[1].media_type",
        "materials[2].material_code",
        "assignee_bindings[stranger]",
        "assignee_bindings[owner]",
    ] {
        assert!(
            fields.contains(&expected),
            "{expected} missing from {fields:?}"
        );
    }

    // A data-access request describes itself freely; bound slots resolve.
    let mut free = draft();
    free.form_data
        .insert("anything".into(), json!({"fields": ["a", "b"]}));
    free.bindings = vec![(
        "owner".into(),
        DepartmentRoleDraft {
            tenant: Some(("331100".into(), "civil-affairs".into())),
            role: "approver".into(),
        },
    )];
    let (app, _) = Application::submit(
        &acting,
        tenant(APPLICANT),
        &item(ItemKind::DataAccess),
        &process,
        &free,
    )
    .expect("free-form data access");
    assert!(
        app.stages[0]
            .tasks
            .iter()
            .any(|t| t.assignee == TaskAssignee::DepartmentRole(role("331100/civil-affairs")))
    );

    let mut huge = draft();
    huge.form_data
        .insert("blob".into(), json!("x".repeat(MAX_FORM_DATA_BYTES)));
    let Err(ApprovalError::Invalid(violations)) = Application::submit(
        &acting,
        tenant(APPLICANT),
        &item(ItemKind::DataAccess),
        &process,
        &huge,
    ) else {
        panic!("too large");
    };
    assert!(violations.iter().any(|(f, _)| f == "form_data"));
}
