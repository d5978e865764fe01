//! Log capture against a real PostgreSQL with logical replication: the
//! initial snapshot, streamed changes in commit order, resuming after a
//! confirmed position, and the source problems a line must name.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::time::Duration;

use chrono::{DateTime, Utc};
use sea_orm::ConnectionTrait;
use uuid::Uuid;
use zhongtai_exchange::domain::change::column;
use zhongtai_exchange::domain::line::default_source_object_name;
use zhongtai_exchange::domain::{
    Change, Column, FlowError, Operation, SnapshotState, SourceEvent, Value,
};

use crate::support::capture::{
    Department, EVENT_TIMEOUT, capture_with_url, next_batch, next_changes, next_event, resume, spec,
};

fn key_of(change: &Change) -> i64 {
    match change.key.as_slice() {
        [
            Column {
                value: Value::Int(id),
                ..
            },
        ] => *id,
        other => panic!("unexpected key {other:?}"),
    }
}

fn at(text: &str) -> Value {
    Value::Timestamp(
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .with_timezone(&Utc),
    )
}

#[tokio::test]
async fn snapshot_then_streamed_changes_in_commit_order() {
    let dept = Department::create().await;
    dept.exec(
        "CREATE TABLE marriage (id int PRIMARY KEY, name text, fee numeric(8,2), \
         registered date, at timestamptz, local timestamp, extra jsonb, ok bool, photo bytea, \
         score float8);
         INSERT INTO marriage VALUES \
         (1, 'Li Lei', 12.50, '2024-02-29', '2024-05-01 08:00:00+08', '2024-05-01 08:00:00', \
          '{\"a\": 1}', true, '\\x00ff', 1.5), \
         (2, 'Han Meimei', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL);",
    )
    .await;
    let line = Uuid::new_v4();
    let mut source = dept
        .open(line, &spec(&["marriage"], true), resume(0))
        .await
        .unwrap();

    let mut snapshot_rows = Vec::new();
    let completed = loop {
        match next_event(&mut source).await {
            SourceEvent::Batch(batch) => {
                assert_eq!(
                    batch.confirm_position, 0,
                    "nothing confirms during a snapshot"
                );
                snapshot_rows.extend(batch.changes);
            }
            SourceEvent::SnapshotCompleted(progress) => break progress,
            SourceEvent::Progress(progress) => assert_eq!(progress.state, SnapshotState::Running),
            SourceEvent::Heartbeat { .. } => panic!("heartbeat during the snapshot"),
        }
    };
    assert_eq!(completed.state, SnapshotState::Completed);
    assert_eq!(completed.rows_done, 2);
    assert!(completed.tables[0].completed);
    assert_eq!(snapshot_rows.len(), 2);
    let consistent = snapshot_rows[0].position;
    assert_eq!(
        source.position_text(consistent),
        completed.consistent_position
    );
    assert!(
        snapshot_rows
            .iter()
            .all(|c| c.operation == Operation::Snapshot
                && c.position == consistent
                && c.table == "public.marriage")
    );
    assert_eq!(
        snapshot_rows.iter().map(|c| c.index).collect::<Vec<_>>(),
        [0, 1]
    );
    let first = snapshot_rows.iter().find(|c| key_of(c) == 1).unwrap();
    let value = |name: &str| column(&first.after, name).cloned().unwrap();
    assert_eq!(value("name"), Value::Text("Li Lei".into()));
    assert_eq!(value("fee"), Value::Numeric("12.50".into()));
    assert_eq!(value("registered"), Value::Date("2024-02-29".into()));
    assert_eq!(value("at"), at("2024-05-01T00:00:00Z"));
    assert_eq!(value("local"), at("2024-05-01T08:00:00Z"));
    assert_eq!(value("extra"), Value::Json("{\"a\": 1}".into()));
    assert_eq!(value("ok"), Value::Bool(true));
    assert_eq!(value("photo"), Value::Bytes(vec![0, 255]));
    assert_eq!(value("score"), Value::Double(1.5));
    let second = snapshot_rows.iter().find(|c| key_of(c) == 2).unwrap();
    assert_eq!(column(&second.after, "fee"), Some(&Value::Null));

    dept.exec("INSERT INTO marriage (id, name) VALUES (3, 'Wang Fang')")
        .await;
    dept.exec(
        "BEGIN; UPDATE marriage SET name = 'Li Lei (renamed)' WHERE id = 1; \
         DELETE FROM marriage WHERE id = 2; COMMIT;",
    )
    .await;

    // Two transactions: they may arrive as one batch or two.
    let changes = next_changes(&mut source, 3).await;
    let change = &changes[0];
    assert_eq!(change.operation, Operation::Insert);
    assert_eq!(key_of(change), 3);
    assert!(change.position > consistent);
    assert_eq!(
        column(&change.after, "name"),
        Some(&Value::Text("Wang Fang".into()))
    );
    assert!(change.hops.commit.is_some() && change.hops.capture.is_some());
    assert!(change.transaction_id.is_some());

    let both = &changes[1..];
    let operations: Vec<(Operation, i64, u32)> = both
        .iter()
        .map(|c| (c.operation, key_of(c), c.index))
        .collect();
    assert_eq!(
        operations,
        [(Operation::Update, 1, 0), (Operation::Delete, 2, 1)]
    );
    let second_end = both[0].position;
    assert!(second_end > change.position, "each transaction at its end");
    assert!(both.iter().all(|c| c.position == second_end));
    assert_eq!(
        column(&both[0].after, "name"),
        Some(&Value::Text("Li Lei (renamed)".into()))
    );
    assert_eq!(both[1].before, [Column::new("id", Value::Int(2))]);
    assert!(both[1].after.is_empty());

    source.confirm(second_end).await.unwrap();
    // Idle: heartbeats at or beyond what was handed out.
    let heartbeat = loop {
        if let SourceEvent::Heartbeat { position, .. } = next_event(&mut source).await {
            break position;
        }
    };
    assert!(heartbeat >= second_end);
    source.close().await;
}

#[tokio::test]
async fn snapshot_of_100k_rows_while_inserts_continue_sees_every_key_once() {
    let dept = Department::create().await;
    dept.exec(
        "CREATE TABLE registry (id bigint PRIMARY KEY, name text NOT NULL);
         INSERT INTO registry SELECT g, 'person ' || g FROM generate_series(1, 100000) g;",
    )
    .await;
    let stop = Arc::new(AtomicBool::new(false));
    let last_inserted = Arc::new(AtomicI64::new(100_000));
    let inserter = {
        let sql = sea_orm::Database::connect(dept.database.url())
            .await
            .unwrap();
        let (stop, last) = (stop.clone(), last_inserted.clone());
        tokio::spawn(async move {
            use sea_orm::ConnectionTrait;
            let mut id = 100_000i64;
            while !stop.load(Ordering::SeqCst) {
                let batch: Vec<String> = (id + 1..=id + 10)
                    .map(|i| format!("({i}, 'person {i}')"))
                    .collect();
                sql.execute_unprepared(&format!(
                    "INSERT INTO registry VALUES {}",
                    batch.join(", ")
                ))
                .await
                .unwrap();
                id += 10;
                last.store(id, Ordering::SeqCst);
            }
        })
    };
    // Let inserts run before and during the snapshot.
    tokio::time::sleep(Duration::from_millis(200)).await;

    let line = Uuid::new_v4();
    let mut source = dept
        .open(line, &spec(&["registry"], true), resume(0))
        .await
        .unwrap();
    let mut seen: BTreeMap<i64, u32> = BTreeMap::new();
    let mut progress_events = 0;
    let mut snapshot_done = false;
    let mut last_position = 0;
    let deadline = std::time::Instant::now() + Duration::from_secs(50);
    loop {
        assert!(
            std::time::Instant::now() < deadline,
            "only {} keys arrived",
            seen.len()
        );
        let event = next_event(&mut source).await;
        match event {
            SourceEvent::Batch(batch) => {
                for change in &batch.changes {
                    assert!(change.position >= last_position, "positions go back");
                    last_position = change.position;
                    if snapshot_done {
                        assert_eq!(change.operation, Operation::Insert);
                    } else {
                        assert_eq!(change.operation, Operation::Snapshot);
                    }
                    *seen.entry(key_of(change)).or_default() += 1;
                }
                if batch.confirm_position > 0 {
                    source.confirm(batch.confirm_position).await.unwrap();
                }
            }
            SourceEvent::Progress(_) => progress_events += 1,
            SourceEvent::SnapshotCompleted(progress) => {
                assert!(progress.rows_done >= 100_000);
                snapshot_done = true;
                // Inserts keep coming a little after the snapshot, then stop.
                tokio::time::sleep(Duration::from_millis(300)).await;
                stop.store(true, Ordering::SeqCst);
            }
            SourceEvent::Heartbeat { .. } => {}
        }
        if snapshot_done && inserter.is_finished() {
            let last = last_inserted.load(Ordering::SeqCst);
            if seen.len() as i64 >= last {
                break;
            }
        }
    }
    inserter.await.unwrap();
    let last = last_inserted.load(Ordering::SeqCst);
    assert!(last > 100_000, "inserts ran during the snapshot");
    let doubled: Vec<_> = seen.iter().filter(|(_, n)| **n > 1).take(5).collect();
    assert!(doubled.is_empty(), "keys seen twice: {doubled:?}");
    assert_eq!(seen.len() as i64, last, "every key exactly once");
    assert_eq!(seen.keys().next(), Some(&1));
    assert_eq!(seen.keys().last(), Some(&last));
    assert!(progress_events >= 1, "progress was reported");
    source.close().await;
}

#[tokio::test]
async fn reopening_resumes_after_the_confirmed_position() {
    let dept = Department::create().await;
    dept.exec("CREATE TABLE permits (id int PRIMARY KEY, holder text)")
        .await;
    let line = Uuid::new_v4();
    let line_spec = spec(&["permits"], false);
    let mut source = dept.open(line, &line_spec, resume(0)).await.unwrap();
    for id in 1..=3 {
        dept.exec(&format!("INSERT INTO permits VALUES ({id}, 'holder {id}')"))
            .await;
    }
    let changes = next_changes(&mut source, 3).await;
    let keys: Vec<i64> = changes.iter().map(key_of).collect();
    assert_eq!(keys, [1, 2, 3]);
    // Only the first two are durably downstream.
    source.confirm(changes[1].position).await.unwrap();
    source.close().await;

    let mut reopened = dept
        .open(line, &line_spec, resume(changes[1].position))
        .await
        .unwrap();
    let again = next_batch(&mut reopened).await;
    assert_eq!(
        again.changes.iter().map(key_of).collect::<Vec<_>>(),
        [3],
        "the unconfirmed change comes again, alone"
    );
    assert_eq!(again.confirm_position, changes[2].position);
    assert_eq!(again.changes[0].change_id(), changes[2].change_id());
    dept.exec("INSERT INTO permits VALUES (4, 'holder 4')")
        .await;
    let next = next_batch(&mut reopened).await;
    assert_eq!(key_of(&next.changes[0]), 4);
    reopened.close().await;
}

#[tokio::test]
async fn transactions_waiting_at_the_source_share_batches_in_order() {
    let dept = Department::create().await;
    dept.exec("CREATE TABLE stamps (id int PRIMARY KEY)").await;
    let mut source = dept
        .open(Uuid::new_v4(), &spec(&["stamps"], false), resume(0))
        .await
        .unwrap();
    for id in 1..=50 {
        dept.exec(&format!("INSERT INTO stamps VALUES ({id})"))
            .await;
    }
    // All fifty are on their way before the first is read.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut batches = Vec::new();
    let mut keys = Vec::new();
    while keys.len() < 50 {
        let batch = next_batch(&mut source).await;
        keys.extend(batch.changes.iter().map(key_of));
        let last = batch.changes.last().map(|c| c.position);
        assert_eq!(
            Some(batch.confirm_position),
            last,
            "confirmed at its last transaction"
        );
        batches.push(batch);
    }
    assert_eq!(keys, (1..=50).collect::<Vec<i64>>());
    assert!(
        batches.len() < 10,
        "{} batches for 50 waiting transactions",
        batches.len()
    );
    source.close().await;
}

#[tokio::test]
async fn a_large_transaction_arrives_in_batches_confirmed_at_the_last() {
    let dept = Department::create().await;
    dept.exec("CREATE TABLE bulk (id int PRIMARY KEY)").await;
    let mut source = dept
        .open(Uuid::new_v4(), &spec(&["bulk"], false), {
            let mut r = resume(0);
            r.batch_max_changes = 40;
            r
        })
        .await
        .unwrap();
    dept.exec("INSERT INTO bulk SELECT generate_series(1, 100)")
        .await;
    let mut sizes = Vec::new();
    let mut confirms = Vec::new();
    let mut keys = Vec::new();
    while keys.len() < 100 {
        let batch = next_batch(&mut source).await;
        sizes.push(batch.changes.len());
        confirms.push(batch.confirm_position);
        keys.extend(batch.changes.iter().map(|c| (c.index, key_of(c))));
    }
    assert_eq!(sizes, [40, 40, 20]);
    assert_eq!(confirms[..2], [0, 0]);
    assert!(confirms[2] > 0);
    assert_eq!(
        keys,
        (0..100)
            .map(|i| (i as u32, i64::from(i) + 1))
            .collect::<Vec<_>>()
    );
    source.close().await;
}

#[tokio::test]
async fn a_table_without_a_primary_key_is_refused_by_name() {
    let dept = Department::create().await;
    dept.exec("CREATE TABLE loose (a int, b text)").await;
    let error = dept
        .open(Uuid::new_v4(), &spec(&["loose"], true), resume(0))
        .await
        .err()
        .unwrap();
    assert!(error.is_permanent());
    assert!(
        error
            .to_string()
            .contains("table public.loose has no primary key"),
        "{error}"
    );
    let missing = dept
        .open(Uuid::new_v4(), &spec(&["nowhere"], true), resume(0))
        .await
        .err()
        .unwrap();
    assert!(missing.is_permanent());
    assert!(missing.to_string().contains("public.nowhere"), "{missing}");

    // Configured key columns are accepted once deletes carry them.
    dept.exec("ALTER TABLE loose REPLICA IDENTITY FULL").await;
    let mut keyed = spec(&["loose"], false);
    keyed.tables[0].key_columns = vec!["a".into()];
    let mut source = dept.open(Uuid::new_v4(), &keyed, resume(0)).await.unwrap();
    dept.exec("INSERT INTO loose VALUES (5, 'x')").await;
    dept.exec("DELETE FROM loose WHERE a = 5").await;
    let [insert, delete] = <[Change; 2]>::try_from(next_changes(&mut source, 2).await)
        .expect("exactly the insert and the delete");
    assert_eq!(key_of(&insert), 5);
    assert_eq!(delete.operation, Operation::Delete);
    assert_eq!(key_of(&delete), 5);
    assert_eq!(column(&delete.before, "b"), Some(&Value::Text("x".into())));
    source.close().await;
}

#[tokio::test]
async fn an_unreachable_source_is_transient_and_an_unknown_one_permanent() {
    let port = zhongtai_testkit::free_port();
    let capture = capture_with_url(&format!("postgres://postgres@127.0.0.1:{port}/nowhere"));
    let error = capture
        .open(Uuid::new_v4(), &spec(&["t"], true), resume(0))
        .await
        .err()
        .unwrap();
    assert!(matches!(error, FlowError::Transient(_)), "{error}");
    assert!(
        error.to_string().contains(&format!("127.0.0.1:{port}")),
        "{error}"
    );

    let mut unknown = spec(&["t"], true);
    unknown.connection_ref = "civil-affairs".into();
    let error = capture
        .open(Uuid::new_v4(), &unknown, resume(0))
        .await
        .err()
        .unwrap();
    assert_eq!(
        error,
        FlowError::Permanent(
            "source connection \"civil-affairs\" is not configured \
             (set ZHONGTAI_EXCHANGE__SOURCES__CIVIL_AFFAIRS)"
                .into()
        )
    );
}

#[tokio::test]
async fn a_dropped_slot_stops_the_stream_and_fails_the_reopen() {
    let dept = Department::create().await;
    dept.exec("CREATE TABLE certs (id int PRIMARY KEY)").await;
    let line = Uuid::new_v4();
    let line_spec = spec(&["certs"], false);
    let slot = default_source_object_name(line);
    let mut source = dept.open(line, &line_spec, resume(0)).await.unwrap();
    dept.exec("INSERT INTO certs VALUES (1)").await;
    let batch = next_batch(&mut source).await;
    source.confirm(batch.confirm_position).await.unwrap();

    // An administrator ends the reader and drops the slot.
    dept.exec(&format!(
        "SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots WHERE slot_name = '{slot}'"
    ))
    .await;
    let stopped = tokio::time::timeout(EVENT_TIMEOUT, async {
        loop {
            match source.next().await {
                Ok(_) => continue,
                Err(error) => break error,
            }
        }
    })
    .await
    .unwrap();
    assert!(matches!(stopped, FlowError::Transient(_)), "{stopped}");
    zhongtai_testkit::eventually(
        Duration::from_secs(10),
        "the slot to be dropped",
        || async {
            dept.sql
                .execute_unprepared(&format!("SELECT pg_drop_replication_slot('{slot}')"))
                .await
                .ok()
        },
    )
    .await;

    let error = dept
        .open(line, &line_spec, resume(batch.confirm_position))
        .await
        .err()
        .unwrap();
    assert!(error.is_permanent(), "{error}");
    let reason = error.to_string();
    assert!(
        reason.contains(&slot) && reason.contains("was dropped"),
        "{reason}"
    );
    assert!(
        reason.contains(&source.position_text(batch.confirm_position)),
        "{reason}"
    );
}

#[tokio::test]
async fn a_column_added_mid_stream_appears_in_later_changes() {
    let dept = Department::create().await;
    dept.exec("CREATE TABLE residents (id int PRIMARY KEY, name text)")
        .await;
    let mut source = dept
        .open(Uuid::new_v4(), &spec(&["residents"], false), resume(0))
        .await
        .unwrap();
    dept.exec("INSERT INTO residents VALUES (1, 'a')").await;
    let before = next_batch(&mut source).await;
    assert_eq!(before.changes[0].after.len(), 2);

    dept.exec(
        "ALTER TABLE residents ADD COLUMN district text; \
         INSERT INTO residents VALUES (2, 'b', 'Lishui');",
    )
    .await;
    let after = next_batch(&mut source).await;
    assert_eq!(key_of(&after.changes[0]), 2);
    assert_eq!(
        column(&after.changes[0].after, "district"),
        Some(&Value::Text("Lishui".into()))
    );
    source.close().await;
}

#[tokio::test]
async fn dropping_source_objects_removes_the_lines_slot_and_publication() {
    let dept = Department::create().await;
    dept.exec("CREATE TABLE gone (id int PRIMARY KEY)").await;
    let line = Uuid::new_v4();
    let line_spec = spec(&["gone"], false);
    let name = default_source_object_name(line);
    let mut source = dept.open(line, &line_spec, resume(0)).await.unwrap();
    assert!(dept.slot_exists(&name).await);
    assert!(dept.publication_exists(&name).await);
    // Even while a reader still holds the slot.
    dept.capture
        .drop_source_objects(line, &line_spec)
        .await
        .unwrap();
    assert!(!dept.slot_exists(&name).await);
    assert!(!dept.publication_exists(&name).await);
    source.close().await;
}

#[tokio::test]
async fn a_second_reader_of_a_slot_is_told_to_wait() {
    let dept = Department::create().await;
    dept.exec("CREATE TABLE visits (id int PRIMARY KEY)").await;
    let line = Uuid::new_v4();
    let line_spec = spec(&["visits"], false);
    let mut first = dept.open(line, &line_spec, resume(0)).await.unwrap();
    let error = dept
        .capture
        .open(line, &line_spec, resume(0))
        .await
        .err()
        .unwrap();
    assert!(matches!(error, FlowError::Transient(_)), "{error}");
    assert!(
        error.to_string().contains("in use by another reader"),
        "{error}"
    );
    // The first reader is unaffected.
    dept.exec("INSERT INTO visits VALUES (1)").await;
    assert_eq!(key_of(&next_batch(&mut first).await.changes[0]), 1);
    first.close().await;
}

#[tokio::test]
async fn an_interrupted_snapshot_starts_again_on_a_new_slot() {
    let dept = Department::create().await;
    dept.exec(
        "CREATE TABLE licences (id int PRIMARY KEY, holder text);
         INSERT INTO licences SELECT g, 'h' || g FROM generate_series(1, 3000) g;",
    )
    .await;
    let line = Uuid::new_v4();
    let line_spec = spec(&["licences"], true);
    let mut source = dept.open(line, &line_spec, resume(0)).await.unwrap();
    let partial = next_batch(&mut source).await;
    assert_eq!(partial.changes.len(), 1000);
    let first_consistent = partial.changes[0].position;
    source.close().await;

    // The line recorded a running snapshot and nothing confirmed.
    let mut interrupted = resume(0);
    interrupted.snapshot.state = SnapshotState::Running;
    dept.exec("INSERT INTO licences VALUES (3001, 'late')")
        .await;
    let mut source = dept.open(line, &line_spec, interrupted).await.unwrap();
    let mut keys = Vec::new();
    let completed = loop {
        match next_event(&mut source).await {
            SourceEvent::Batch(batch) => {
                assert!(
                    batch
                        .changes
                        .iter()
                        .all(|c| c.operation == Operation::Snapshot)
                );
                keys.extend(batch.changes.iter().map(key_of));
            }
            SourceEvent::SnapshotCompleted(progress) => break progress,
            _ => {}
        }
    };
    keys.sort_unstable();
    assert_eq!(keys, (1..=3001).collect::<Vec<i64>>());
    assert_eq!(completed.rows_done, 3001);
    assert_ne!(
        completed.consistent_position,
        source.position_text(first_consistent),
        "a new slot, with its own consistent point"
    );
    dept.exec("INSERT INTO licences VALUES (3002, 'streamed')")
        .await;
    let streamed = next_batch(&mut source).await;
    assert_eq!(key_of(&streamed.changes[0]), 3002);
    source.close().await;
}

async fn lsn_of(dept: &Department, sql: &str) -> u64 {
    let row = dept
        .sql
        .query_one_raw(sea_orm::Statement::from_string(
            sea_orm::DatabaseBackend::Postgres,
            sql.to_owned(),
        ))
        .await
        .unwrap()
        .unwrap();
    let text: String = row.try_get_by_index(0).unwrap();
    zhongtai_exchange::domain::change::parse_lsn(&text).unwrap()
}

#[tokio::test]
async fn heartbeats_move_an_idle_or_filtered_slot_forward() {
    let dept = Department::create().await;
    dept.exec(
        "CREATE TABLE captured (id int PRIMARY KEY);
         CREATE TABLE elsewhere (id int PRIMARY KEY);",
    )
    .await;
    let line = Uuid::new_v4();
    let slot = default_source_object_name(line);
    let mut source = dept
        .open(line, &spec(&["captured"], false), resume(0))
        .await
        .unwrap();
    // Changes the line does not carry still produce log the slot holds.
    dept.exec("INSERT INTO elsewhere SELECT generate_series(1, 1000)")
        .await;
    let written = lsn_of(&dept, "SELECT pg_current_wal_flush_lsn()::text").await;

    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let heartbeat = loop {
        assert!(
            std::time::Instant::now() < deadline,
            "no heartbeat past {written:#x}"
        );
        match next_event(&mut source).await {
            SourceEvent::Heartbeat { position, .. } if position >= written => break position,
            SourceEvent::Heartbeat { .. } => {}
            other => panic!("nothing of elsewhere is carried, got {other:?}"),
        }
    };
    source.confirm(heartbeat).await.unwrap();
    let slot_query = format!(
        "SELECT confirmed_flush_lsn::text FROM pg_replication_slots WHERE slot_name = '{slot}'"
    );
    // The server takes the confirmation as the reader goes on reading.
    let confirmed = tokio::time::timeout(EVENT_TIMEOUT, async {
        loop {
            let _ = source.next().await.unwrap();
            let confirmed = lsn_of(&dept, &slot_query).await;
            if confirmed >= heartbeat {
                break confirmed;
            }
        }
    })
    .await
    .expect("the slot's confirmed position did not move");
    assert!(confirmed >= written);
    source.close().await;
}

#[tokio::test]
async fn truncating_a_captured_table_fails_the_line_by_name() {
    let dept = Department::create().await;
    dept.exec("CREATE TABLE ledger (id int PRIMARY KEY)").await;
    let mut source = dept
        .open(Uuid::new_v4(), &spec(&["ledger"], false), resume(0))
        .await
        .unwrap();
    dept.exec("INSERT INTO ledger VALUES (1)").await;
    next_batch(&mut source).await;
    dept.exec("TRUNCATE ledger").await;
    let error = tokio::time::timeout(EVENT_TIMEOUT, async {
        loop {
            if let Err(error) = source.next().await {
                break error;
            }
        }
    })
    .await
    .expect("the truncate was not noticed");
    assert!(error.is_permanent(), "{error}");
    assert!(
        error.to_string().contains("TRUNCATE of public.ledger"),
        "{error}"
    );
    source.close().await;
}

#[tokio::test]
async fn a_partitioned_table_is_captured_under_its_own_name() {
    let dept = Department::create().await;
    dept.exec(
        "CREATE TABLE households (id int, district text, PRIMARY KEY (id, district)) \
         PARTITION BY LIST (district);
         CREATE TABLE households_lishui PARTITION OF households FOR VALUES IN ('lishui');
         CREATE TABLE households_other PARTITION OF households DEFAULT;
         INSERT INTO households VALUES (1, 'lishui');",
    )
    .await;
    let mut source = dept
        .open(Uuid::new_v4(), &spec(&["households"], true), resume(0))
        .await
        .unwrap();
    let snapshot = next_batch(&mut source).await;
    assert_eq!(snapshot.changes.len(), 1);
    assert_eq!(snapshot.changes[0].table, "public.households");
    dept.exec("INSERT INTO households VALUES (2, 'jinyun')")
        .await;
    let streamed = next_batch(&mut source).await;
    let change = &streamed.changes[0];
    assert_eq!(change.table, "public.households");
    assert_eq!(
        change.key,
        [
            Column::new("id", Value::Int(2)),
            Column::new("district", Value::Text("jinyun".into()))
        ]
    );
    source.close().await;
}
