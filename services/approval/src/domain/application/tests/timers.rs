//! SLA reminders and escalations.

use chrono::TimeDelta;
use zhongtai_kit::{ActorKind, Caller, Role};

use super::*;
use crate::domain::application::*;
use crate::domain::assignee::DepartmentRole;
use crate::domain::process::{StageKind, StageSla};

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
