//! Submission, how each kind of stage decides, who may act.

use chrono::Utc;
use uuid::Uuid;
use zhongtai_kit::{Caller, Role};

use super::*;
use crate::domain::application::*;
use crate::domain::assignee::TaskAssignee;
use crate::domain::process::StageKind;

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
