//! Enclaves and backflow against real PostgreSQL (schemas and roles per
//! enclave), with a SQLite smoke test of the embedded mode.

use std::time::Duration;

use sea_orm::{ConnectionTrait, TransactionTrait};
use tonic::Code;
use uuid::Uuid;
use zhongtai_contracts::exchange::v1 as pb;
use zhongtai_contracts::exchange::v1::column_value::Value as PbValue;
use zhongtai_contracts::exchange::v1::enclave_service_server::EnclaveService;
use zhongtai_exchange::domain::change::{Column, Operation, Value};
use zhongtai_exchange::domain::flow::{FlowError, SourceEvent};
use zhongtai_exchange::domain::line::{EnclaveSourceSpec, SourceSpec};
use zhongtai_exchange::domain::policy::{DeliveryPolicy, Projected, hash_key};
use zhongtai_exchange::domain::ports::EnclaveDirectory;

use crate::support::enclaves::*;

#[tokio::test]
async fn a_city_keeps_its_own_tables_and_reads_them_filtered_and_paged() {
    let t = TestEnclaves::postgres().await;
    let city = caller(CITY);
    let request = pb::CreateEnclaveRequest {
        request_id: "city-enclave".into(),
        name: "丽水市数据飞地".into(),
    };
    let enclave = t
        .api
        .create_enclave(as_caller(&city, request.clone()))
        .await
        .unwrap()
        .into_inner()
        .enclave
        .unwrap();
    let again = t
        .api
        .create_enclave(as_caller(&city, request))
        .await
        .unwrap()
        .into_inner()
        .enclave
        .unwrap();
    assert_eq!(
        again.id, enclave.id,
        "CreateEnclave is idempotent on request_id"
    );
    assert_eq!(enclave.state, pb::EnclaveState::Active as i32);

    let table = t.create_people(&city, &enclave.id).await.unwrap();
    assert_eq!(table.origin, pb::EnclaveTableOrigin::Local as i32);
    assert_eq!(
        t.create_people(&city, &enclave.id).await.unwrap(),
        table,
        "an identical table again is a no-op"
    );
    let mut different = people_table(&enclave.id);
    different.columns.pop();
    let status = t
        .api
        .create_enclave_table(as_caller(&city, different))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::AlreadyExists);

    let regions = ["331121", "331122", "331121", "331123", "331121"];
    let rows = (1..=25)
        .map(|id| person(id, &format!("p{id}"), regions[(id % 5) as usize]))
        .collect();
    let written = t.write(&city, &enclave.id, rows, vec![]).await.unwrap();
    assert_eq!(written.upserted_count, 25);

    // Key order, pages of 10.
    let first = t
        .query(&city, &enclave.id, "people", None, 10, "")
        .await
        .unwrap();
    assert_eq!(ids(&first.rows), (1..=10).collect::<Vec<_>>());
    let token = first.page.unwrap().next_page_token;
    assert!(!token.is_empty());
    let second = t
        .query(&city, &enclave.id, "people", None, 10, &token)
        .await
        .unwrap();
    assert_eq!(ids(&second.rows), (11..=20).collect::<Vec<_>>());

    // A row filter, paged.
    let filter = Some(within("region_code", "331121"));
    let page = t
        .query(&city, &enclave.id, "people", filter.clone(), 4, "")
        .await
        .unwrap();
    assert_eq!(ids(&page.rows), [2, 4, 5, 7]);
    let rest = t
        .query(
            &city,
            &enclave.id,
            "people",
            filter,
            100,
            &page.page.unwrap().next_page_token,
        )
        .await
        .unwrap();
    assert_eq!(ids(&rest.rows), [9, 10, 12, 14, 15, 17, 19, 20, 22, 24, 25]);
    assert!(rest.page.unwrap().next_page_token.is_empty());

    // Projection.
    let projected = t
        .api
        .query_enclave_rows(as_caller(
            &city,
            pb::QueryEnclaveRowsRequest {
                page: None,
                enclave_id: enclave.id.clone(),
                table: "people".into(),
                row_filter: None,
                columns: vec!["name".into()],
            },
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(projected.rows[0].columns.len(), 1);
    assert_eq!(text_of(&projected.rows[0], "name").as_deref(), Some("p1"));

    // Deletes: soft, never read back; absent keys are not counted; an
    // update replaces the row.
    let outcome = t
        .write(
            &city,
            &enclave.id,
            vec![person(3, "renamed", "331121")],
            vec![key(1), key(2), key(999)],
        )
        .await
        .unwrap();
    assert_eq!((outcome.upserted_count, outcome.deleted_count), (1, 2));
    let all = t.all_rows(&city, &enclave.id, "people").await;
    assert_eq!(ids(&all), (3..=25).collect::<Vec<_>>());
    assert_eq!(text_of(&all[0], "name").as_deref(), Some("renamed"));
    let income = all[0].columns.iter().find(|c| c.name == "income").unwrap();
    assert_eq!(income.value, Some(PbValue::NumericValue("3000.50".into())));

    // A repeated write request has no second effect.
    let replay = t
        .write_as(
            &city,
            &enclave.id,
            "once",
            vec![person(1, "back", "331121")],
            vec![],
        )
        .await
        .unwrap();
    t.write(&city, &enclave.id, vec![], vec![key(1)])
        .await
        .unwrap();
    let replayed = t
        .write_as(
            &city,
            &enclave.id,
            "once",
            vec![person(1, "back", "331121")],
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(replayed, replay);
    assert!(!ids(&t.all_rows(&city, &enclave.id, "people").await).contains(&1));

    let got = t
        .api
        .get_enclave(as_caller(
            &city,
            pb::GetEnclaveRequest {
                id: enclave.id.clone(),
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .enclave
        .unwrap();
    assert_eq!(got.tables.len(), 1);
    assert_eq!(got.tables[0].row_count, 23);
    let listed = t
        .api
        .list_enclaves(as_caller(&city, pb::ListEnclavesRequest { page: None }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(listed.enclaves.len(), 1);
    let county_list = t
        .api
        .list_enclaves(as_caller(
            &caller(COUNTY),
            pb::ListEnclavesRequest { page: None },
        ))
        .await
        .unwrap()
        .into_inner();
    assert!(
        county_list.enclaves.is_empty(),
        "another tenant lists nothing"
    );
}

#[tokio::test]
async fn other_tenants_see_not_found_and_every_refusal_is_recorded() {
    let t = TestEnclaves::postgres().await;
    let city = caller(CITY);
    let enclave = t.create_enclave(&city, "city").await;
    t.create_people(&city, &enclave.id).await.unwrap();
    t.write(
        &city,
        &enclave.id,
        vec![person(1, "secret", "331121")],
        vec![],
    )
    .await
    .unwrap();
    let county_enclave = t.create_enclave(&caller(COUNTY), "county").await;

    for intruder in [
        caller(COUNTY),
        caller(OTHER_CITY),
        caller("331100/other-bureau"),
    ] {
        let get = t
            .api
            .get_enclave(as_caller(
                &intruder,
                pb::GetEnclaveRequest {
                    id: enclave.id.clone(),
                },
            ))
            .await
            .unwrap_err();
        assert_eq!(get.code(), Code::NotFound, "{get:?}");
        let query = t
            .query(&intruder, &enclave.id, "people", None, 10, "")
            .await
            .unwrap_err();
        assert_eq!(query.code(), Code::NotFound);
        let write = t
            .write(
                &intruder,
                &enclave.id,
                vec![person(2, "forged", "331121")],
                vec![],
            )
            .await
            .unwrap_err();
        assert_eq!(write.code(), Code::NotFound);
        let rule = t
            .api
            .add_backflow_rule(as_caller(
                &intruder,
                pb::AddBackflowRuleRequest {
                    request_id: Uuid::new_v4().to_string(),
                    enclave_id: enclave.id.clone(),
                    rule: Some(pb::BackflowRule {
                        source_table: "people".into(),
                        target_tenant: Some(tenant_message(COUNTY)),
                        target_enclave_id: county_enclave.id.clone(),
                        ..Default::default()
                    }),
                },
            ))
            .await
            .unwrap_err();
        assert_eq!(rule.code(), Code::NotFound);
    }
    // An unknown id reads exactly like a foreign one.
    let unknown = t
        .api
        .get_enclave(as_caller(
            &city,
            pb::GetEnclaveRequest {
                id: Uuid::new_v4().to_string(),
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(unknown.code(), Code::NotFound);

    assert_eq!(t.refusals_audited(&enclave.id).await, 12);
    assert_eq!(t.refusals_published(&enclave.id).await, 12);
    let rows = t.all_rows(&city, &enclave.id, "people").await;
    assert_eq!(ids(&rows), [1], "nothing was written by the intruders");
    assert_eq!(text_of(&rows[0], "name").as_deref(), Some("secret"));
}

#[tokio::test]
async fn bad_input_is_refused_with_its_fields_and_changes_nothing() {
    let t = TestEnclaves::postgres().await;
    let city = caller(CITY);
    let enclave = t.create_enclave(&city, "city").await;

    let mut bad_table = people_table(&enclave.id);
    bad_table.name = "People; DROP".into();
    bad_table.columns[1].name = "Name".into();
    bad_table.key_columns = vec!["missing".into()];
    let status = t
        .api
        .create_enclave_table(as_caller(&city, bad_table))
        .await
        .unwrap_err();
    assert_eq!(
        violated_fields(&status),
        ["name", "columns[1].name", "key_columns[0]"]
    );
    t.create_people(&city, &enclave.id).await.unwrap();

    t.write(
        &city,
        &enclave.id,
        vec![person(1, "kept", "331121")],
        vec![],
    )
    .await
    .unwrap();
    let wrong_type = pb::EnclaveRow {
        columns: vec![
            value("id", PbValue::StringValue("2".into())),
            value("name", PbValue::IntValue(5)),
            value("region_code", PbValue::StringValue("331121".into())),
        ],
    };
    let missing_key = pb::EnclaveRow {
        columns: vec![value("name", PbValue::StringValue("no key".into()))],
    };
    let status = t
        .write(
            &city,
            &enclave.id,
            vec![person(3, "fine", "331121"), wrong_type, missing_key],
            vec![pb::EnclaveRow { columns: vec![] }],
        )
        .await
        .unwrap_err();
    assert_eq!(
        violated_fields(&status),
        [
            "upserts[1].id",
            "upserts[1].name",
            "upserts[2].id",
            "upserts[2].region_code",
            "deletes[0].id"
        ]
    );
    let too_many = (0..10_001).map(|id| person(id, "x", "331121")).collect();
    let status = t
        .write(&city, &enclave.id, too_many, vec![])
        .await
        .unwrap_err();
    assert_eq!(violated_fields(&status), ["upserts"]);
    let status = t
        .query(&city, &enclave.id, "people", None, 10, "v1:garbage")
        .await
        .unwrap_err();
    assert_eq!(violated_fields(&status), ["page.page_token"]);
    let status = t
        .query(
            &city,
            &enclave.id,
            "people",
            Some(within("nope", "331121")),
            10,
            "",
        )
        .await
        .unwrap_err();
    assert_eq!(violated_fields(&status), ["row_filter.conditions[0].field"]);
    let status = t
        .query(&city, &enclave.id, "no_such_table", None, 10, "")
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::NotFound);

    let rows = t.all_rows(&city, &enclave.id, "people").await;
    assert_eq!(ids(&rows), [1], "no refused write left anything behind");
}

#[tokio::test]
async fn the_sink_applies_in_order_once_and_never_goes_back() {
    let t = TestEnclaves::postgres().await;
    let county = caller(COUNTY);
    let enclave = t.create_enclave(&county, "county").await;
    let subscription = enclave_subscription(COUNTY, &enclave.id, "");
    let sink = t.enclaves.sink();

    let batch = vec![
        resident_change(&subscription, 10, Operation::Insert, 1, "a"),
        resident_change(&subscription, 11, Operation::Insert, 2, "b"),
        resident_change(&subscription, 12, Operation::Update, 1, "a2"),
    ];
    let accepted = sink.accept(&subscription, &batch).await.unwrap();
    assert_eq!(accepted.len(), 3);
    assert!(
        accepted
            .iter()
            .all(|a| a.had_effect && a.applied_at.is_some())
    );
    let received = t.all_rows(&county, &enclave.id, "residents").await;
    assert_eq!(ids(&received), [1, 2]);
    assert_eq!(text_of(&received[0], "name").as_deref(), Some("a2"));

    // Redelivery: no effect, nothing changes.
    let again = sink.accept(&subscription, &batch).await.unwrap();
    assert!(again.iter().all(|a| !a.had_effect));
    assert_eq!(
        t.all_rows(&county, &enclave.id, "residents").await,
        received
    );

    // An older change after a newer one is ignored.
    let stale = sink
        .accept(
            &subscription,
            &[resident_change(
                &subscription,
                11,
                Operation::Update,
                1,
                "stale",
            )],
        )
        .await
        .unwrap();
    assert!(!stale[0].had_effect);
    assert_eq!(
        text_of(
            &t.all_rows(&county, &enclave.id, "residents").await[0],
            "name"
        )
        .as_deref(),
        Some("a2")
    );

    // Delete, then a stale insert (kept out by the tombstone), then a
    // newer re-insert.
    let outcome = sink
        .accept(
            &subscription,
            &[
                resident_change(&subscription, 20, Operation::Delete, 2, ""),
                resident_change(&subscription, 15, Operation::Insert, 2, "resurrected"),
            ],
        )
        .await
        .unwrap();
    assert_eq!(
        outcome.iter().map(|a| a.had_effect).collect::<Vec<_>>(),
        [true, false]
    );
    assert_eq!(
        ids(&t.all_rows(&county, &enclave.id, "residents").await),
        [1]
    );
    sink.accept(
        &subscription,
        &[resident_change(
            &subscription,
            21,
            Operation::Insert,
            2,
            "again",
        )],
    )
    .await
    .unwrap();
    let rows = t.all_rows(&county, &enclave.id, "residents").await;
    assert_eq!(ids(&rows), [1, 2]);
    assert_eq!(text_of(&rows[1], "name").as_deref(), Some("again"));

    let tables = t
        .api
        .get_enclave(as_caller(
            &county,
            pb::GetEnclaveRequest {
                id: enclave.id.clone(),
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .enclave
        .unwrap()
        .tables;
    assert_eq!(
        tables[0].row_count, 2,
        "counted through deletes and re-inserts"
    );

    // RECEIVED tables are not written through the API.
    let status = t
        .api
        .write_enclave_rows(as_caller(
            &county,
            pb::WriteEnclaveRowsRequest {
                request_id: "w".into(),
                enclave_id: enclave.id.clone(),
                table: "residents".into(),
                upserts: vec![],
                deletes: vec![key(1)],
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::FailedPrecondition);
}

#[tokio::test]
async fn received_tables_grow_with_their_source_and_refuse_type_clashes() {
    let t = TestEnclaves::postgres().await;
    let county = caller(COUNTY);
    let enclave = t.create_enclave(&county, "county").await;
    let subscription = enclave_subscription(COUNTY, &enclave.id, "residents_copy");
    let sink = t.enclaves.sink();
    sink.accept(
        &subscription,
        &[resident_change(&subscription, 1, Operation::Insert, 1, "a")],
    )
    .await
    .unwrap();

    // The source added a column; unchanged values keep what is there.
    let mut widened = resident_change(&subscription, 2, Operation::Update, 1, "a");
    widened
        .after
        .push(Column::new("phone", Value::Text("1380000".into())));
    widened.after[1].value = Value::Unchanged;
    sink.accept(&subscription, &[widened]).await.unwrap();
    let rows = t.all_rows(&county, &enclave.id, "residents_copy").await;
    assert_eq!(text_of(&rows[0], "phone").as_deref(), Some("1380000"));
    assert_eq!(text_of(&rows[0], "name").as_deref(), Some("a"));
    let table = t
        .api
        .get_enclave(as_caller(
            &county,
            pb::GetEnclaveRequest {
                id: enclave.id.clone(),
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .enclave
        .unwrap()
        .tables
        .remove(0);
    assert_eq!(table.origin, pb::EnclaveTableOrigin::Received as i32);
    assert_eq!(table.subscription_id, subscription.id.to_string());
    assert_eq!(table.columns.len(), 4);

    let mut clash = resident_change(&subscription, 3, Operation::Update, 1, "a");
    clash.after[1].value = Value::Int(7);
    let error = sink.accept(&subscription, &[clash]).await.unwrap_err();
    assert!(matches!(error, FlowError::Permanent(_)), "{error:?}");

    // A value the database can never store is not retried forever.
    let mut bad_json = resident_change(&subscription, 4, Operation::Update, 1, "a");
    bad_json
        .after
        .push(Column::new("profile", Value::Json("{not json".into())));
    let error = sink.accept(&subscription, &[bad_json]).await.unwrap_err();
    assert!(matches!(error, FlowError::Permanent(_)), "{error:?}");

    let other = enclave_subscription(COUNTY, &enclave.id, "residents_copy");
    let error = sink
        .accept(
            &other,
            &[resident_change(&other, 9, Operation::Insert, 5, "x")],
        )
        .await
        .unwrap_err();
    assert!(
        matches!(error, FlowError::Permanent(_)),
        "another subscription's table"
    );
    let stranger = enclave_subscription(OTHER_CITY, &enclave.id, "t");
    let error = sink
        .accept(
            &stranger,
            &[resident_change(&stranger, 9, Operation::Insert, 5, "x")],
        )
        .await
        .unwrap_err();
    assert!(
        matches!(error, FlowError::Permanent(_)),
        "not the subscriber's enclave"
    );
    assert_eq!(
        ids(&t.all_rows(&county, &enclave.id, "residents_copy").await),
        [1]
    );
}

#[tokio::test]
async fn an_enclave_source_reads_what_writes_and_the_sink_appended() {
    let t = TestEnclaves::postgres().await;
    let city = caller(CITY);
    let enclave = t.create_enclave(&city, "city").await;
    let enclave_id = Uuid::parse_str(&enclave.id).unwrap();
    t.create_people(&city, &enclave.id).await.unwrap();
    t.write(
        &city,
        &enclave.id,
        vec![person(1, "a", "331121"), person(2, "b", "331122")],
        vec![],
    )
    .await
    .unwrap();
    t.write(&city, &enclave.id, vec![], vec![key(2)])
        .await
        .unwrap();
    let subscription = enclave_subscription(CITY, &enclave.id, "");
    t.enclaves
        .sink()
        .accept(
            &subscription,
            &[resident_change(
                &subscription,
                5,
                Operation::Insert,
                9,
                "received",
            )],
        )
        .await
        .unwrap();

    let line_id = Uuid::new_v4();
    let spec = EnclaveSourceSpec {
        enclave_id,
        tables: vec!["people".into()],
    };
    let mut source = t.enclaves.open_source(line_id, &spec, 0).await.unwrap();
    let SourceEvent::Batch(batch) = source.next().await.unwrap() else {
        panic!("a batch first");
    };
    let seen: Vec<(Operation, String)> = batch
        .changes
        .iter()
        .map(|c| (c.operation, format!("{:?}", c.key[0].value)))
        .collect();
    assert_eq!(
        seen,
        [
            (Operation::Insert, "Int(1)".to_string()),
            (Operation::Insert, "Int(2)".to_string()),
            (Operation::Delete, "Int(2)".to_string()),
        ]
    );
    assert!(
        batch
            .changes
            .windows(2)
            .all(|w| w[0].position < w[1].position)
    );
    assert_eq!(batch.confirm_position, batch.changes[2].position);
    assert_eq!(batch.changes[0].table, "people");
    assert_eq!(batch.changes[0].line_id, line_id);
    assert!(batch.changes[0].hops.commit.is_some());
    // The delete carries the row as it was, for onward row filters.
    assert_eq!(batch.changes[2].before.len(), 4);
    assert_eq!(source.position_text(42), "42");

    // Reopened after a confirmed position: only what follows; new writes
    // wake the source.
    let mut reopened = t
        .enclaves
        .open_source(line_id, &spec, batch.confirm_position)
        .await
        .unwrap();
    let writer = async {
        tokio::time::sleep(Duration::from_millis(100)).await;
        t.write(&city, &enclave.id, vec![person(3, "c", "331121")], vec![])
            .await
            .unwrap();
    };
    let reader = async {
        loop {
            match reopened.next().await.unwrap() {
                SourceEvent::Batch(batch) => return batch,
                SourceEvent::Heartbeat { .. } => continue,
                other => panic!("unexpected {other:?}"),
            }
        }
    };
    let ((), next) = tokio::join!(writer, reader);
    assert_eq!(next.changes.len(), 1);
    assert_eq!(next.changes[0].key[0].value, Value::Int(3));

    // All tables when the spec names none.
    let everything = EnclaveSourceSpec {
        enclave_id,
        tables: vec![],
    };
    let mut all = t
        .enclaves
        .open_source(line_id, &everything, 0)
        .await
        .unwrap();
    let SourceEvent::Batch(batch) = all.next().await.unwrap() else {
        panic!("a batch");
    };
    assert!(batch.changes.iter().any(|c| c.table == "residents"));
    let missing = EnclaveSourceSpec {
        enclave_id: Uuid::new_v4(),
        tables: vec![],
    };
    assert!(matches!(
        t.enclaves.open_source(line_id, &missing, 0).await.err(),
        Some(FlowError::Permanent(_))
    ));
}

#[tokio::test]
async fn an_enclave_role_cannot_read_another_enclave_in_the_database() {
    let t = TestEnclaves::postgres().await;
    let a = t.create_enclave(&caller(CITY), "a").await;
    let b = t.create_enclave(&caller(OTHER_CITY), "b").await;
    t.create_people(&caller(CITY), &a.id).await.unwrap();
    t.create_people(&caller(OTHER_CITY), &b.id).await.unwrap();
    t.write(
        &caller(OTHER_CITY),
        &b.id,
        vec![person(1, "b's", "331221")],
        vec![],
    )
    .await
    .unwrap();
    let ident = |id: &str| format!("enclave_{}", Uuid::parse_str(id).unwrap().simple());

    let txn = t.db.begin().await.unwrap();
    txn.execute_unprepared(&format!("SET LOCAL ROLE \"{}\"", ident(&a.id)))
        .await
        .unwrap();
    txn.execute_unprepared(&format!("SELECT * FROM \"{}\".people", ident(&a.id)))
        .await
        .expect("an enclave's role reads its own tables");
    let error = txn
        .execute_unprepared(&format!("SELECT * FROM \"{}\".people", ident(&b.id)))
        .await
        .unwrap_err();
    assert!(error.to_string().contains("permission denied"), "{error}");
    drop(txn);

    let txn = t.db.begin().await.unwrap();
    txn.execute_unprepared(&format!("SET LOCAL ROLE \"{}\"", ident(&a.id)))
        .await
        .unwrap();
    let error = txn
        .execute_unprepared("SELECT * FROM enclaves")
        .await
        .unwrap_err();
    assert!(
        error.to_string().contains("permission denied"),
        "nor the platform's tables: {error}"
    );
}

#[tokio::test]
async fn a_backflow_rule_provisions_its_line_and_subscription_once() {
    let t = TestEnclaves::postgres().await;
    let city = caller(CITY);
    let city_enclave = t.create_enclave(&city, "city").await;
    let county_enclave = t.create_enclave(&caller(COUNTY), "county").await;
    let other_enclave = t.create_enclave(&caller(OTHER_CITY), "other").await;
    t.create_people(&city, &city_enclave.id).await.unwrap();
    let request =
        |request_id: &str, target: &str, target_enclave: &str| pb::AddBackflowRuleRequest {
            request_id: request_id.into(),
            enclave_id: city_enclave.id.clone(),
            rule: Some(pb::BackflowRule {
                source_table: "people".into(),
                target_tenant: Some(tenant_message(target)),
                target_enclave_id: target_enclave.into(),
                target_table: "city_people".into(),
                row_filter: Some(within("region_code", "331121")),
                fields: vec![],
                ..Default::default()
            }),
        };

    let rule = t
        .api
        .add_backflow_rule(as_caller(&city, request("r1", COUNTY, &county_enclave.id)))
        .await
        .unwrap()
        .into_inner()
        .rule
        .unwrap();
    let again = t
        .api
        .add_backflow_rule(as_caller(&city, request("r1", COUNTY, &county_enclave.id)))
        .await
        .unwrap()
        .into_inner()
        .rule
        .unwrap();
    assert_eq!(again, rule, "idempotent on request_id");
    {
        let lines = t.provisioner.lines.lock().unwrap();
        let subscriptions = t.provisioner.subscriptions.lock().unwrap();
        assert_eq!(lines.len(), 2, "provisioned on each attempt…");
        assert_eq!(lines[0].id, lines[1].id, "…with the same ids");
        let line = &lines[0];
        assert_eq!(line.id.to_string(), rule.line_id);
        assert_eq!(line.owner, tenant(CITY));
        assert!(line.name.starts_with("backflow-"));
        assert_eq!(
            line.source,
            SourceSpec::Enclave(EnclaveSourceSpec {
                enclave_id: Uuid::parse_str(&city_enclave.id).unwrap(),
                tables: vec!["people".into()],
            })
        );
        let subscription = &subscriptions[0];
        assert_eq!(subscription.id.to_string(), rule.subscription_id);
        assert_eq!(subscription.subscriber, tenant(COUNTY));
        assert_eq!(subscription.grant_id, None);
        let target = subscription.enclave.as_ref().unwrap();
        assert_eq!(target.enclave_id.to_string(), county_enclave.id);
        assert_eq!(target.table, "city_people");
        assert_eq!(subscription.policy.row_filter.conditions.len(), 1);
    }

    let status = t
        .api
        .add_backflow_rule(as_caller(
            &city,
            request("r2", OTHER_CITY, &other_enclave.id),
        ))
        .await
        .unwrap_err();
    assert_eq!(violated_fields(&status), ["rule.target_tenant"]);
    let status = t
        .api
        .add_backflow_rule(as_caller(&city, request("r3", COUNTY, &other_enclave.id)))
        .await
        .unwrap_err();
    assert_eq!(violated_fields(&status), ["rule.target_enclave_id"]);
    let mut no_table = request("r4", COUNTY, &county_enclave.id);
    no_table.rule.as_mut().unwrap().source_table = "missing".into();
    let status = t
        .api
        .add_backflow_rule(as_caller(&city, no_table))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::NotFound);

    let enclave = t
        .api
        .get_enclave(as_caller(
            &city,
            pb::GetEnclaveRequest {
                id: city_enclave.id.clone(),
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .enclave
        .unwrap();
    assert_eq!(enclave.backflow_rules.len(), 1);
    assert_eq!(enclave.backflow_rules[0], rule);

    let removed = t
        .api
        .remove_backflow_rule(as_caller(
            &city,
            pb::RemoveBackflowRuleRequest {
                enclave_id: city_enclave.id.clone(),
                rule_id: rule.id.clone(),
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .enclave
        .unwrap();
    assert!(removed.backflow_rules.is_empty());
    assert_eq!(
        t.provisioner.retired.lock().unwrap().clone(),
        [Uuid::parse_str(&rule.line_id).unwrap()]
    );
    // Removing again changes nothing more; another tenant cannot remove.
    let remove = pb::RemoveBackflowRuleRequest {
        enclave_id: city_enclave.id.clone(),
        rule_id: rule.id.clone(),
    };
    t.api
        .remove_backflow_rule(as_caller(&city, remove.clone()))
        .await
        .unwrap();
    assert_eq!(t.provisioner.retired.lock().unwrap().len(), 1);
    let status = t
        .api
        .remove_backflow_rule(as_caller(&caller(COUNTY), remove))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::NotFound);
    let events = t
        .count(
            "SELECT COUNT(*) FROM event_outbox WHERE event_type IN \
             ('exchange.enclave.backflow_rule_added', 'exchange.enclave.backflow_rule_removed')",
        )
        .await;
    assert_eq!(events, 2);
}

/// S4 in small: the city's own rows flow through its enclave source, the
/// rule's policy, and the county's enclave sink; the county sees its rows
/// only.
#[tokio::test]
async fn a_city_backflows_a_slice_to_its_county() {
    let t = TestEnclaves::postgres().await;
    let city = caller(CITY);
    let county = caller(COUNTY);
    let city_enclave = t.create_enclave(&city, "city").await;
    let county_enclave = t.create_enclave(&county, "county").await;
    t.create_people(&city, &city_enclave.id).await.unwrap();
    t.write(
        &city,
        &city_enclave.id,
        vec![
            person(1, "county", "331121"),
            person(2, "elsewhere", "331122"),
            person(3, "county too", "331121"),
        ],
        vec![],
    )
    .await
    .unwrap();
    t.api
        .add_backflow_rule(as_caller(
            &city,
            pb::AddBackflowRuleRequest {
                request_id: "to-county".into(),
                enclave_id: city_enclave.id.clone(),
                rule: Some(pb::BackflowRule {
                    source_table: "people".into(),
                    target_tenant: Some(tenant_message(COUNTY)),
                    target_enclave_id: county_enclave.id.clone(),
                    row_filter: Some(within("region_code", "331121")),
                    ..Default::default()
                }),
            },
        ))
        .await
        .unwrap();
    let line = t.provisioner.lines.lock().unwrap()[0].clone();
    let subscription = t.provisioner.subscriptions.lock().unwrap()[0].clone();
    let SourceSpec::Enclave(spec) = &line.source else {
        panic!("an enclave line");
    };
    assert!(
        t.enclaves
            .belongs_to(spec.enclave_id, &tenant(CITY))
            .await
            .unwrap()
    );
    assert!(
        !t.enclaves
            .belongs_to(spec.enclave_id, &tenant(COUNTY))
            .await
            .unwrap()
    );

    let mut source = t.enclaves.open_source(line.id, spec, 0).await.unwrap();
    let SourceEvent::Batch(batch) = source.next().await.unwrap() else {
        panic!("a batch");
    };
    let key = hash_key(b"test-masking-key", &subscription.id.to_string());
    let delivered: Vec<_> = batch
        .changes
        .iter()
        .filter_map(|change| match subscription.policy.apply(change, &key) {
            Projected::Deliver(change) => Some(change),
            Projected::FilteredOut => None,
        })
        .collect();
    t.enclaves
        .sink()
        .accept(&subscription, &delivered)
        .await
        .unwrap();

    let rows = t.all_rows(&county, &county_enclave.id, "people").await;
    assert_eq!(ids(&rows), [1, 3]);

    // Person 1 moves out of the county's slice, person 2 (never in it)
    // changes: the county loses 1 and never hears of 2.
    t.write(
        &city,
        &city_enclave.id,
        vec![person(1, "moved", "331122"), person(2, "renamed", "331122")],
        vec![],
    )
    .await
    .unwrap();
    let SourceEvent::Batch(batch) = source.next().await.unwrap() else {
        panic!("a batch");
    };
    assert_eq!(batch.changes.len(), 2);
    assert!(
        batch
            .changes
            .iter()
            .all(|c| c.operation == Operation::Update)
    );
    let delivered: Vec<_> = batch
        .changes
        .iter()
        .filter_map(|change| match subscription.policy.apply(change, &key) {
            Projected::Deliver(change) => Some(change),
            Projected::FilteredOut => None,
        })
        .collect();
    assert_eq!(delivered.len(), 1, "{delivered:?}");
    assert_eq!(delivered[0].operation, Operation::Delete);
    assert_eq!(delivered[0].key[0].value, Value::Int(1));
    t.enclaves
        .sink()
        .accept(&subscription, &delivered)
        .await
        .unwrap();
    assert_eq!(
        ids(&t.all_rows(&county, &county_enclave.id, "people").await),
        [3]
    );
    let status = t
        .query(&county, &city_enclave.id, "people", None, 10, "")
        .await
        .unwrap_err();
    assert_eq!(
        status.code(),
        Code::NotFound,
        "the county cannot read the city"
    );
    assert_eq!(t.refusals_audited(&city_enclave.id).await, 1);
    let _ = DeliveryPolicy::default();
}

#[tokio::test]
async fn the_embedded_mode_keeps_enclaves_in_prefixed_sqlite_tables() {
    let t = TestEnclaves::sqlite().await;
    assert!(!t.is_postgres());
    let city = caller(CITY);
    let enclave = t.create_enclave(&city, "city").await;
    t.create_people(&city, &enclave.id).await.unwrap();
    t.write(
        &city,
        &enclave.id,
        vec![person(2, "b", "331121"), person(1, "a", "331122")],
        vec![],
    )
    .await
    .unwrap();
    t.write(&city, &enclave.id, vec![], vec![key(2)])
        .await
        .unwrap();
    let rows = t.all_rows(&city, &enclave.id, "people").await;
    assert_eq!(ids(&rows), [1]);
    let income = rows[0].columns.iter().find(|c| c.name == "income").unwrap();
    assert_eq!(income.value, Some(PbValue::NumericValue("1000.50".into())));

    let subscription = enclave_subscription(CITY, &enclave.id, "");
    let sink = t.enclaves.sink();
    let batch = [
        resident_change(&subscription, 3, Operation::Insert, 7, "x"),
        resident_change(&subscription, 4, Operation::Delete, 7, ""),
    ];
    sink.accept(&subscription, &batch).await.unwrap();
    let again = sink.accept(&subscription, &batch).await.unwrap();
    assert!(again.iter().all(|a| !a.had_effect));
    assert!(t.all_rows(&city, &enclave.id, "residents").await.is_empty());
    let prefixed = t
        .count(&format!(
            "SELECT COUNT(*) FROM sqlite_master WHERE name = 'enclave_{}__people'",
            Uuid::parse_str(&enclave.id).unwrap().simple()
        ))
        .await;
    assert_eq!(prefixed, 1);

    let status = t
        .query(&caller(COUNTY), &enclave.id, "people", None, 10, "")
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::NotFound);
    assert_eq!(t.refusals_audited(&enclave.id).await, 1);
}

#[tokio::test]
async fn without_createrole_enclaves_say_how_to_proceed_and_work_without_roles() {
    let refused = TestEnclaves::plain_user(true).await;
    let status = refused
        .api
        .create_enclave(as_caller(
            &caller(CITY),
            pb::CreateEnclaveRequest {
                request_id: "r".into(),
                name: "city".into(),
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::FailedPrecondition, "{status:?}");
    assert!(
        status.message().contains("exchange.enclave_roles"),
        "{status:?}"
    );
    assert!(status.message().contains("CREATEROLE"), "{status:?}");
    assert_eq!(refused.count("SELECT COUNT(*) FROM enclaves").await, 0);
    assert_eq!(
        refused
            .count(
                "SELECT COUNT(*) FROM information_schema.schemata \
                 WHERE schema_name LIKE 'enclave\\_%'"
            )
            .await,
        0,
        "nothing half-made"
    );

    let t = TestEnclaves::plain_user(false).await;
    let city = caller(CITY);
    let enclave = t.create_enclave(&city, "city").await;
    t.create_people(&city, &enclave.id).await.unwrap();
    t.write(&city, &enclave.id, vec![person(1, "a", "331121")], vec![])
        .await
        .unwrap();
    assert_eq!(ids(&t.all_rows(&city, &enclave.id, "people").await), [1]);
    let status = t
        .query(&caller(OTHER_CITY), &enclave.id, "people", None, 10, "")
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::NotFound, "the API check still holds");
}

#[tokio::test]
async fn the_largest_write_and_a_full_batch_apply_in_one_transaction_each() {
    let t = TestEnclaves::postgres().await;
    let city = caller(CITY);
    let enclave = t.create_enclave(&city, "city").await;
    t.create_people(&city, &enclave.id).await.unwrap();
    let mut rows: Vec<_> = (1..=9_999)
        .map(|id| person(id, "first", "331121"))
        .collect();
    // The same key twice in one write: the later row wins.
    rows.push(person(1, "last", "331121"));
    let written = t.write(&city, &enclave.id, rows, vec![]).await.unwrap();
    assert_eq!(written.upserted_count, 10_000);
    let all = t.all_rows(&city, &enclave.id, "people").await;
    assert_eq!(all.len(), 9_999);
    assert_eq!(text_of(&all[0], "name").as_deref(), Some("last"));

    let subscription = enclave_subscription(CITY, &enclave.id, "");
    let batch: Vec<_> = (1..=5_000)
        .map(|id| resident_change(&subscription, 100 + id as u64, Operation::Insert, id, "r"))
        .collect();
    let sink = t.enclaves.sink();
    let accepted = sink.accept(&subscription, &batch).await.unwrap();
    assert!(accepted.iter().all(|a| a.had_effect));
    let again = sink.accept(&subscription, &batch).await.unwrap();
    assert!(again.iter().all(|a| !a.had_effect));
    assert_eq!(
        t.all_rows(&city, &enclave.id, "residents").await.len(),
        5_000
    );
    let mut counts: Vec<(String, i64)> = t
        .api
        .get_enclave(as_caller(
            &city,
            pb::GetEnclaveRequest {
                id: enclave.id.clone(),
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .enclave
        .unwrap()
        .tables
        .into_iter()
        .map(|table| (table.name, table.row_count))
        .collect();
    counts.sort();
    assert_eq!(
        counts,
        [
            ("people".to_string(), 9_999),
            ("residents".to_string(), 5_000)
        ]
    );
    // Every applied change is in the log once, for onward backflow.
    assert_eq!(
        t.count(&format!(
            "SELECT COUNT(*) FROM enclave_changes WHERE enclave_id = '{}' AND table_name = 'residents'",
            enclave.id
        ))
        .await,
        5_000
    );
}

#[tokio::test]
async fn composite_keys_order_page_and_guard_received_rows() {
    let t = TestEnclaves::postgres().await;
    let county = caller(COUNTY);
    let enclave = t.create_enclave(&county, "county").await;
    let subscription = enclave_subscription(COUNTY, &enclave.id, "households");
    let household = |position: u64, operation: Operation, region: &str, no: i64, head: &str| {
        let mut change = resident_change(&subscription, position, operation, no, head);
        change.key = vec![
            Column::new("region", Value::Text(region.into())),
            Column::new("no", Value::Int(no)),
        ];
        change.after = vec![
            Column::new("region", Value::Text(region.into())),
            Column::new("no", Value::Int(no)),
            Column::new("head", Value::Text(head.into())),
        ];
        change
    };
    let sink = t.enclaves.sink();
    sink.accept(
        &subscription,
        &[
            household(1, Operation::Insert, "331121", 2, "b"),
            household(2, Operation::Insert, "331121", 1, "a"),
            household(3, Operation::Insert, "331122", 1, "c"),
        ],
    )
    .await
    .unwrap();
    let updates = [
        household(4, Operation::Update, "331121", 1, "a2"),
        household(5, Operation::Update, "331122", 1, "c2"),
    ];
    assert!(
        sink.accept(&subscription, &updates)
            .await
            .unwrap()
            .iter()
            .all(|a| a.had_effect)
    );
    assert!(
        sink.accept(&subscription, &updates)
            .await
            .unwrap()
            .iter()
            .all(|a| !a.had_effect)
    );

    let first = t
        .query(&county, &enclave.id, "households", None, 2, "")
        .await
        .unwrap();
    let heads: Vec<_> = first
        .rows
        .iter()
        .map(|r| text_of(r, "head").unwrap())
        .collect();
    assert_eq!(heads, ["a2", "b"]);
    let rest = t
        .query(
            &county,
            &enclave.id,
            "households",
            None,
            2,
            &first.page.unwrap().next_page_token,
        )
        .await
        .unwrap();
    let heads: Vec<_> = rest
        .rows
        .iter()
        .map(|r| text_of(r, "head").unwrap())
        .collect();
    assert_eq!(heads, ["c2"]);

    let spec = EnclaveSourceSpec {
        enclave_id: Uuid::parse_str(&enclave.id).unwrap(),
        tables: vec!["households".into()],
    };
    let mut source = t
        .enclaves
        .open_source(Uuid::new_v4(), &spec, 0)
        .await
        .unwrap();
    let SourceEvent::Batch(batch) = source.next().await.unwrap() else {
        panic!("a batch");
    };
    assert_eq!(batch.changes.len(), 5, "redelivery logged nothing");
    let befores: Vec<usize> = batch.changes.iter().map(|c| c.before.len()).collect();
    assert_eq!(
        befores,
        [0, 0, 0, 3, 3],
        "updates carry the row they replaced"
    );
}
