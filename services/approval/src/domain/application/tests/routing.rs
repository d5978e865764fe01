//! Sending back to a stage or the applicant, resubmitting, recalling.

use super::*;
use crate::domain::application::*;
use crate::domain::process::StageKind;

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
