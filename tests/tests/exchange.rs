//! S1 and S4 across real services: a department's own PostgreSQL read
//! through logical replication, delivered under a catalog grant — only the
//! granted fields, masked as granted, in commit order — accounted for at
//! every hop; and province data flowing into a city's enclave and on to a
//! county's, with every cross-tenant read refused.

#![allow(clippy::unwrap_used)] // helpers outside #[test] fns may panic: they are test code

mod support;

use std::collections::HashSet;
use std::time::Duration;

use sea_orm::{ConnectionTrait, DatabaseConnection};
use tonic::Code;
use zhongtai_contracts::catalog::v1 as catalog;
use zhongtai_contracts::exchange::v1 as pb;
use zhongtai_contracts::exchange::v1::exchange_service_client::ExchangeServiceClient;
use zhongtai_kit::Role;
use zhongtai_mesh::MeshChannel;
use zhongtai_testkit::{TestDatabase, amqp_url, eventually};

use support::data_sharing::{
    CIVIL_AFFAIRS, HOUSING_FUND, catalog_client, grant_access, register_marriage_data,
    register_resource, request_id, set_up_data_access_review,
};
use support::exchange::{QueueReader, enclave_client, exchange_client, line_status_when, text_of};
use support::{Mesh, Services, count, exchange_config, with_token};

const WAIT: Duration = Duration::from_secs(30);

async fn source_database() -> (TestDatabase, DatabaseConnection) {
    let source = TestDatabase::create_source().await;
    let db = sea_orm::Database::connect(source.url()).await.unwrap();
    db.execute_unprepared(
        "CREATE TABLE marriage_registration (
             registration_id text PRIMARY KEY,
             husband_name text NOT NULL,
             husband_id_number text NOT NULL,
             registration_date date NOT NULL,
             region_code text NOT NULL)",
    )
    .await
    .unwrap();
    (source, db)
}

fn lsn(text: &str) -> u64 {
    zhongtai_testkit::parse_lsn(text).unwrap()
}

fn marriage_line(resource_id: &str) -> pb::Line {
    pb::Line {
        name: "marriage-registration-cdc".into(),
        description: "婚姻登记 changes from civil affairs' own database".into(),
        source: Some(pb::line::Source::LogSource(pb::LogSource {
            connection_ref: "civil-affairs".into(),
            tables: vec![pb::SourceTable {
                schema: "public".into(),
                name: "marriage_registration".into(),
                key_columns: vec![],
            }],
            snapshot_mode: pb::SnapshotMode::Initial as i32,
            ..Default::default()
        })),
        resource_id: resource_id.into(),
        ..Default::default()
    }
}

/// The line's reconciliation of `start..end`, once BALANCED (panics with
/// the last report otherwise). A window is in progress until the late
/// threshold has passed since its end.
async fn reconciled(
    exchange: &ExchangeServiceClient<MeshChannel>,
    token: &str,
    line_id: &str,
    start: chrono::DateTime<chrono::Utc>,
    end: chrono::DateTime<chrono::Utc>,
) -> pb::ReconciliationReport {
    let started = std::time::Instant::now();
    loop {
        let report = exchange
            .clone()
            .get_reconciliation_report(with_token(
                pb::GetReconciliationReportRequest {
                    line_id: line_id.into(),
                    window_start_time: Some(zhongtai_kit::proto::timestamp(start)),
                    window_end_time: Some(zhongtai_kit::proto::timestamp(end)),
                    subscription_ids: vec![],
                },
                token,
            ))
            .await
            .unwrap()
            .into_inner()
            .report
            .unwrap();
        if report.verdict() == pb::ReconciliationVerdict::Balanced {
            return report;
        }
        assert!(started.elapsed() < WAIT, "never balanced: {report:#?}");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

fn operation(record: &pb::ChangeRecord) -> pb::ChangeOperation {
    record.operation()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s1_marriages_reach_the_housing_fund_granted_masked_and_in_order() {
    let window_start = chrono::Utc::now() - chrono::Duration::seconds(1);
    let (source, source_db) = source_database().await;
    source_db
        .execute_unprepared(
            "INSERT INTO marriage_registration VALUES
               ('M-0001', '张三', '330102199001011234', '2026-01-05', '331102')",
        )
        .await
        .unwrap();
    let mut config = exchange_config();
    config
        .sources
        .insert("civil_affairs".into(), source.url().to_string().into());
    let mesh = Mesh::start_with(Services::All, config).await;
    set_up_data_access_review(&mesh).await;
    let resource = register_marriage_data(&mesh).await;

    // The housing-fund centre holds a grant for names, ID numbers (last 4
    // kept) and dates.
    let housing = mesh
        .security
        .token(HOUSING_FUND, &[Role::Operator, Role::Viewer]);
    let grant_id = grant_access(
        &mesh,
        &housing,
        CIVIL_AFFAIRS,
        &resource.id,
        &["husband_name", "husband_id_number", "registration_date"],
        None,
    )
    .await;

    // Civil affairs opens a line on its own database's log.
    let civil = mesh.security.token(
        CIVIL_AFFAIRS,
        &[Role::Operator, Role::Viewer, Role::Auditor],
    );
    let mut exchange = exchange_client(&mesh);
    let line = exchange
        .create_line(with_token(
            pb::CreateLineRequest {
                request_id: request_id(),
                line: Some(marriage_line(&resource.id)),
            },
            &civil,
        ))
        .await
        .unwrap()
        .into_inner()
        .line
        .unwrap();
    let status = line_status_when(&exchange, &civil, &line.id, "streaming", WAIT, |s| {
        s.line.as_ref().unwrap().state() == pb::LineState::Streaming
    })
    .await;
    let snapshot = status.line.unwrap().snapshot.unwrap();
    assert_eq!(snapshot.state(), pb::SnapshotState::Completed);
    assert_eq!(snapshot.rows_done, 1, "{snapshot:#?}");

    // The grant was provisioned as a durable queue of the housing fund's.
    let subscription = eventually(WAIT, "grant provisioned", || {
        let mut exchange = exchange.clone();
        let request = with_token(
            pb::ListSubscriptionsRequest {
                grant_id: grant_id.clone(),
                ..Default::default()
            },
            &housing,
        );
        async move {
            let found = exchange.list_subscriptions(request).await.ok()?;
            found
                .into_inner()
                .subscriptions
                .into_iter()
                .find(|s| s.state() == pb::SubscriptionState::Active)
        }
    })
    .await;
    assert_eq!(subscription.line_id, line.id);
    let queue = subscription.queue.clone().unwrap().queue;
    let mut reader = QueueReader::open(&amqp_url(), &queue).await;

    // A new marriage, then a correction, then a deletion.
    for statement in [
        "INSERT INTO marriage_registration VALUES
           ('M-0002', '李四', '330102199202022345', '2026-12-01', '331102')",
        "UPDATE marriage_registration SET husband_name = '李四郎' WHERE registration_id = 'M-0002'",
        "DELETE FROM marriage_registration WHERE registration_id = 'M-0002'",
    ] {
        source_db.execute_unprepared(statement).await.unwrap();
    }
    let mut received = Vec::new();
    while received.len() < 3 {
        let record = reader
            .next(WAIT)
            .await
            .unwrap_or_else(|| panic!("only {} changes arrived: {received:#?}", received.len()));
        if record.operation() != pb::ChangeOperation::Snapshot {
            received.push(record);
        }
    }
    let window_end = chrono::Utc::now();
    let operations: Vec<_> = received.iter().map(operation).collect();
    assert_eq!(
        operations,
        [
            pb::ChangeOperation::Insert,
            pb::ChangeOperation::Update,
            pb::ChangeOperation::Delete
        ]
    );
    assert!(
        received.windows(2).all(|w| w[0].position < w[1].position),
        "commit order"
    );
    let insert = &received[0];
    let mut fields: Vec<_> = insert.after.iter().map(|c| c.name.as_str()).collect();
    fields.sort_unstable();
    assert_eq!(
        fields,
        ["husband_id_number", "husband_name", "registration_date"],
        "only the granted fields"
    );
    assert_eq!(
        text_of(&insert.after, "husband_id_number").unwrap(),
        "**************2345"
    );
    assert_eq!(text_of(&insert.after, "husband_name").unwrap(), "李四");
    assert_eq!(
        text_of(&insert.after, "registration_date").unwrap(),
        "2026-12-01"
    );
    let key = text_of(&insert.key, "registration_id").unwrap();
    assert_ne!(key, "M-0002", "an ungranted key travels hashed");
    assert_eq!(key.len(), 64);
    assert_eq!(text_of(&received[1].key, "registration_id").unwrap(), key);
    assert_eq!(
        text_of(&received[1].after, "husband_name").unwrap(),
        "李四郎"
    );
    assert_eq!(text_of(&received[2].key, "registration_id").unwrap(), key);
    for record in &received {
        assert_eq!(record.subscription_id, subscription.id);
        assert_eq!(record.grant_id, grant_id);
        let hops = record.hops.as_ref().unwrap();
        assert!(hops.commit_time.is_some() && hops.capture_time.is_some());
    }

    // The record's trace shows each hop, for the owner. A subscriber may
    // hear of a change before the journal entry its trace reads is written.
    let started = std::time::Instant::now();
    let traces = loop {
        let traces = exchange
            .trace_record(with_token(
                pb::TraceRecordRequest {
                    line_id: line.id.clone(),
                    locator: Some(pb::trace_record_request::Locator::Key(pb::RecordKey {
                        table: "public.marriage_registration".into(),
                        columns: vec![pb::ColumnValue {
                            name: "registration_id".into(),
                            value: Some(pb::column_value::Value::StringValue("M-0002".into())),
                            unchanged: false,
                        }],
                    })),
                },
                &civil,
            ))
            .await
            .unwrap()
            .into_inner()
            .traces;
        if traces.len() >= 3 || started.elapsed() > WAIT {
            break traces;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(traces.len(), 3, "{traces:#?}");
    for trace in &traces {
        let delivery = trace
            .deliveries
            .iter()
            .find(|d| d.subscription_id == subscription.id)
            .unwrap_or_else(|| panic!("no delivery to the housing fund: {trace:#?}"));
        let hops = delivery.hops.as_ref().unwrap();
        assert!(hops.commit_time.is_some() && hops.capture_time.is_some());
        assert!(hops.publish_time.is_some(), "{delivery:#?}");
    }

    // The window reconciles: equal counts and checksums at every hop.
    let report = reconciled(&exchange, &civil, &line.id, window_start, window_end).await;
    let published = report
        .tallies
        .iter()
        .find(|t| t.hop() == pb::Hop::Published && t.subscription_id == subscription.id)
        .unwrap_or_else(|| panic!("no published tally: {report:#?}"));
    assert!(published.count >= 3, "{report:#?}");
    assert!(report.discrepancies.is_empty());

    // Another tenant cannot see the line's accounting.
    let stranger = mesh.security.token("331200/civil-affairs", &[Role::Viewer]);
    let refused = exchange
        .get_line(with_token(
            pb::GetLineRequest {
                id: line.id.clone(),
            },
            &stranger,
        ))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::NotFound, "{refused:?}");

    // Revoking the grant stops delivery within seconds.
    catalog_client(&mesh)
        .revoke_grant(with_token(
            catalog::RevokeGrantRequest {
                id: grant_id.clone(),
                reason: "loan closed".into(),
            },
            &civil,
        ))
        .await
        .unwrap();
    eventually(WAIT, "subscription revoked", || {
        let mut exchange = exchange.clone();
        let request = with_token(
            pb::GetSubscriptionRequest {
                id: subscription.id.clone(),
            },
            &housing,
        );
        async move {
            let found = exchange.get_subscription(request).await.ok()?;
            let subscription = found.into_inner().subscription?;
            (subscription.state() == pb::SubscriptionState::Revoked).then_some(())
        }
    })
    .await;
    source_db
        .execute_unprepared(
            "INSERT INTO marriage_registration VALUES
               ('M-0003', '王五', '330102199303033456', '2026-12-01', '331102')",
        )
        .await
        .unwrap();
    let after_insert = zhongtai_testkit::flushed_wal_position(&source_db).await;
    line_status_when(&exchange, &civil, &line.id, "past the insert", WAIT, |s| {
        lsn(&s.confirmed_position) >= after_insert
    })
    .await;
    let mut late = Vec::new();
    while let Some(record) = reader.next(Duration::from_millis(500)).await {
        if record.operation() != pb::ChangeOperation::Snapshot {
            late.push(record);
        }
    }
    let seen: HashSet<_> = late.iter().map(|r| r.change_id.clone()).collect();
    assert!(
        late.iter()
            .all(|r| text_of(&r.after, "husband_name").as_deref() != Some("王五")),
        "nothing after revocation: {seen:?}"
    );

    // Deleting the line gives the department's database its slot back.
    exchange
        .delete_line(with_token(
            pb::DeleteLineRequest {
                id: line.id.clone(),
                force: true,
            },
            &civil,
        ))
        .await
        .unwrap();
    eventually(WAIT, "slot and publication dropped", || {
        let source_db = source_db.clone();
        async move {
            let slots = support::count(
                &source_db,
                "pg_replication_slots WHERE database = current_database()",
            )
            .await;
            let publications = support::count(&source_db, "pg_publication").await;
            (slots == 0 && publications == 0).then_some(())
        }
    })
    .await;
    mesh.stop().await;
}

const PROVINCE: &str = "330000/public-security";
const CITY: &str = "331100/data-bureau";
const COUNTY: &str = "331121/data-bureau";
const OTHER_CITY: &str = "331200/data-bureau";

fn text_value(name: &str, value: &str) -> pb::ColumnValue {
    pb::ColumnValue {
        name: name.into(),
        value: Some(pb::column_value::Value::StringValue(value.into())),
        unchanged: false,
    }
}

async fn create_enclave(mesh: &Mesh, token: &str, name: &str) -> pb::Enclave {
    enclave_client(mesh)
        .create_enclave(with_token(
            pb::CreateEnclaveRequest {
                request_id: request_id(),
                name: name.into(),
            },
            token,
        ))
        .await
        .unwrap()
        .into_inner()
        .enclave
        .unwrap()
}

/// Region codes of the rows of an enclave table, sorted.
async fn regions(mesh: &Mesh, token: &str, enclave_id: &str, table: &str) -> Vec<String> {
    let rows = enclave_client(mesh)
        .query_enclave_rows(with_token(
            pb::QueryEnclaveRowsRequest {
                enclave_id: enclave_id.into(),
                table: table.into(),
                ..Default::default()
            },
            token,
        ))
        .await
        .map(|r| r.into_inner().rows)
        .unwrap_or_default();
    let mut regions: Vec<String> = rows
        .iter()
        .filter_map(|row| text_of(&row.columns, "region_code"))
        .collect();
    regions.sort();
    regions
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s4_province_data_flows_back_to_a_city_and_on_to_a_county() {
    let province_db = TestDatabase::create_source().await;
    let source = sea_orm::Database::connect(province_db.url()).await.unwrap();
    source
        .execute_unprepared(
            "CREATE TABLE households (
                 household_id text PRIMARY KEY,
                 head_name text NOT NULL,
                 region_code text NOT NULL)",
        )
        .await
        .unwrap();
    let mut config = exchange_config();
    config
        .sources
        .insert("province".into(), province_db.url().to_string().into());
    let mesh = Mesh::start_with(Services::All, config).await;
    support::data_sharing::set_up_data_access_review_of(&mesh, "330000/data-bureau").await;
    let resource = register_resource(
        &mesh,
        PROVINCE,
        "households",
        "户籍人口",
        &[
            ("household_id", "户号"),
            ("head_name", "户主姓名"),
            ("region_code", "行政区划"),
        ],
        "public.households",
    )
    .await;
    let city = mesh
        .security
        .token(CITY, &[Role::Admin, Role::Operator, Role::Viewer]);
    let county = mesh
        .security
        .token(COUNTY, &[Role::Admin, Role::Operator, Role::Viewer]);
    let other_city = mesh
        .security
        .token(OTHER_CITY, &[Role::Admin, Role::Operator, Role::Viewer]);
    let city_enclave = create_enclave(&mesh, &city, "丽水市数据飞地").await;
    let county_enclave = create_enclave(&mesh, &county, "青田县数据飞地").await;
    let other_enclave = create_enclave(&mesh, &other_city, "温州市数据飞地").await;

    // The province grants the city the rows under 331100.
    let grant_id = grant_access(
        &mesh,
        &city,
        PROVINCE,
        &resource.id,
        &["household_id", "head_name", "region_code"],
        Some(zhongtai_contracts::common::v1::RowFilter {
            conditions: vec![zhongtai_contracts::common::v1::RowCondition {
                field: "region_code".into(),
                operator: zhongtai_contracts::common::v1::RowOperator::WithinDivision as i32,
                values: vec!["331100".into()],
            }],
        }),
    )
    .await;
    let province = mesh
        .security
        .token(PROVINCE, &[Role::Operator, Role::Viewer]);
    let mut exchange = exchange_client(&mesh);
    let line = exchange
        .create_line(with_token(
            pb::CreateLineRequest {
                request_id: request_id(),
                line: Some(pb::Line {
                    name: "households-cdc".into(),
                    source: Some(pb::line::Source::LogSource(pb::LogSource {
                        connection_ref: "province".into(),
                        tables: vec![pb::SourceTable {
                            schema: "public".into(),
                            name: "households".into(),
                            key_columns: vec![],
                        }],
                        snapshot_mode: pb::SnapshotMode::Initial as i32,
                        ..Default::default()
                    })),
                    resource_id: resource.id.clone(),
                    ..Default::default()
                }),
            },
            &province,
        ))
        .await
        .unwrap()
        .into_inner()
        .line
        .unwrap();
    let subscribed = eventually(WAIT, "the city subscribes its enclave", || {
        let mut exchange = exchange.clone();
        let request = with_token(
            pb::CreateSubscriptionRequest {
                request_id: format!("city-enclave-{}", line.id),
                line_id: line.id.clone(),
                grant_id: grant_id.clone(),
                queue: None,
                enclave: Some(pb::EnclaveDelivery {
                    enclave_id: city_enclave.id.clone(),
                    table: "households".into(),
                }),
            },
            &city,
        );
        async move { exchange.create_subscription(request).await.ok() }
    })
    .await
    .into_inner()
    .subscription
    .unwrap();
    assert_eq!(subscribed.state(), pb::SubscriptionState::Active);
    line_status_when(&exchange, &province, &line.id, "streaming", WAIT, |s| {
        s.line.as_ref().unwrap().state() == pb::LineState::Streaming
    })
    .await;
    source
        .execute_unprepared(
            "INSERT INTO households VALUES
               ('H-1', '张三', '331102'),
               ('H-2', '李四', '331121'),
               ('H-3', '王五', '331202')",
        )
        .await
        .unwrap();
    let wanted = vec!["331102".to_string(), "331121".to_string()];
    eventually(WAIT, "the city's enclave receives its rows", || {
        let (mesh, city, id) = (&mesh, city.clone(), city_enclave.id.clone());
        let wanted = wanted.clone();
        async move { (regions(mesh, &city, &id, "households").await == wanted).then_some(()) }
    })
    .await;

    // The city loads its own table beside the province's.
    let mut enclaves = enclave_client(&mesh);
    enclaves
        .create_enclave_table(with_token(
            pb::CreateEnclaveTableRequest {
                enclave_id: city_enclave.id.clone(),
                name: "elder_care_visits".into(),
                columns: vec![
                    pb::EnclaveColumn {
                        name: "visit_id".into(),
                        r#type: pb::EnclaveColumnType::Text as i32,
                        nullable: false,
                    },
                    pb::EnclaveColumn {
                        name: "region_code".into(),
                        r#type: pb::EnclaveColumnType::Text as i32,
                        nullable: false,
                    },
                ],
                key_columns: vec!["visit_id".into()],
            },
            &city,
        ))
        .await
        .unwrap();
    enclaves
        .write_enclave_rows(with_token(
            pb::WriteEnclaveRowsRequest {
                request_id: request_id(),
                enclave_id: city_enclave.id.clone(),
                table: "elder_care_visits".into(),
                upserts: vec![pb::EnclaveRow {
                    columns: vec![
                        text_value("visit_id", "V-1"),
                        text_value("region_code", "331102"),
                    ],
                }],
                deletes: vec![],
            },
            &city,
        ))
        .await
        .unwrap();
    assert_eq!(
        regions(&mesh, &city, &city_enclave.id, "elder_care_visits").await,
        ["331102"]
    );

    // It backflows the county's slice of the province's rows on.
    enclaves
        .add_backflow_rule(with_token(
            pb::AddBackflowRuleRequest {
                request_id: request_id(),
                enclave_id: city_enclave.id.clone(),
                rule: Some(pb::BackflowRule {
                    source_table: "households".into(),
                    target_tenant: Some(support::data_sharing::tenant(COUNTY)),
                    target_enclave_id: county_enclave.id.clone(),
                    target_table: "households".into(),
                    row_filter: Some(zhongtai_contracts::common::v1::RowFilter {
                        conditions: vec![zhongtai_contracts::common::v1::RowCondition {
                            field: "region_code".into(),
                            operator: zhongtai_contracts::common::v1::RowOperator::WithinDivision
                                as i32,
                            values: vec!["331121".into()],
                        }],
                    }),
                    ..Default::default()
                }),
            },
            &city,
        ))
        .await
        .unwrap();
    eventually(WAIT, "the county sees its rows", || {
        let (mesh, county, id) = (&mesh, county.clone(), county_enclave.id.clone());
        async move { (regions(mesh, &county, &id, "households").await == ["331121"]).then_some(()) }
    })
    .await;
    // …continuously: a new county household reaches it through both hops.
    source
        .execute_unprepared("INSERT INTO households VALUES ('H-4', '赵六', '331121')")
        .await
        .unwrap();
    eventually(WAIT, "the cascade carries new rows", || {
        let (mesh, county, id) = (&mesh, county.clone(), county_enclave.id.clone());
        async move {
            (regions(mesh, &county, &id, "households").await == ["331121", "331121"]).then_some(())
        }
    })
    .await;
    assert!(
        regions(&mesh, &other_city, &other_enclave.id, "households")
            .await
            .is_empty(),
        "another city received nothing"
    );

    // Nobody reads another tenant's enclave, through any call.
    for (token, enclave_id) in [
        (&county, &city_enclave.id),
        (&city, &county_enclave.id),
        (&city, &other_enclave.id),
    ] {
        let refused = enclaves
            .query_enclave_rows(with_token(
                pb::QueryEnclaveRowsRequest {
                    enclave_id: enclave_id.clone(),
                    table: "households".into(),
                    ..Default::default()
                },
                token,
            ))
            .await
            .unwrap_err();
        assert_eq!(refused.code(), Code::NotFound, "{refused:?}");
        let refused = enclaves
            .get_enclave(with_token(
                pb::GetEnclaveRequest {
                    id: enclave_id.clone(),
                },
                token,
            ))
            .await
            .unwrap_err();
        assert_eq!(refused.code(), Code::NotFound, "{refused:?}");
    }
    let refused = enclaves
        .write_enclave_rows(with_token(
            pb::WriteEnclaveRowsRequest {
                request_id: request_id(),
                enclave_id: city_enclave.id.clone(),
                table: "elder_care_visits".into(),
                upserts: vec![pb::EnclaveRow {
                    columns: vec![
                        text_value("visit_id", "V-2"),
                        text_value("region_code", "331121"),
                    ],
                }],
                deletes: vec![],
            },
            &county,
        ))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::NotFound);
    // Every refusal was recorded for audit.
    let exchange_db = mesh.db("exchange").await;
    let refusals = count(
        &exchange_db,
        "event_outbox WHERE event_type = 'exchange.enclave.access_refused'",
    )
    .await;
    assert_eq!(refusals, 7, "three enclaves × query and get, and one write");
    mesh.stop().await;
}

fn log_line(name: &str, connection: &str, table: &str) -> pb::Line {
    pb::Line {
        name: name.into(),
        source: Some(pb::line::Source::LogSource(pb::LogSource {
            connection_ref: connection.into(),
            tables: vec![pb::SourceTable {
                schema: "public".into(),
                name: table.into(),
                key_columns: vec![],
            }],
            snapshot_mode: pb::SnapshotMode::Never as i32,
            ..Default::default()
        })),
        ..Default::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broken_sources_put_a_clear_reason_on_the_line_and_nothing_crashes() {
    let (source, source_db) = source_database().await;
    source_db
        .execute_unprepared("CREATE TABLE visits (visitor text, visited_at timestamptz)")
        .await
        .unwrap();
    let mut config = exchange_config();
    config
        .sources
        .insert("civil_affairs".into(), source.url().to_string().into());
    let mesh = Mesh::start_with(Services::All, config).await;
    let civil = mesh
        .security
        .token(CIVIL_AFFAIRS, &[Role::Operator, Role::Viewer]);
    let exchange = exchange_client(&mesh);
    let create = |line: pb::Line| {
        let mut exchange = exchange.clone();
        let civil = civil.clone();
        async move {
            exchange
                .create_line(with_token(
                    pb::CreateLineRequest {
                        request_id: request_id(),
                        line: Some(line),
                    },
                    &civil,
                ))
                .await
                .unwrap()
                .into_inner()
                .line
                .unwrap()
                .id
        }
    };
    let failed_with = |status: &pb::GetLineStatusResponse, reason: &str| {
        let line = status.line.as_ref().unwrap();
        line.state() == pb::LineState::Failed && line.state_reason.contains(reason)
    };

    // A table without a primary key is named.
    let keyless = create(log_line("visits-cdc", "civil-affairs", "visits")).await;
    line_status_when(
        &exchange,
        &civil,
        &keyless,
        "failed, naming the table",
        WAIT,
        |s| failed_with(s, "public.visits has no primary key"),
    )
    .await;
    // A connection the center does not know says how to configure it.
    let unknown = create(log_line("elsewhere-cdc", "health-commission", "visits")).await;
    line_status_when(
        &exchange,
        &civil,
        &unknown,
        "failed, naming the setting",
        WAIT,
        |s| failed_with(s, "ZHONGTAI_EXCHANGE__SOURCES__HEALTH_COMMISSION"),
    )
    .await;

    // A slot dropped behind a running line: changes after it cannot be
    // recovered, and the line says so instead of silently skipping them.
    let streaming = create(log_line(
        "marriages-cdc",
        "civil-affairs",
        "marriage_registration",
    ))
    .await;
    line_status_when(&exchange, &civil, &streaming, "streaming", WAIT, |s| {
        s.line.as_ref().unwrap().state() == pb::LineState::Streaming
    })
    .await;
    // The runner reconnects at once; end its session and drop the slot
    // in one statement, retried until it lands between two connections.
    let mut dropped = false;
    for _ in 0..100 {
        let attempt = source_db
            .execute_unprepared(
                "SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots
                  WHERE database = current_database() AND active_pid IS NOT NULL;
                 SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots
                  WHERE database = current_database()",
            )
            .await;
        if attempt.is_ok() {
            dropped = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(dropped, "the slot could be dropped");
    source_db
        .execute_unprepared(
            "INSERT INTO marriage_registration VALUES
               ('M-0009', '钱七', '330102199404044567', '2026-12-01', '331102')",
        )
        .await
        .unwrap();
    line_status_when(
        &exchange,
        &civil,
        &streaming,
        "failed, naming the slot",
        WAIT,
        |s| failed_with(s, "was dropped"),
    )
    .await;

    // The center still serves.
    let listed = exchange
        .clone()
        .list_lines(with_token(pb::ListLinesRequest::default(), &civil))
        .await
        .unwrap()
        .into_inner()
        .lines;
    assert_eq!(listed.len(), 3);
    mesh.stop().await;
}
