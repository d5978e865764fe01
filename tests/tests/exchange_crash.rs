//! S1 under faults: a line reads a department's database while rows keep
//! arriving; the exchange center is SIGKILLed and restarted, then its
//! RabbitMQ broker is stopped and started. Afterwards every source change is
//! in effect exactly once at the queue subscriber and in the enclave, and
//! the reconciliation balances.

#![allow(clippy::unwrap_used)] // helpers outside #[test] fns may panic: they are test code

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::time::Duration;

use futures::StreamExt;
use lapin::options::{BasicAckOptions, BasicConsumeOptions, QueueDeclareOptions};
use lapin::types::FieldTable;
use prost::Message;
use sea_orm::{ConnectionTrait, DatabaseConnection, Statement};
use tonic::Request;
use zhongtai_contracts::exchange::v1 as pb;
use zhongtai_contracts::exchange::v1::enclave_service_client::EnclaveServiceClient;
use zhongtai_contracts::exchange::v1::exchange_service_client::ExchangeServiceClient;
use zhongtai_kit::Role;
use zhongtai_mesh::{ChannelConfig, EtcdConfig, EtcdRegistry, MeshChannel, Registry};
use zhongtai_scenarios::{Process, Security};
use zhongtai_testkit::{EtcdServer, RabbitNode, TestDatabase, flushed_wal_position, parse_lsn};

const TENANT: &str = "331100/civil-affairs";
const WAIT: Duration = Duration::from_secs(60);

fn authorized<T>(message: T, token: &str) -> Request<T> {
    let mut request = Request::new(message);
    request
        .metadata_mut()
        .insert("authorization", Security::bearer(token));
    request
}

struct Exchange {
    envs: Vec<(&'static str, String)>,
    process: Process,
}

impl Exchange {
    fn start(envs: Vec<(&'static str, String)>) -> Self {
        let mut process = Process::spawn("exchange", &["serve", "exchange"], &envs);
        process.wait_for_output("serving", Duration::from_secs(60));
        Self { envs, process }
    }

    fn kill_and_restart(&mut self) {
        self.process.kill();
        self.process = Process::spawn("exchange", &["serve", "exchange"], &self.envs);
        self.process
            .wait_for_output("serving", Duration::from_secs(60));
    }
}

fn published_checksum(report: &pb::ReconciliationReport, subscription_id: &str) -> String {
    report
        .tallies
        .iter()
        .find(|t| t.hop() == pb::Hop::Published && t.subscription_id == subscription_id)
        .map(|t| t.checksum.clone())
        .unwrap_or_default()
}

fn lsn(text: &str) -> u64 {
    parse_lsn(text).unwrap()
}

fn int_of(columns: &[pb::ColumnValue], name: &str) -> Option<i64> {
    columns
        .iter()
        .find(|c| c.name == name)
        .and_then(|c| match c.value {
            Some(pb::column_value::Value::IntValue(i)) => Some(i),
            _ => None,
        })
}

/// Keeps changing the source until told to stop: inserts, and now and then
/// an update or a delete of an earlier row, each its own transaction.
fn keep_writing(
    db: DatabaseConnection,
    stop: Arc<AtomicBool>,
    written: Arc<AtomicI64>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut id: i64 = 100_000;
        while !stop.load(Ordering::Relaxed) {
            id += 1;
            let mut sql = format!(
                "INSERT INTO readings (id, region_code, value) VALUES ({id}, '3311{:02}', {id})",
                id % 30
            );
            if id % 5 == 0 {
                sql = format!(
                    "{sql}; UPDATE readings SET value = value + 1 WHERE id = {}",
                    id - 3
                );
            }
            if id % 7 == 0 {
                sql = format!("{sql}; DELETE FROM readings WHERE id = {}", id - 5);
            }
            // A refused statement (the row already deleted) is fine; the
            // source stays the truth the subscribers are compared with.
            let _ = db.execute_unprepared(&sql).await;
            written.fetch_add(1, Ordering::Relaxed);
            tokio::time::sleep(Duration::from_millis(4)).await;
        }
    })
}

/// The source table as (id → value).
async fn source_rows(db: &DatabaseConnection) -> BTreeMap<i64, i64> {
    db.query_all_raw(Statement::from_string(
        db.get_database_backend(),
        "SELECT id, value FROM readings",
    ))
    .await
    .unwrap()
    .into_iter()
    .map(|row| {
        (
            row.try_get("", "id").unwrap(),
            row.try_get("", "value").unwrap(),
        )
    })
    .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_change_is_in_effect_exactly_once_after_a_kill_and_a_broker_restart() {
    zhongtai_testkit::init_tracing();
    let security = Security::new();
    let etcd = EtcdServer::start();
    let platform = TestDatabase::create().await;
    let source = TestDatabase::create_source().await;
    let source_db = sea_orm::Database::connect(source.url()).await.unwrap();
    source_db
        .execute_unprepared(
            "CREATE TABLE readings (id bigint PRIMARY KEY, region_code text NOT NULL, value bigint NOT NULL)",
        )
        .await
        .unwrap();
    let mut broker = RabbitNode::start();
    let mut envs = vec![
        ("DATABASE_URL", platform.url().to_string()),
        ("ETCD_ENDPOINTS", etcd.endpoint()),
        ("AMQP_URL", broker.url()),
        (
            "ZHONGTAI_EXCHANGE__SOURCES__DEPARTMENT",
            source.url().to_string(),
        ),
        ("ZHONGTAI_SERVER__LISTEN", "127.0.0.1:0".to_string()),
        ("ZHONGTAI_SERVER__METRICS_LISTEN", "127.0.0.1:0".to_string()),
        ("ZHONGTAI_MESH__LEASE_TTL_SECS", "2".to_string()),
        ("ZHONGTAI_EXCHANGE__REFRESH_INTERVAL_MS", "100".to_string()),
        ("ZHONGTAI_EXCHANGE__RETRY_INTERVAL_MS", "200".to_string()),
        ("ZHONGTAI_EXCHANGE__LEASE_TTL_MS", "2000".to_string()),
        // Changes held up by the faults are reported late, by design; the
        // window settles this long after its end.
        ("ZHONGTAI_EXCHANGE__LATE_THRESHOLD_MS", "10000".to_string()),
    ];
    envs.extend(security.serve_env("exchange"));
    let mut exchange = Exchange::start(envs);

    let registry = EtcdRegistry::new(EtcdConfig {
        endpoints: vec![etcd.endpoint()],
        ..EtcdConfig::default()
    })
    .unwrap();
    let channel = MeshChannel::new(
        registry.discover("exchange"),
        ChannelConfig {
            tls: Some(security.client_tls()),
            ..ChannelConfig::default()
        },
    );
    let mut lines = ExchangeServiceClient::new(channel.clone());
    let mut enclaves = EnclaveServiceClient::new(channel);
    let token = security.token(TENANT, &[Role::Admin, Role::Operator, Role::Viewer]);

    let enclave = enclaves
        .create_enclave(authorized(
            pb::CreateEnclaveRequest {
                request_id: uuid::Uuid::new_v4().to_string(),
                name: "民政数据飞地".into(),
            },
            &token,
        ))
        .await
        .unwrap()
        .into_inner()
        .enclave
        .unwrap();
    let line = lines
        .create_line(authorized(
            pb::CreateLineRequest {
                request_id: uuid::Uuid::new_v4().to_string(),
                line: Some(pb::Line {
                    name: "readings-cdc".into(),
                    source: Some(pb::line::Source::LogSource(pb::LogSource {
                        connection_ref: "department".into(),
                        tables: vec![pb::SourceTable {
                            schema: "public".into(),
                            name: "readings".into(),
                            key_columns: vec![],
                        }],
                        snapshot_mode: pb::SnapshotMode::Initial as i32,
                        ..Default::default()
                    })),
                    ..Default::default()
                }),
            },
            &token,
        ))
        .await
        .unwrap()
        .into_inner()
        .line
        .unwrap();
    let subscription = lines
        .create_subscription(authorized(
            pb::CreateSubscriptionRequest {
                request_id: uuid::Uuid::new_v4().to_string(),
                line_id: line.id.clone(),
                grant_id: String::new(),
                queue: Some(pb::QueueDelivery::default()),
                enclave: Some(pb::EnclaveDelivery {
                    enclave_id: enclave.id.clone(),
                    table: "readings".into(),
                }),
            },
            &token,
        ))
        .await
        .unwrap()
        .into_inner()
        .subscription
        .unwrap();
    let queue = subscription.queue.clone().unwrap().queue;
    // The first rows come once the subscription exists (a subscription gets
    // what is captured from its creation on), in one large transaction the
    // line splits into batches.
    source_db
        .execute_unprepared(
            "INSERT INTO readings SELECT i, '3311' || lpad((i % 30)::text, 2, '0'), i FROM generate_series(1, 20000) i",
        )
        .await
        .unwrap();

    // The initial copy completes first: the faults hit the stream.
    let started = std::time::Instant::now();
    loop {
        let status = lines
            .get_line_status(authorized(
                pb::GetLineStatusRequest {
                    id: line.id.clone(),
                },
                &token,
            ))
            .await
            .unwrap()
            .into_inner();
        if status.line.as_ref().unwrap().state() == pb::LineState::Streaming {
            break;
        }
        assert!(started.elapsed() < WAIT, "never streaming: {status:#?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // Rows keep arriving through both faults.
    let stop = Arc::new(AtomicBool::new(false));
    let written = Arc::new(AtomicI64::new(0));
    let writer = keep_writing(source_db.clone(), stop.clone(), written.clone());
    tokio::time::sleep(Duration::from_secs(4)).await;
    exchange.kill_and_restart();
    tokio::time::sleep(Duration::from_secs(3)).await;
    broker.stop();
    tokio::time::sleep(Duration::from_secs(2)).await;
    broker.restart();
    tokio::time::sleep(Duration::from_secs(3)).await;
    stop.store(true, Ordering::Relaxed);
    writer.await.unwrap();
    assert!(
        written.load(Ordering::Relaxed) > 200,
        "the writer kept writing"
    );
    let end = flushed_wal_position(&source_db).await;

    // Everything up to the end is confirmed downstream.
    let started = std::time::Instant::now();
    loop {
        let status = lines
            .get_line_status(authorized(
                pb::GetLineStatusRequest {
                    id: line.id.clone(),
                },
                &token,
            ))
            .await;
        if let Ok(status) = status {
            let status = status.into_inner();
            if !status.confirmed_position.is_empty() && lsn(&status.confirmed_position) >= end {
                break;
            }
            assert!(
                started.elapsed() < WAIT,
                "line never caught up to {end:X}: {status:#?}\n{}",
                exchange.process.output()
            );
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let truth = source_rows(&source_db).await;

    // The enclave holds exactly the source rows.
    let mut in_enclave = BTreeMap::new();
    let mut page_token = String::new();
    loop {
        let page = enclaves
            .query_enclave_rows(authorized(
                pb::QueryEnclaveRowsRequest {
                    page: Some(zhongtai_contracts::common::v1::PageRequest {
                        page_size: 1000,
                        page_token: page_token.clone(),
                    }),
                    enclave_id: enclave.id.clone(),
                    table: "readings".into(),
                    ..Default::default()
                },
                &token,
            ))
            .await
            .unwrap()
            .into_inner();
        for row in page.rows {
            in_enclave.insert(
                int_of(&row.columns, "id").unwrap(),
                int_of(&row.columns, "value").unwrap(),
            );
        }
        page_token = page.page.map(|p| p.next_page_token).unwrap_or_default();
        if page_token.is_empty() {
            break;
        }
    }
    assert_eq!(in_enclave.len(), truth.len(), "enclave row count");
    assert!(in_enclave == truth, "enclave rows differ from the source");

    // The queue subscriber, deduplicating on change ids and applying in
    // position order per key, ends with the same rows.
    let connection =
        lapin::Connection::connect(&broker.url(), lapin::ConnectionProperties::default())
            .await
            .unwrap();
    let amqp = connection.create_channel().await.unwrap();
    amqp.queue_declare(
        queue.as_str().into(),
        QueueDeclareOptions {
            durable: true,
            ..QueueDeclareOptions::default()
        },
        FieldTable::default(),
    )
    .await
    .unwrap();
    let mut consumer = amqp
        .basic_consume(
            queue.as_str().into(),
            "crash-check".into(),
            BasicConsumeOptions::default(),
            FieldTable::default(),
        )
        .await
        .unwrap();
    let mut seen = HashSet::new();
    let mut duplicates = 0;
    let mut applied: HashMap<i64, ((u64, u32), Option<i64>)> = HashMap::new();
    while let Ok(Some(Ok(delivery))) =
        tokio::time::timeout(Duration::from_secs(3), consumer.next()).await
    {
        let record = pb::ChangeRecord::decode(delivery.data.as_slice()).unwrap();
        delivery.ack(BasicAckOptions::default()).await.unwrap();
        if !seen.insert(record.change_id.clone()) {
            duplicates += 1;
            continue;
        }
        let id = int_of(&record.key, "id").unwrap();
        let order = (record.position, record.index);
        let value = match record.operation() {
            pb::ChangeOperation::Delete => None,
            _ => int_of(&record.after, "value"),
        };
        let entry = applied.entry(id).or_insert((order, value));
        if order >= entry.0 {
            *entry = (order, value);
        }
    }
    let from_queue: BTreeMap<i64, i64> = applied
        .into_iter()
        .filter_map(|(id, (_, value))| value.map(|v| (id, v)))
        .collect();
    assert_eq!(
        from_queue.len(),
        truth.len(),
        "queue subscriber row count ({duplicates} redelivered)"
    );
    assert!(
        from_queue == truth,
        "queue subscriber rows differ from the source"
    );

    // And the accounting agrees: nothing missing, nothing duplicated. The
    // window settles once the late threshold has passed since its end.
    let window_end = chrono::Utc::now();
    let report = loop {
        let report = lines
            .get_reconciliation_report(authorized(
                pb::GetReconciliationReportRequest {
                    line_id: line.id.clone(),
                    window_start_time: Some(zhongtai_kit::proto::timestamp(
                        window_end - chrono::Duration::minutes(10),
                    )),
                    window_end_time: Some(zhongtai_kit::proto::timestamp(window_end)),
                    subscription_ids: vec![],
                },
                &token,
            ))
            .await
            .unwrap()
            .into_inner()
            .report
            .unwrap();
        if report.verdict() != pb::ReconciliationVerdict::InProgress
            || chrono::Utc::now() - window_end > chrono::Duration::seconds(60)
        {
            break report;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    };
    assert_ne!(
        report.verdict(),
        pb::ReconciliationVerdict::InProgress,
        "{report:#?}"
    );
    // Changes held up by the kill and the broker outage are LATE; nothing
    // may be missing, duplicated or different.
    let wrong: Vec<_> = report
        .discrepancies
        .iter()
        .filter(|d| d.kind() != pb::DiscrepancyKind::Late)
        .collect();
    assert!(wrong.is_empty(), "{wrong:#?}");
    for tally in report
        .tallies
        .iter()
        .filter(|t| !t.subscription_id.is_empty())
    {
        assert_eq!(
            tally.checksum,
            published_checksum(&report, &subscription.id),
            "{tally:#?}"
        );
    }
    let captured = report
        .tallies
        .iter()
        .find(|t| t.hop() == pb::Hop::Captured)
        .unwrap();
    let published = report
        .tallies
        .iter()
        .find(|t| t.hop() == pb::Hop::Published && t.subscription_id == subscription.id)
        .unwrap();
    assert_eq!(
        captured.count,
        published.count + published.filtered_count,
        "{report:#?}"
    );
    assert_eq!(
        usize::try_from(published.count).unwrap(),
        seen.len(),
        "every published change reached the queue"
    );
    drop(exchange);
}
