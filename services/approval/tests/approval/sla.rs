//! SLA deadlines with several approval instances on one PostgreSQL
//! database (the production lifecycle: access layer, relay, SLA timer; the
//! in-process registry and bus): a stage's reminder and escalation fire
//! exactly once — with two instances looking at once, when one of them
//! stops before the deadline and a fresh one starts after it, and when none
//! runs at the deadline and two fresh ones start after it.

use std::time::Duration;

use sea_orm::DatabaseConnection;
use tonic::transport::Channel;
use zhongtai_contracts::approval::v1 as pb;
use zhongtai_contracts::approval::v1::approval_service_client::ApprovalServiceClient;
use zhongtai_kit::Role;
use zhongtai_testkit::eventually;

use crate::support::server::{Instance, Tokens, migrated_database, platform, with_token};
use crate::support::{HANDLER, count, document, form, rid, role, stage};

/// Timer interval of every instance.
const TICK_MS: u64 = 100;
/// Long enough for any instance to have looked many times.
const SEVERAL_TICKS: Duration = Duration::from_millis(10 * TICK_MS);
const WAIT: Duration = Duration::from_secs(30);

fn seconds(n: i64) -> prost_types::Duration {
    prost_types::Duration {
        seconds: n,
        nanos: 0,
    }
}

/// A process whose one stage is due `due` seconds after it starts, with a
/// reminder `remind_before` seconds earlier, escalating to the handling
/// tenant's admins; an item on it; an application submitted.
async fn submit_with_sla(
    client: &mut ApprovalServiceClient<Channel>,
    tokens: &Tokens,
    due: i64,
    remind_before: i64,
) -> pb::Application {
    let operator = tokens.token("operator", HANDLER, &[Role::Operator]);
    let mut review = stage(
        "review",
        pb::StageKind::Single,
        vec![role(HANDLER, "approver")],
        0,
    );
    review.sla = Some(pb::StageSla {
        duration: Some(seconds(due)),
        remind_before: Some(seconds(remind_before)),
        escalate_to: Some(pb::DepartmentRole {
            tenant: Some(crate::support::tenant(HANDLER)),
            role: "admin".into(),
        }),
    });
    let process = client
        .create_process_definition(with_token(
            pb::CreateProcessDefinitionRequest {
                request_id: rid(),
                key: format!("timed-{}", &rid()[..8]),
                name: "限时审批".into(),
                stages: vec![review],
                ..Default::default()
            },
            &operator,
        ))
        .await
        .unwrap()
        .into_inner()
        .process_definition
        .unwrap();
    let item = client
        .create_service_item(with_token(
            pb::CreateServiceItemRequest {
                request_id: rid(),
                code: format!("timed-{}", &rid()[..8]),
                name: "限时事项".into(),
                materials: vec![pb::Material {
                    code: "articles".into(),
                    name: "公司章程".into(),
                    required: true,
                    ..Default::default()
                }],
                process: Some(pb::ProcessRef {
                    process_definition_id: process.id,
                    version: 0,
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
            &operator,
        ))
        .await
        .unwrap()
        .into_inner()
        .item
        .unwrap();
    client
        .submit_application(with_token(
            pb::SubmitApplicationRequest {
                request_id: rid(),
                service_item_id: item.id,
                form_data: Some(form("某某公司")),
                materials: vec![document("articles")],
                ..Default::default()
            },
            &tokens.token("clerk", HANDLER, &[Role::Operator]),
        ))
        .await
        .unwrap()
        .into_inner()
        .application
        .unwrap()
}

/// History entries and outbox events of `action` for application `id`.
async fn fired(db: &DatabaseConnection, id: &str, action: &str, event: &str) -> (i64, i64) {
    let entries = count(
        db,
        &format!("application_history WHERE application_id = '{id}' AND action = '{action}'"),
    )
    .await;
    let events = count(
        db,
        &format!(
            "event_outbox WHERE subject = '{id}' AND event_type = 'approval.application.{event}'"
        ),
    )
    .await;
    (entries, events)
}

async fn reminders(db: &DatabaseConnection, id: &str) -> (i64, i64) {
    fired(db, id, "reminded", "reminder_due").await
}

async fn escalations(db: &DatabaseConnection, id: &str) -> (i64, i64) {
    fired(db, id, "escalated", "escalated").await
}

async fn wait_for(db: &DatabaseConnection, id: &str, what: &str, escalated: bool) {
    eventually(WAIT, what, || async {
        let (entries, _) = if escalated {
            escalations(db, id).await
        } else {
            reminders(db, id).await
        };
        (entries > 0).then_some(())
    })
    .await;
}

async fn open(url: &str) -> DatabaseConnection {
    sea_orm::Database::connect(url).await.unwrap()
}

/// The stage's deadline, as the application says.
fn due_time(application: &pb::Application) -> chrono::DateTime<chrono::Utc> {
    let due = application.stages[0].due_time.unwrap();
    chrono::DateTime::from_timestamp(due.seconds, due.nanos as u32).unwrap()
}

/// Sleeps until `at` has passed (plus a tick), however long that is.
async fn until_after(at: chrono::DateTime<chrono::Utc>) {
    let left = (at - chrono::Utc::now()).to_std().unwrap_or_default();
    tokio::time::sleep(left + Duration::from_millis(TICK_MS)).await;
}

/// What a user sees after the escalation: one SYSTEM entry of each kind,
/// one escalation task, the stage marked escalated.
async fn assert_escalated_once(
    client: &mut ApprovalServiceClient<Channel>,
    tokens: &Tokens,
    id: &str,
) {
    let got = client
        .get_application(with_token(
            pb::GetApplicationRequest { id: id.into() },
            &tokens.token("operator", HANDLER, &[Role::Operator]),
        ))
        .await
        .unwrap()
        .into_inner();
    let application = got.application.unwrap();
    assert!(application.stages[0].escalated);
    let escalation_tasks: Vec<_> = application.stages[0]
        .tasks
        .iter()
        .filter(|t| t.origin() == pb::TaskOrigin::Escalation)
        .collect();
    assert_eq!(
        escalation_tasks.len(),
        1,
        "{:#?}",
        application.stages[0].tasks
    );
    assert_eq!(
        escalation_tasks[0].assignee,
        Some(role(HANDLER, "admin")),
        "the task is for the role the SLA names"
    );
    let timed: Vec<_> = got
        .history
        .iter()
        .filter(|e| {
            matches!(
                e.action(),
                pb::HistoryAction::Reminded | pb::HistoryAction::Escalated
            )
        })
        .collect();
    assert_eq!(
        timed.iter().map(|e| e.action()).collect::<Vec<_>>(),
        [pb::HistoryAction::Reminded, pb::HistoryAction::Escalated]
    );
    for entry in timed {
        let actor = entry.actor.as_ref().unwrap();
        assert_eq!(
            actor.kind(),
            zhongtai_contracts::common::v1::ActorKind::System
        );
        assert_eq!(actor.subject, "approval.sla-timer");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_remind_and_escalate_exactly_once() {
    zhongtai_testkit::init_tracing();
    let database = migrated_database().await;
    let tokens = Tokens::new().await;
    let platform = platform();
    let a = Instance::start(database.url(), &tokens, &platform, TICK_MS).await;
    let b = Instance::start(database.url(), &tokens, &platform, TICK_MS).await;
    let db = open(database.url()).await;

    let application = submit_with_sla(&mut a.client().await, &tokens, 2, 1).await;
    assert!(application.stages[0].remind_time.is_some());
    wait_for(&db, &application.id, "the escalation", true).await;
    tokio::time::sleep(SEVERAL_TICKS).await;

    assert_eq!(
        reminders(&db, &application.id).await,
        (1, 1),
        "one reminder entry and event"
    );
    assert_eq!(
        escalations(&db, &application.id).await,
        (1, 1),
        "one escalation entry and event"
    );
    assert_escalated_once(&mut b.client().await, &tokens, &application.id).await;
    a.stop().await;
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_instance_stopped_before_the_deadline_and_a_fresh_one_after_it_still_escalate_once() {
    zhongtai_testkit::init_tracing();
    let database = migrated_database().await;
    let tokens = Tokens::new().await;
    let platform = platform();
    let a = Instance::start(database.url(), &tokens, &platform, TICK_MS).await;
    let b = Instance::start(database.url(), &tokens, &platform, TICK_MS).await;
    let db = open(database.url()).await;

    let application = submit_with_sla(&mut a.client().await, &tokens, 4, 3).await;
    wait_for(&db, &application.id, "the reminder", false).await;
    a.stop().await;
    assert_eq!(
        escalations(&db, &application.id).await,
        (0, 0),
        "stopped before the deadline"
    );

    until_after(due_time(&application)).await;
    let c = Instance::start(database.url(), &tokens, &platform, TICK_MS).await;
    wait_for(&db, &application.id, "the escalation", true).await;
    tokio::time::sleep(SEVERAL_TICKS).await;

    assert_eq!(reminders(&db, &application.id).await, (1, 1));
    assert_eq!(escalations(&db, &application.id).await, (1, 1));
    assert_escalated_once(&mut c.client().await, &tokens, &application.id).await;
    b.stop().await;
    c.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deadline_passing_while_no_instance_runs_fires_once_after_the_restart() {
    zhongtai_testkit::init_tracing();
    let database = migrated_database().await;
    let tokens = Tokens::new().await;
    let platform = platform();
    let a = Instance::start(database.url(), &tokens, &platform, TICK_MS).await;
    let b = Instance::start(database.url(), &tokens, &platform, TICK_MS).await;
    let db = open(database.url()).await;

    let application = submit_with_sla(&mut a.client().await, &tokens, 5, 4).await;
    wait_for(&db, &application.id, "the reminder", false).await;
    a.stop().await;
    b.stop().await;
    assert_eq!(
        escalations(&db, &application.id).await,
        (0, 0),
        "all stopped before the deadline"
    );

    until_after(due_time(&application)).await;
    assert_eq!(
        escalations(&db, &application.id).await,
        (0, 0),
        "nobody was there to fire it"
    );
    let c = Instance::start(database.url(), &tokens, &platform, TICK_MS).await;
    let d = Instance::start(database.url(), &tokens, &platform, TICK_MS).await;
    wait_for(&db, &application.id, "the escalation", true).await;
    tokio::time::sleep(SEVERAL_TICKS).await;

    assert_eq!(
        reminders(&db, &application.id).await,
        (1, 1),
        "the reminder did not fire again"
    );
    assert_eq!(escalations(&db, &application.id).await, (1, 1));
    assert_escalated_once(&mut d.client().await, &tokens, &application.id).await;
    c.stop().await;
    d.stop().await;
}

/// The mechanism the instances rely on, with the race forced: two timers
/// read the same due application and both fire it; the second save loses
/// on the version and writes nothing — no entry, no event.
#[tokio::test]
async fn the_timer_that_loses_the_race_writes_nothing() {
    use chrono::{SubsecRound, TimeDelta, Utc};
    use zhongtai_approval::domain::application::Acting;
    use zhongtai_approval::domain::sla::TIMER_ACTOR;
    use zhongtai_approval::domain::{ApplicationRepository, Saved};
    use zhongtai_approval::store::SeaApplications;
    use zhongtai_audit::{AuditRecord, Outcome};

    let h = crate::support::Harness::postgres().await;
    let mut timed = stage(
        "review",
        pb::StageKind::Single,
        vec![role(HANDLER, "approver")],
        0,
    );
    timed.sla = Some(pb::StageSla {
        duration: Some(seconds(3600)),
        remind_before: Some(seconds(600)),
        escalate_to: None,
    });
    let process = crate::support::create_process(&h, "timed", vec![timed]).await;
    let item = crate::support::create_item(&h, "timed-item", &process, 0).await;
    let application = crate::support::submit(&h, &item).await;
    let repository = SeaApplications::new(
        h.db.clone(),
        std::sync::Arc::new(tokio::sync::Notify::new()),
    );

    assert!(
        repository.due(Utc::now(), 10).await.unwrap().is_empty(),
        "nothing due yet"
    );
    let later = (Utc::now() + TimeDelta::hours(2)).trunc_subsecs(6);
    let seen_by_a = repository.due(later, 10).await.unwrap();
    let seen_by_b = repository.due(later, 10).await.unwrap();
    assert_eq!(seen_by_a.len(), 1);
    assert_eq!(seen_by_a, seen_by_b);
    let audit = || {
        AuditRecord::new(
            TIMER_ACTOR,
            HANDLER,
            "approval.application.sla",
            "t",
            Outcome::Allowed,
        )
    };
    let mut by_a = seen_by_a[0].clone();
    let fired_a = by_a.fire_due_timers(&Acting::system(TIMER_ACTOR, later));
    let mut by_b = seen_by_b[0].clone();
    let fired_b = by_b.fire_due_timers(&Acting::system(TIMER_ACTOR, later));
    assert_eq!(fired_a.len(), 2, "reminder and escalation, both late");
    assert_eq!(fired_b.len(), 2);

    let first = repository
        .save_for_timer(&by_a, seen_by_a[0].version, &fired_a, &audit())
        .await
        .unwrap();
    let second = repository
        .save_for_timer(&by_b, seen_by_b[0].version, &fired_b, &audit())
        .await
        .unwrap();
    assert_eq!((first, second), (Saved::Saved, Saved::Conflict));
    assert_eq!(reminders(&h.db, &application.id).await, (1, 1));
    assert_eq!(escalations(&h.db, &application.id).await, (1, 1));
    assert!(
        repository.due(later, 10).await.unwrap().is_empty(),
        "fired once, due no more"
    );
}
