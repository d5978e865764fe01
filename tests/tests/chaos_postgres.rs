//! Chaos: the approval center's PostgreSQL crashes and comes back while
//! `zhongtai serve approval` is under a steady load of idempotent writes
//! and reads, and while an SLA reminder and escalation fall due.
//!
//! What a user must see: every call ends, with an answer or a clean gRPC
//! error (never a hang, never UNKNOWN from a panic); the service answers
//! again by itself once the database is back; nothing is half-written (each
//! item has its outbox event, no request id made two items); and the
//! timers that fell due during the outage fire once, not zero times or
//! twice.

#![allow(clippy::unwrap_used)] // helpers outside #[test] fns may panic: they are test code

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sea_orm::{ConnectionTrait, DatabaseConnection, Statement};
use tokio_util::sync::CancellationToken;
use tonic::Code;
use tonic::service::interceptor::InterceptedService;
use zhongtai_contracts::approval::v1 as pb;
use zhongtai_contracts::approval::v1::approval_service_client::ApprovalServiceClient;
use zhongtai_kit::Role;
use zhongtai_mesh::{ChannelConfig, EtcdConfig, EtcdRegistry, MeshChannel, Registry};
use zhongtai_scenarios::{BearerToken, Process, Security};
use zhongtai_testkit::{EtcdServer, PostgresNode, amqp_url, eventually};

type Client = ApprovalServiceClient<InterceptedService<MeshChannel, BearerToken>>;

const TENANT: &str = "331100/market-regulation";
/// The deadline each call carries (`grpc-timeout`).
const CALL_DEADLINE: Duration = Duration::from_secs(5);
/// A call still running this long after its deadline has hung.
const HANG: Duration = Duration::from_secs(3);
const WRITERS: usize = 4;
const READERS: usize = 2;
/// How often the service looks for due SLA moments.
const TIMER_INTERVAL_MS: u64 = 200;
/// Stage SLA of the timed application: the reminder falls due 1 s after
/// submission and the deadline 2 s after it, both inside the outage.
const SLA: Duration = Duration::from_secs(2);
const REMIND_BEFORE: Duration = Duration::from_secs(1);
const LOAD_BEFORE_CRASH: Duration = Duration::from_secs(2);
const OUTAGE: Duration = Duration::from_secs(3);
const LOAD_AFTER_RESTART: Duration = Duration::from_secs(5);
/// Time for the timer to have looked many times.
const SEVERAL_TICKS: Duration = Duration::from_millis(10 * TIMER_INTERVAL_MS);
const WAIT: Duration = Duration::from_secs(20);

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum CallKind {
    Create,
    List,
}

/// How one call ended, as the caller saw it.
#[derive(Clone, Debug)]
enum Answer {
    /// A create answers with the item it made (or made before).
    Ok {
        item_id: Option<String>,
    },
    Failed {
        code: Code,
        message: String,
    },
    /// Still running `HANG` after its deadline.
    Hung,
}

#[derive(Clone, Debug)]
struct Call {
    kind: CallKind,
    started: Instant,
    took: Duration,
    answer: Answer,
    /// The create's request id and item code, to retry it with.
    create: Option<(String, String)>,
}

type Calls = Arc<Mutex<Vec<Call>>>;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn approval_center_rides_out_a_postgres_crash_under_load() {
    zhongtai_testkit::init_tracing();
    let mut postgres = PostgresNode::start();
    let etcd = EtcdServer::start();
    let security = Security::new();
    let exchange = format!("zt-chaos-{}", uuid::Uuid::new_v4().simple());
    let mut approval = serve_approval(&postgres, &etcd, &security, &exchange);
    let client = client(&etcd, &security);

    let timed = submit_timed_application_setup(&mut client.clone()).await;

    let calls: Calls = Arc::default();
    let stop = CancellationToken::new();
    let mut load = Vec::new();
    for writer in 0..WRITERS {
        load.push(tokio::spawn(write_load(
            writer,
            client.clone(),
            calls.clone(),
            stop.clone(),
        )));
    }
    for _ in 0..READERS {
        load.push(tokio::spawn(read_load(
            client.clone(),
            calls.clone(),
            stop.clone(),
        )));
    }
    tokio::time::sleep(LOAD_BEFORE_CRASH).await;

    // The application's SLA clock starts now; PostgreSQL dies right after,
    // before its reminder is due, and comes back after its deadline.
    let application = timed.submit(&mut client.clone()).await;
    let stage = &application.stages[0];
    let remind_at = timestamp(stage.remind_time.as_ref());
    let due_at = timestamp(stage.due_time.as_ref());
    let crash_started = Instant::now();
    postgres.crash();
    let crashed_at = Instant::now();
    let crashed_wall = chrono::Utc::now();
    tokio::time::sleep(OUTAGE).await;
    postgres.restart();
    let restarted_at = Instant::now();
    let restarted_wall = chrono::Utc::now();
    assert!(
        crashed_wall < remind_at && due_at < restarted_wall,
        "the outage ({crashed_wall} .. {restarted_wall}) must cover the reminder ({remind_at}) \
         and the deadline ({due_at}); the crash took {:?}",
        crashed_at - crash_started
    );

    tokio::time::sleep(LOAD_AFTER_RESTART).await;
    stop.cancel();
    for task in load {
        task.await.unwrap();
    }
    let calls = calls.lock().unwrap().clone();
    println!("{}", summary(&calls, crash_started, restarted_at));

    // Every call ended, answered or failed cleanly, and the process lived.
    let hung: Vec<_> = calls
        .iter()
        .filter(|c| matches!(c.answer, Answer::Hung))
        .collect();
    assert!(hung.is_empty(), "calls hung past their deadline: {hung:?}");
    let unclean: Vec<_> = calls
        .iter()
        .filter(|c| match &c.answer {
            Answer::Failed { code, message } => {
                !clean_failure(*code, message) || message.is_empty()
            }
            _ => false,
        })
        .collect();
    assert!(
        unclean.is_empty(),
        "calls failed with something other than a clean outage error: {unclean:?}\n{}",
        approval.output()
    );
    assert!(
        approval.is_running(),
        "the service exited:\n{}",
        approval.output()
    );
    assert!(
        !approval.output().contains("panicked"),
        "the service panicked:\n{}",
        approval.output()
    );

    // It recovered by itself: writes and reads begun after the restart
    // succeeded, and every call now succeeds.
    for kind in [CallKind::Create, CallKind::List] {
        let after = calls
            .iter()
            .filter(|c| c.kind == kind && c.started >= restarted_at)
            .filter(|c| matches!(c.answer, Answer::Ok { .. }))
            .count();
        assert!(
            after > 0,
            "no {kind:?} call succeeded in the {LOAD_AFTER_RESTART:?} after the restart:\n{}",
            approval.output()
        );
    }
    // Item id per request id answered OK.
    let mut answered: BTreeMap<String, String> = BTreeMap::new();
    let mut sent: BTreeSet<String> = BTreeSet::new();
    for call in &calls {
        if let Some((request_id, _)) = &call.create {
            sent.insert(request_id.clone());
            if let Answer::Ok {
                item_id: Some(item_id),
            } = &call.answer
            {
                answered.insert(request_id.clone(), item_id.clone());
            }
        }
    }
    let answered_under_load = answered.len();
    // A failed create may or may not have committed; retrying it with its
    // request id must give the one item, made now or then.
    let mut retried = 0;
    for call in &calls {
        let (Some((request_id, code)), Answer::Failed { .. }) = (&call.create, &call.answer) else {
            continue;
        };
        let item = create(&mut client.clone(), request_id, code)
            .await
            .unwrap_or_else(|s| panic!("retry of {request_id} after recovery failed: {s:?}"));
        retried += 1;
        if let Some(earlier) = answered.insert(request_id.clone(), item.id.clone()) {
            assert_eq!(earlier, item.id, "request {request_id} answered two items");
        }
    }
    println!(
        "chaos_postgres: {} creates sent, {answered_under_load} answered OK under load, \
         {retried} failed and were retried after recovery",
        sent.len()
    );
    for n in 0..10 {
        list(&mut client.clone())
            .await
            .unwrap_or_else(|s| panic!("read {n} after recovery failed: {s:?}"));
    }

    // Nothing half-written: one item per request id, each with its event.
    let db = sea_orm::Database::connect(postgres.url("postgres"))
        .await
        .unwrap();
    let stored = stored_items(&db).await;
    assert_eq!(
        stored.len(),
        sent.len(),
        "items in the database vs distinct request ids sent"
    );
    for (request_id, item_id) in &answered {
        let rows = stored.get(request_id).map(Vec::as_slice).unwrap_or(&[]);
        assert_eq!(
            rows,
            std::slice::from_ref(item_id),
            "request {request_id} answered item {item_id}; the database holds {rows:?}"
        );
    }
    let without_one_event = items_without_exactly_one_created_event(&db).await;
    assert!(
        without_one_event.is_empty(),
        "items whose outbox event is missing or doubled (item, events): {without_one_event:?}"
    );

    // The reminder and the escalation that fell due during the outage
    // fired once each.
    let id = application.id.as_str();
    for (action, event) in [("reminded", "reminder_due"), ("escalated", "escalated")] {
        eventually(WAIT, &format!("the {action} moment to fire"), || async {
            (timer_effects(&db, id, action, event).await.0 > 0).then_some(())
        })
        .await;
    }
    tokio::time::sleep(SEVERAL_TICKS).await;
    for (action, event) in [("reminded", "reminder_due"), ("escalated", "escalated")] {
        assert_eq!(
            timer_effects(&db, id, action, event).await,
            (1, 1),
            "{action}: (history entries, outbox events) of application {id}"
        );
    }
    let escalation_tasks = count(
        &db,
        &format!("application_tasks WHERE application_id = '{id}' AND assignee_role = 'admin'"),
    )
    .await;
    assert_eq!(
        escalation_tasks, 1,
        "tasks the escalation added for the admins"
    );

    approval.stop_gracefully(Duration::from_secs(15));
    drop(db);
    postgres.stop();
    delete_exchange(&exchange).await;
}

/// `zhongtai serve approval` on `postgres`, production-style: real etcd and
/// RabbitMQ, mutual TLS and token checks on, timers looked at often.
fn serve_approval(
    postgres: &PostgresNode,
    etcd: &EtcdServer,
    security: &Security,
    exchange: &str,
) -> Process {
    let mut envs = security.serve_env("approval");
    envs.extend([
        ("DATABASE_URL", postgres.url("postgres")),
        ("ETCD_ENDPOINTS", etcd.endpoint()),
        ("AMQP_URL", amqp_url()),
        ("ZHONGTAI_EVENTS__EXCHANGE", exchange.to_string()),
        ("ZHONGTAI_SERVER__LISTEN", "127.0.0.1:0".into()),
        ("ZHONGTAI_SERVER__METRICS_LISTEN", "127.0.0.1:0".into()),
        (
            "ZHONGTAI_APPROVAL__TIMER_INTERVAL_MS",
            TIMER_INTERVAL_MS.to_string(),
        ),
    ]);
    let mut process = Process::spawn("approval", &["serve", "approval"], &envs);
    process.wait_for_output("registered in discovery", Duration::from_secs(60));
    process
}

/// A client balancing over the instances in etcd, as an operator's. It
/// never retries by itself, so every failure the service answers is seen.
fn client(etcd: &EtcdServer, security: &Security) -> Client {
    let registry = EtcdRegistry::new(EtcdConfig {
        endpoints: vec![etcd.endpoint()],
        ..EtcdConfig::default()
    })
    .unwrap();
    let channel = MeshChannel::new(
        registry.discover("approval"),
        ChannelConfig {
            tls: Some(security.client_tls()),
            max_attempts: 1,
            ..ChannelConfig::default()
        },
    );
    let token = security.token(TENANT, &[Role::Operator]);
    ApprovalServiceClient::with_interceptor(channel, BearerToken::new(&token))
}

fn request<T>(message: T) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    request.set_timeout(CALL_DEADLINE);
    request
}

fn rid() -> String {
    uuid::Uuid::new_v4().to_string()
}

fn duration(d: Duration) -> prost_types::Duration {
    prost_types::Duration::try_from(d).unwrap()
}

fn timestamp(t: Option<&prost_types::Timestamp>) -> chrono::DateTime<chrono::Utc> {
    let t = t.expect("the stage has an SLA");
    chrono::DateTime::from_timestamp(t.seconds, u32::try_from(t.nanos).unwrap()).unwrap()
}

async fn create(
    client: &mut Client,
    request_id: &str,
    code: &str,
) -> Result<pb::ServiceItem, tonic::Status> {
    let item = client
        .create_service_item(request(pb::CreateServiceItemRequest {
            request_id: request_id.to_string(),
            code: code.to_string(),
            name: "压力下的事项".into(),
            ..Default::default()
        }))
        .await?
        .into_inner()
        .item;
    item.ok_or_else(|| tonic::Status::internal("the answer carries no item"))
}

async fn list(client: &mut Client) -> Result<(), tonic::Status> {
    client
        .list_service_items(request(pb::ListServiceItemsRequest::default()))
        .await
        .map(|_| ())
}

/// Runs `call` with a watch for hangs and records how it ended.
async fn timed<F>(calls: &Calls, kind: CallKind, create: Option<(String, String)>, call: F)
where
    F: std::future::Future<Output = Result<Option<String>, tonic::Status>>,
{
    let started = Instant::now();
    let answer = match tokio::time::timeout(CALL_DEADLINE + HANG, call).await {
        Ok(Ok(item_id)) => Answer::Ok { item_id },
        Ok(Err(status)) => Answer::Failed {
            code: status.code(),
            message: status.message().to_string(),
        },
        Err(_) => Answer::Hung,
    };
    calls.lock().unwrap().push(Call {
        kind,
        started,
        took: started.elapsed(),
        answer,
        create,
    });
}

/// Creates items with a fresh request id each until `stop`.
async fn write_load(writer: usize, mut client: Client, calls: Calls, stop: CancellationToken) {
    let mut n = 0;
    while !stop.is_cancelled() {
        n += 1;
        let request_id = rid();
        let code = format!("chaos-{writer}-{n}");
        let target = Some((request_id.clone(), code.clone()));
        timed(&calls, CallKind::Create, target, async {
            create(&mut client, &request_id, &code)
                .await
                .map(|item| Some(item.id))
        })
        .await;
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Lists items until `stop`.
async fn read_load(mut client: Client, calls: Calls, stop: CancellationToken) {
    while !stop.is_cancelled() {
        timed(&calls, CallKind::List, None, async {
            list(&mut client).await.map(|()| None)
        })
        .await;
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// What a database outage may look like to a caller: the database is
/// unavailable (retry), the service is too busy meanwhile, or the call's
/// deadline passed while it waited for the database (tonic reports the
/// caller's own deadline as CANCELLED "Timeout expired"). Never INTERNAL: a
/// lost connection is not a bug of the service.
fn clean_failure(code: Code, message: &str) -> bool {
    match code {
        Code::Unavailable | Code::DeadlineExceeded | Code::ResourceExhausted => true,
        Code::Cancelled => message == "Timeout expired",
        _ => false,
    }
}

/// The item on a one-stage process with a short SLA, ready for a submission.
struct TimedItem {
    item_id: String,
}

async fn submit_timed_application_setup(client: &mut Client) -> TimedItem {
    let handler = TENANT.split_once('/').unwrap();
    let tenant = zhongtai_contracts::common::v1::Tenant {
        division_code: handler.0.into(),
        department: handler.1.into(),
    };
    let review = pb::StageDefinition {
        key: "review".into(),
        name: "审核".into(),
        kind: pb::StageKind::Single as i32,
        assignees: vec![pb::Assignee {
            target: Some(pb::assignee::Target::DepartmentRole(pb::DepartmentRole {
                tenant: Some(tenant.clone()),
                role: "approver".into(),
            })),
        }],
        required_approvals: 0,
        sla: Some(pb::StageSla {
            duration: Some(duration(SLA)),
            remind_before: Some(duration(REMIND_BEFORE)),
            escalate_to: Some(pb::DepartmentRole {
                tenant: Some(tenant),
                role: "admin".into(),
            }),
        }),
    };
    let process = client
        .create_process_definition(request(pb::CreateProcessDefinitionRequest {
            request_id: rid(),
            key: "timed-review".into(),
            name: "限时审批".into(),
            stages: vec![review],
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner()
        .process_definition
        .unwrap();
    let item = client
        .create_service_item(request(pb::CreateServiceItemRequest {
            request_id: rid(),
            code: "timed-item".into(),
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
        }))
        .await
        .unwrap()
        .into_inner()
        .item
        .unwrap();
    TimedItem { item_id: item.id }
}

impl TimedItem {
    async fn submit(&self, client: &mut Client) -> pb::Application {
        let form = prost_types::Struct {
            fields: [(
                "company_name".to_string(),
                prost_types::Value {
                    kind: Some(prost_types::value::Kind::StringValue("某某公司".into())),
                },
            )]
            .into_iter()
            .collect(),
        };
        client
            .submit_application(request(pb::SubmitApplicationRequest {
                request_id: rid(),
                service_item_id: self.item_id.clone(),
                form_data: Some(form),
                materials: vec![pb::SubmittedMaterial {
                    material_code: "articles".into(),
                    document_uri: "s3://documents/articles.pdf".into(),
                    sha256: "0123456789abcdef".repeat(4),
                    media_type: "application/pdf".into(),
                    size_bytes: 2048,
                    file_name: "articles.pdf".into(),
                }],
                ..Default::default()
            }))
            .await
            .unwrap()
            .into_inner()
            .application
            .unwrap()
    }
}

/// Item ids per request id of the load's items.
async fn stored_items(db: &DatabaseConnection) -> BTreeMap<String, Vec<String>> {
    let rows = db
        .query_all_raw(Statement::from_string(
            db.get_database_backend(),
            "SELECT request_id, id FROM service_items WHERE code LIKE 'chaos-%'",
        ))
        .await
        .unwrap();
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for row in rows {
        let request_id: String = row.try_get("", "request_id").unwrap();
        let id: String = row.try_get("", "id").unwrap();
        out.entry(request_id).or_default().push(id);
    }
    out
}

/// Items of the load with no, or more than one, creation event.
async fn items_without_exactly_one_created_event(db: &DatabaseConnection) -> Vec<(String, i64)> {
    let rows = db
        .query_all_raw(Statement::from_string(
            db.get_database_backend(),
            "SELECT s.id, (SELECT count(*) FROM event_outbox e \
                 WHERE e.subject = s.id AND e.event_type = 'approval.service_item.created') AS n \
             FROM service_items s WHERE s.code LIKE 'chaos-%'",
        ))
        .await
        .unwrap();
    rows.into_iter()
        .map(|row| {
            (
                row.try_get::<String>("", "id").unwrap(),
                row.try_get::<i64>("", "n").unwrap(),
            )
        })
        .filter(|(_, n)| *n != 1)
        .collect()
}

/// `SELECT count(*) FROM <from>`.
async fn count(db: &DatabaseConnection, from: &str) -> i64 {
    let row = db
        .query_one_raw(Statement::from_string(
            db.get_database_backend(),
            format!("SELECT count(*) AS n FROM {from}"),
        ))
        .await
        .unwrap()
        .expect("one row");
    row.try_get("", "n").unwrap()
}

/// (history entries, outbox events) of an SLA moment of application `id`.
async fn timer_effects(db: &DatabaseConnection, id: &str, action: &str, event: &str) -> (i64, i64) {
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

/// Outcome counts per phase of the run, with the slowest call of each.
fn summary(calls: &[Call], crash: Instant, restarted: Instant) -> String {
    let phase = |started: Instant| {
        if started < crash {
            "1 started before crash"
        } else if started < restarted {
            "2 started in outage"
        } else {
            "3 started after restart"
        }
    };
    let mut table: BTreeMap<(&str, CallKind, String), (usize, Duration)> = BTreeMap::new();
    for call in calls {
        let outcome = match &call.answer {
            Answer::Ok { .. } => "OK".to_string(),
            Answer::Failed { code, .. } => format!("{code:?}"),
            Answer::Hung => "HUNG".to_string(),
        };
        let entry = table
            .entry((phase(call.started), call.kind, outcome))
            .or_default();
        entry.0 += 1;
        entry.1 = entry.1.max(call.took);
    }
    let mut out = String::from("chaos_postgres outcomes (phase, call, outcome: count, slowest):\n");
    for ((phase, kind, outcome), (n, slowest)) in table {
        out.push_str(&format!(
            "  {phase:<24} {kind:?} {outcome:<16} {n:>5}  {slowest:?}\n"
        ));
    }
    let messages: BTreeSet<String> = calls
        .iter()
        .filter_map(|c| match &c.answer {
            Answer::Failed { code, message } => Some(format!("{code:?}: {message}")),
            _ => None,
        })
        .collect();
    for message in messages.iter().take(10) {
        out.push_str(&format!("  error seen: {message}\n"));
    }
    out
}

async fn delete_exchange(exchange: &str) {
    let Ok(connection) =
        lapin::Connection::connect(&amqp_url(), lapin::ConnectionProperties::default()).await
    else {
        return;
    };
    if let Ok(channel) = connection.create_channel().await {
        let _ = channel
            .exchange_delete(exchange.into(), Default::default())
            .await;
    }
}
