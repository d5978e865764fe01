//! The call audit on SQLite and PostgreSQL: nothing accepted is lost when
//! the writers go away or the database briefly fails, a full queue drops
//! and counts instead of waiting, and the admin plane lists records and
//! usage buckets within the caller's view.

// Helpers run only inside tests, where a panic is a failure with a location.
#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DatabaseConnection, EntityTrait, PaginatorTrait};
use tonic::{Code, Request};
use uuid::Uuid;
use zhongtai_contracts::common::v1::{PageRequest, Period};
use zhongtai_contracts::gateway::v1 as pb;
use zhongtai_gateway::audit::entity::Entity as CallAudit;
use zhongtai_gateway::audit::{
    AuditApi, AuditStore, AuditWriter, CallOutcome, CallProtocol, CallRecord,
};
use zhongtai_gateway::migration::Migrator;
use zhongtai_kit::{Caller, Role, TenantId};
use zhongtai_store::StoreConfig;
use zhongtai_testkit::{TestDatabase, eventually};

const PLATFORM: &str = "330000/big-data-bureau";
const SPONSOR: &str = "331100/big-data";
const OTHER: &str = "331100/civil-affairs";

async fn migrated(url: &str) -> DatabaseConnection {
    let db = zhongtai_store::connect(&StoreConfig {
        url: url.into(),
        ..StoreConfig::default()
    })
    .await
    .unwrap();
    zhongtai_store::migrate::<Migrator>(&db).await.unwrap();
    db
}

async fn sqlite() -> DatabaseConnection {
    migrated("sqlite::memory:").await
}

async fn postgres() -> (TestDatabase, DatabaseConnection) {
    let database = TestDatabase::create().await;
    let db = migrated(database.url()).await;
    (database, db)
}

#[allow(clippy::disallowed_methods)]
async fn stored(db: &DatabaseConnection) -> u64 {
    CallAudit::find().count(db).await.unwrap()
}

fn tenant(key: &str) -> TenantId {
    TenantId::from_key(key).unwrap()
}

fn call(app: Uuid, at: DateTime<Utc>) -> CallRecord {
    let mut call = CallRecord::arrived(at, CallProtocol::HttpJson, CallOutcome::Forwarded);
    call.app_id = Some(app);
    call.sponsor = Some(tenant(SPONSOR));
    call.app_key = "ztk_0123456789abcdef0123456789abcdef".into();
    call.capability = "certificate.verify".into();
    call.capability_version = "v1".into();
    call.http_method = "POST".into();
    call.path = "/v1/certificates:verify".into();
    call.http_status = 200;
    call.latency = Duration::from_millis(12);
    call.request_bytes = 120;
    call.response_bytes = 480;
    call.trace_id = "4bf92f3577b34da6a3ce929d0e0e4736".into();
    call.client_ip = "203.0.113.7".into();
    call
}

// --- the writer -----------------------------------------------------------

async fn every_record_of_four_tasks_is_stored_when_the_writers_drop(db: DatabaseConnection) {
    let (writer, task) = AuditWriter::start(db.clone(), 500, Duration::from_millis(50), 20_000);
    let running = tokio::spawn(task.run());
    let app = Uuid::now_v7();
    let producers: Vec<_> = (0..4)
        .map(|_| {
            let writer = writer.clone();
            tokio::spawn(async move {
                for _ in 0..2500 {
                    writer.record(call(app, Utc::now()));
                }
            })
        })
        .collect();
    for producer in producers {
        producer.await.unwrap();
    }
    drop(writer);
    tokio::time::timeout(Duration::from_secs(60), running)
        .await
        .expect("the task ends once every writer is gone")
        .unwrap();
    assert_eq!(stored(&db).await, 10_000);
}

#[tokio::test]
async fn ten_thousand_records_survive_the_writers_dropping_on_sqlite() {
    every_record_of_four_tasks_is_stored_when_the_writers_drop(sqlite().await).await;
}

#[tokio::test]
async fn ten_thousand_records_survive_the_writers_dropping_on_postgres() {
    let (_database, db) = postgres().await;
    every_record_of_four_tasks_is_stored_when_the_writers_drop(db).await;
}

#[tokio::test]
async fn a_full_queue_drops_and_counts_without_waiting() {
    let db = sqlite().await;
    let (writer, task) = AuditWriter::start(db.clone(), 100, Duration::from_millis(10), 10);
    let app = Uuid::now_v7();
    let started = Instant::now();
    // The task is not running yet, so nothing leaves the queue.
    for _ in 0..1000 {
        writer.record(call(app, Utc::now()));
    }
    assert!(
        started.elapsed() < Duration::from_millis(500),
        "recording waited: {:?}",
        started.elapsed()
    );
    assert_eq!(writer.dropped(), 990);
    assert_eq!(writer.pending(), 10);
    let running = tokio::spawn(task.run());
    let observer = writer.clone();
    writer.close();
    writer.record(call(app, Utc::now()));
    tokio::time::timeout(Duration::from_secs(10), running)
        .await
        .expect("close ends the task although a clone is still held")
        .unwrap();
    assert_eq!(stored(&db).await, 10);
    let stats = observer.stats();
    assert_eq!((stats.written, stats.dropped, stats.pending), (10, 991, 0));
}

async fn records_wait_out_a_missing_table(db: DatabaseConnection) {
    let (writer, task) = AuditWriter::start(db.clone(), 20, Duration::from_millis(10), 1000);
    let running = tokio::spawn(task.run());
    let app = Uuid::now_v7();
    db.execute_unprepared("ALTER TABLE call_audit RENAME TO call_audit_away")
        .await
        .unwrap();
    for _ in 0..50 {
        writer.record(call(app, Utc::now()));
    }
    let observer = writer.clone();
    eventually(Duration::from_secs(10), "a failed batch write", || {
        let failed = observer.stats().failed_writes;
        async move { (failed >= 2).then_some(()) }
    })
    .await;
    assert_eq!(writer.written(), 0);
    assert_eq!(writer.pending(), 50, "failed records stay queued");
    db.execute_unprepared("ALTER TABLE call_audit_away RENAME TO call_audit")
        .await
        .unwrap();
    eventually(
        Duration::from_secs(20),
        "the records after recovery",
        || {
            let written = observer.written();
            async move { (written == 50).then_some(()) }
        },
    )
    .await;
    drop(writer);
    drop(observer);
    running.await.unwrap();
    assert_eq!(stored(&db).await, 50);
}

#[tokio::test]
async fn records_are_written_once_the_table_is_back_on_sqlite() {
    records_wait_out_a_missing_table(sqlite().await).await;
}

#[tokio::test]
async fn records_are_written_once_the_table_is_back_on_postgres() {
    let (_database, db) = postgres().await;
    records_wait_out_a_missing_table(db).await;
}

// --- ListAuditRecords -----------------------------------------------------

fn acting<T>(message: T, tenant_key: &str) -> Request<T> {
    let caller = Caller::new("admin", tenant(tenant_key), &[Role::Admin]);
    zhongtai_kit::auth::acting_as(Request::new(message), caller)
}

fn base_time() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-12-01T02:00:00Z")
        .unwrap()
        .with_timezone(&Utc)
}

fn ts(at: DateTime<Utc>) -> prost_types::Timestamp {
    zhongtai_kit::proto::timestamp(at)
}

struct Seeded {
    app: Uuid,
    other_app: Uuid,
}

/// Five calls of the sponsor's app a minute apart (the fourth shed, the
/// fifth of another trace), one of another tenant's app, one no app was
/// identified for.
async fn seed_records(db: &DatabaseConnection) -> Seeded {
    let app = Uuid::now_v7();
    let other_app = Uuid::now_v7();
    let mut records = Vec::new();
    for minute in 0..5 {
        let mut record = call(app, base_time() + chrono::Duration::minutes(minute));
        if minute == 3 {
            record.outcome = CallOutcome::Shed;
            record.http_status = 503;
            record.error_reason = "OVERLOADED".into();
        }
        if minute == 4 {
            record.trace_id = "0af7651916cd43dd8448eb211c80319c".into();
        }
        records.push(record);
    }
    let mut foreign = call(other_app, base_time());
    foreign.sponsor = Some(tenant(OTHER));
    foreign.capability = "certificate.get".into();
    records.push(foreign);
    let mut anonymous = call(app, base_time());
    anonymous.app_id = None;
    anonymous.sponsor = None;
    anonymous.outcome = CallOutcome::RejectedAuth;
    anonymous.error_reason = "APP_KEY_UNKNOWN".into();
    records.push(anonymous);
    AuditStore::new(db.clone())
        .insert_batch(&records)
        .await
        .unwrap();
    Seeded { app, other_app }
}

async fn list(
    api: &AuditApi,
    tenant_key: &str,
    request: pb::ListAuditRecordsRequest,
) -> Result<pb::ListAuditRecordsResponse, tonic::Status> {
    Ok(api
        .list_audit_records(acting(request, tenant_key))
        .await?
        .into_inner())
}

fn minutes(response: &pb::ListAuditRecordsResponse) -> Vec<i64> {
    response
        .records
        .iter()
        .map(|r| (r.time.unwrap().seconds - base_time().timestamp()) / 60)
        .collect()
}

async fn audit_records_are_filtered_paged_and_scoped(db: DatabaseConnection) {
    let seeded = seed_records(&db).await;
    let api = AuditApi::new(db, tenant(PLATFORM));
    let everything = list(&api, PLATFORM, Default::default()).await.unwrap();
    assert_eq!(everything.records.len(), 7, "the platform sees every call");

    let sponsor = list(&api, SPONSOR, Default::default()).await.unwrap();
    assert_eq!(minutes(&sponsor), [4, 3, 2, 1, 0], "newest first");
    let first = &sponsor.records[4];
    assert_eq!(first.app_id, seeded.app.to_string());
    assert_eq!(first.outcome(), pb::CallOutcome::Forwarded);
    assert_eq!(first.protocol(), pb::CallProtocol::HttpJson);
    assert_eq!(first.path, "/v1/certificates:verify");
    assert_eq!(first.latency.unwrap().nanos, 12_000_000);
    assert_eq!(first.response_bytes, 480);

    let other = list(
        &api,
        OTHER,
        pb::ListAuditRecordsRequest {
            app_id: seeded.app.to_string(),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert!(
        other.records.is_empty(),
        "another tenant sees nothing of it"
    );
    let own = list(&api, OTHER, Default::default()).await.unwrap();
    assert_eq!(own.records.len(), 1);
    assert_eq!(own.records[0].app_id, seeded.other_app.to_string());
    let unrelated = list(&api, "330100", Default::default()).await.unwrap();
    assert!(unrelated.records.is_empty());

    let shed = list(
        &api,
        SPONSOR,
        pb::ListAuditRecordsRequest {
            outcomes: vec![pb::CallOutcome::Shed as i32],
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(minutes(&shed), [3]);
    assert_eq!(shed.records[0].error_reason, "OVERLOADED");

    let period = list(
        &api,
        SPONSOR,
        pb::ListAuditRecordsRequest {
            period: Some(Period {
                start_time: Some(ts(base_time() + chrono::Duration::minutes(1))),
                end_time: Some(ts(base_time() + chrono::Duration::minutes(3))),
            }),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(minutes(&period), [2, 1], "start inclusive, end exclusive");

    let traced = list(
        &api,
        SPONSOR,
        pb::ListAuditRecordsRequest {
            trace_id: "0af7651916cd43dd8448eb211c80319c".into(),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(minutes(&traced), [4]);

    let by_capability = list(
        &api,
        PLATFORM,
        pb::ListAuditRecordsRequest {
            capability: "certificate.get".into(),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(by_capability.records.len(), 1);

    let page = |token: &str| pb::ListAuditRecordsRequest {
        page: Some(PageRequest {
            page_size: 2,
            page_token: token.into(),
        }),
        ..Default::default()
    };
    let mut seen = Vec::new();
    let mut token = String::new();
    loop {
        let response = list(&api, SPONSOR, page(&token)).await.unwrap();
        seen.extend(minutes(&response));
        token = response.page.unwrap().next_page_token;
        if token.is_empty() {
            break;
        }
    }
    assert_eq!(seen, [4, 3, 2, 1, 0]);

    for (field, bad) in [
        (
            "app_id",
            pb::ListAuditRecordsRequest {
                app_id: "app-1".into(),
                ..Default::default()
            },
        ),
        (
            "outcomes[1]",
            pb::ListAuditRecordsRequest {
                outcomes: vec![pb::CallOutcome::Shed as i32, 42],
                ..Default::default()
            },
        ),
        (
            "period.end_time",
            pb::ListAuditRecordsRequest {
                period: Some(Period {
                    start_time: Some(ts(base_time())),
                    end_time: Some(ts(base_time())),
                }),
                ..Default::default()
            },
        ),
        (
            "trace_id",
            pb::ListAuditRecordsRequest {
                trace_id: "not-a-trace".into(),
                ..Default::default()
            },
        ),
        (
            "capability",
            pb::ListAuditRecordsRequest {
                capability: "Certificate.Verify".into(),
                ..Default::default()
            },
        ),
        ("page.page_token", page("page-2")),
    ] {
        let status = list(&api, SPONSOR, bad).await.unwrap_err();
        assert_eq!(status.code(), Code::InvalidArgument, "{field}");
        assert!(
            format!("{status:?}").contains(field),
            "{field} not named: {status:?}"
        );
    }
}

#[tokio::test]
async fn audit_records_on_sqlite() {
    audit_records_are_filtered_paged_and_scoped(sqlite().await).await;
}

#[tokio::test]
async fn audit_records_on_postgres() {
    let (_database, db) = postgres().await;
    audit_records_are_filtered_paged_and_scoped(db).await;
}

// --- ListUsageBuckets -----------------------------------------------------

fn usage_request(
    app: Uuid,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    granularity: pb::UsageGranularity,
) -> pb::ListUsageBucketsRequest {
    pb::ListUsageBucketsRequest {
        app_id: app.to_string(),
        period: Some(Period {
            start_time: Some(ts(start)),
            end_time: Some(ts(end)),
        }),
        granularity: granularity as i32,
        ..Default::default()
    }
}

async fn usage_buckets_add_up(db: DatabaseConnection) {
    let app = Uuid::now_v7();
    // 100 calls at 10:xx UTC+8 (02:xx UTC) taking 1..=100 ms, two of them
    // answered 500; three shed; one backend failure in the next hour.
    let mut records = Vec::new();
    for ms in 1..=100u64 {
        let mut record = call(app, base_time() + chrono::Duration::seconds(ms as i64));
        record.latency = Duration::from_millis(ms);
        if ms > 98 {
            record.http_status = 500;
        }
        records.push(record);
    }
    for _ in 0..3 {
        let mut shed = call(app, base_time() + chrono::Duration::minutes(30));
        shed.outcome = CallOutcome::Shed;
        shed.http_status = 503;
        shed.latency = Duration::ZERO;
        records.push(shed);
    }
    let mut failed = call(app, base_time() + chrono::Duration::minutes(70));
    failed.outcome = CallOutcome::BackendFailed;
    failed.http_status = 504;
    failed.latency = Duration::from_secs(2);
    records.push(failed);
    AuditStore::new(db.clone())
        .insert_batch(&records)
        .await
        .unwrap();
    let api = AuditApi::new(db, tenant(PLATFORM));
    let buckets = |request, tenant_key: &'static str| {
        let api = &api;
        async move {
            api.list_usage_buckets(acting(request, tenant_key))
                .await
                .map(|r| r.into_inner())
        }
    };

    let day_start = base_time() - chrono::Duration::hours(10); // 2026-12-01 00:00 UTC+8
    let hourly = buckets(
        usage_request(
            app,
            day_start,
            day_start + chrono::Duration::days(1),
            pb::UsageGranularity::Hour,
        ),
        SPONSOR,
    )
    .await
    .unwrap();
    assert_eq!(hourly.buckets.len(), 2);
    let ten = &hourly.buckets[0];
    assert_eq!(ten.start_time.unwrap().seconds, base_time().timestamp());
    assert_eq!(ten.capability, "certificate.verify");
    assert_eq!((ten.calls, ten.errors, ten.rejected), (103, 2, 3));
    assert_eq!(ten.request_bytes, 103 * 120);
    // Sorted: 0, 0, 0, 1, 2, …, 100 ms: rank 52 is 49 ms, rank 102 is 99 ms.
    assert_eq!(ten.p50_latency.unwrap().nanos, 49_000_000);
    assert_eq!(ten.p99_latency.unwrap().nanos, 99_000_000);
    let eleven = &hourly.buckets[1];
    assert_eq!((eleven.calls, eleven.errors, eleven.rejected), (1, 1, 0));
    assert_eq!(eleven.p99_latency.unwrap().seconds, 2);

    let daily = buckets(
        usage_request(
            app,
            day_start,
            day_start + chrono::Duration::days(2),
            pb::UsageGranularity::Day,
        ),
        SPONSOR,
    )
    .await
    .unwrap();
    assert_eq!(daily.buckets.len(), 1);
    assert_eq!(
        daily.buckets[0].start_time.unwrap().seconds,
        day_start.timestamp(),
        "days start at midnight UTC+8"
    );
    assert_eq!(daily.buckets[0].calls, 104);

    let paged = buckets(
        pb::ListUsageBucketsRequest {
            page: Some(PageRequest {
                page_size: 1,
                page_token: String::new(),
            }),
            ..usage_request(
                app,
                day_start,
                day_start + chrono::Duration::days(1),
                pb::UsageGranularity::Hour,
            )
        },
        SPONSOR,
    )
    .await
    .unwrap();
    assert_eq!(paged.buckets.len(), 1);
    let token = paged.page.unwrap().next_page_token;
    let rest = buckets(
        pb::ListUsageBucketsRequest {
            page: Some(PageRequest {
                page_size: 1,
                page_token: token,
            }),
            ..usage_request(
                app,
                day_start,
                day_start + chrono::Duration::days(1),
                pb::UsageGranularity::Hour,
            )
        },
        SPONSOR,
    )
    .await
    .unwrap();
    assert_eq!(rest.buckets[0].calls, 1);
    assert!(rest.page.unwrap().next_page_token.is_empty());

    let foreign = buckets(
        usage_request(
            app,
            day_start,
            day_start + chrono::Duration::days(1),
            pb::UsageGranularity::Hour,
        ),
        OTHER,
    )
    .await
    .unwrap();
    assert!(foreign.buckets.is_empty(), "another tenant sees no usage");

    let day = chrono::Duration::days(1);
    for (field, bad) in [
        (
            "period",
            pb::ListUsageBucketsRequest {
                period: None,
                ..usage_request(app, day_start, day_start + day, pb::UsageGranularity::Hour)
            },
        ),
        (
            "period",
            pb::ListUsageBucketsRequest {
                period: Some(Period {
                    start_time: Some(ts(day_start)),
                    end_time: None,
                }),
                ..usage_request(app, day_start, day_start + day, pb::UsageGranularity::Hour)
            },
        ),
        (
            "period.end_time",
            usage_request(app, day_start + day, day_start, pb::UsageGranularity::Hour),
        ),
        (
            "period",
            usage_request(
                app,
                day_start,
                day_start + day,
                pb::UsageGranularity::Minute,
            ),
        ),
        (
            "granularity",
            usage_request(
                app,
                day_start,
                day_start + day,
                pb::UsageGranularity::Unspecified,
            ),
        ),
        (
            "app_id",
            pb::ListUsageBucketsRequest {
                app_id: String::new(),
                ..usage_request(app, day_start, day_start + day, pb::UsageGranularity::Hour)
            },
        ),
    ] {
        let status = buckets(bad, SPONSOR).await.unwrap_err();
        assert_eq!(status.code(), Code::InvalidArgument, "{field}");
        assert!(
            format!("{status:?}").contains(field),
            "{field} not named: {status:?}"
        );
    }
}

#[tokio::test]
async fn usage_buckets_on_sqlite() {
    usage_buckets_add_up(sqlite().await).await;
}

#[tokio::test]
async fn usage_buckets_on_postgres() {
    let (_database, db) = postgres().await;
    usage_buckets_add_up(db).await;
}
