//! Added signers and transferred tasks.

use zhongtai_kit::{Caller, Role};

use super::*;
use crate::domain::application::*;
use crate::domain::assignee::TaskAssignee;
use crate::domain::process::StageKind;

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
