//! Recording and sealing: records commit with the caller's transaction, seal
//! into one chain across batches and calls, and leave a copy in the outbox.

use std::time::Duration;

use sea_orm::TransactionTrait;
use tokio_util::sync::CancellationToken;
use zhongtai_audit::{CHAIN_SEALED, RECORD_APPENDED, append, verify};
use zhongtai_contracts::events::v1::{AuditOutcome, ChainSealed, RecordAppended};
use zhongtai_events::EnvelopeExt;

use crate::support::{
    SOURCE, TestDb, append_records, execute, on_both_databases, outbox_events, query_i64, record,
    sealer,
};

on_both_databases!(
    appended_records_seal_into_an_intact_chain,
    rolled_back_transaction_leaves_no_record,
    pending_records_are_reported_as_pending,
    running_sealer_seals_when_poked_and_at_shutdown,
);

async fn appended_records_seal_into_an_intact_chain(test: &TestDb) {
    let db = &test.db;
    execute(db, "CREATE TABLE permits (name TEXT NOT NULL)").await;
    let mut records = append_records(db, 0, 4).await;

    // Three records commit together with another state change.
    let txn = db.begin().await.expect("transaction begins");
    execute(&txn, "INSERT INTO permits (name) VALUES ('granted')").await;
    for n in 4..7 {
        let record = record(n);
        append(&txn, SOURCE, &record)
            .await
            .expect("record is appended in the transaction");
        records.push(record);
    }
    txn.commit().await.expect("transaction commits");
    records.extend(append_records(db, 7, 3).await);

    let sealer = sealer(db);
    assert_eq!(sealer.seal_pending().await.expect("sealing works"), 10);
    assert_eq!(sealer.seal_pending().await.expect("sealing works"), 0);

    let report = verify(db).await.expect("verification runs");
    assert!(report.is_intact(), "{report}");
    assert_eq!((report.sealed, report.pending), (10, 0));
    let head = report.head.clone().expect("a chain head exists");
    assert_eq!(head.sequence, 10);
    assert!(
        report
            .to_string()
            .starts_with("audit chain intact: 10 sealed, 0 pending"),
        "{report}"
    );
    assert_eq!(query_i64(db, "SELECT COUNT(*) FROM permits").await, 1);
    // Sealed in insertion order.
    for (index, record) in records.iter().enumerate() {
        let sql = format!(
            "SELECT seq FROM audit_log WHERE trace_id = '{}'",
            record.trace_id
        );
        assert_eq!(
            query_i64(db, &sql).await,
            index as i64 + 1,
            "{}",
            record.actor
        );
    }

    let events = outbox_events(db).await;
    let appended: Vec<_> = events
        .iter()
        .filter(|event| event.r#type == RECORD_APPENDED)
        .collect();
    assert_eq!(appended.len(), 10);
    for (event, record) in appended.iter().zip(&records) {
        assert_eq!(event.source, SOURCE);
        assert_eq!(event.tenant, record.tenant);
        assert_eq!(event.subject, record.id.to_string());
        let payload: RecordAppended = event.decode_payload().expect("RecordAppended payload");
        assert_eq!(payload.id, record.id.to_string());
        assert_eq!(payload.actor, record.actor);
        assert_eq!(payload.action, record.action);
        assert_eq!(payload.target, record.target);
        assert_eq!(payload.reason, record.reason);
        assert_eq!(payload.trace_id, record.trace_id);
        assert_eq!(payload.peer, record.peer);
        let expected_outcome = match record.outcome {
            zhongtai_audit::Outcome::Allowed => AuditOutcome::Allowed,
            zhongtai_audit::Outcome::Denied => AuditOutcome::Denied,
            zhongtai_audit::Outcome::Failed => AuditOutcome::Failed,
        };
        assert_eq!(payload.outcome(), expected_outcome);
        let time = payload.time.expect("time is set");
        assert_eq!(time.seconds, record.at.timestamp());
        assert_eq!(
            u32::try_from(time.nanos).ok(),
            Some(record.at.timestamp_subsec_nanos())
        );
    }

    let seals: Vec<ChainSealed> = events
        .iter()
        .filter(|event| event.r#type == CHAIN_SEALED)
        .map(|event| {
            assert_eq!(event.subject, SOURCE);
            event.decode_payload().expect("ChainSealed payload")
        })
        .collect();
    // Batches of four: 4 + 4 + 2.
    assert_eq!(
        seals.iter().map(|seal| seal.sealed).collect::<Vec<_>>(),
        [4, 4, 2]
    );
    let last_seal = seals.last().expect("at least one seal");
    assert_eq!(last_seal.head_sequence, head.sequence);
    assert_eq!(last_seal.head_hash, head.hash);
}

async fn rolled_back_transaction_leaves_no_record(test: &TestDb) {
    let db = &test.db;
    execute(db, "CREATE TABLE permits (name TEXT NOT NULL)").await;
    let txn = db.begin().await.expect("transaction begins");
    execute(&txn, "INSERT INTO permits (name) VALUES ('granted')").await;
    append(&txn, SOURCE, &record(0))
        .await
        .expect("record is appended in the transaction");
    txn.rollback().await.expect("transaction rolls back");

    assert_eq!(sealer(db).seal_pending().await.expect("sealing works"), 0);
    let report = verify(db).await.expect("verification runs");
    assert!(report.is_intact(), "{report}");
    assert_eq!(
        (report.sealed, report.pending, report.head.clone()),
        (0, 0, None)
    );
    assert_eq!(
        report.to_string(),
        "audit chain intact: 0 sealed, 0 pending, nothing sealed yet"
    );
    assert!(outbox_events(db).await.is_empty());
    assert_eq!(query_i64(db, "SELECT COUNT(*) FROM permits").await, 0);
}

async fn pending_records_are_reported_as_pending(test: &TestDb) {
    let db = &test.db;
    append_records(db, 0, 3).await;
    let sealer = sealer(db);
    assert_eq!(sealer.seal_pending().await.expect("sealing works"), 3);
    append_records(db, 3, 2).await;

    let report = verify(db).await.expect("verification runs");
    assert!(report.is_intact(), "{report}");
    assert_eq!((report.sealed, report.pending), (3, 2));
    assert_eq!(report.head.as_ref().map(|head| head.sequence), Some(3));

    // The next seal continues the same chain.
    assert_eq!(sealer.seal_pending().await.expect("sealing works"), 2);
    let report = verify(db).await.expect("verification runs");
    assert!(report.is_intact(), "{report}");
    assert_eq!((report.sealed, report.pending), (5, 0));
    assert_eq!(report.head.map(|head| head.sequence), Some(5));
}

async fn running_sealer_seals_when_poked_and_at_shutdown(test: &TestDb) {
    let db = &test.db;
    // A poll interval far beyond the test: only pokes and shutdown seal.
    let sealer = zhongtai_audit::Sealer::new(
        db.clone(),
        SOURCE,
        zhongtai_audit::SealerConfig {
            batch_size: 4,
            poll_interval: Duration::from_secs(3600),
        },
    );
    let notifier = sealer.notifier();
    let shutdown = CancellationToken::new();
    let task = tokio::spawn(sealer.run(shutdown.clone()));

    append_records(db, 0, 3).await;
    notifier.notify_one();
    zhongtai_testkit::eventually(Duration::from_secs(30), "three records sealed", || async {
        let report = verify(db).await.expect("verification runs");
        (report.sealed == 3).then_some(())
    })
    .await;

    append_records(db, 3, 2).await;
    shutdown.cancel();
    tokio::time::timeout(Duration::from_secs(30), task)
        .await
        .expect("sealer stops when cancelled")
        .expect("sealer task does not panic");
    let report = verify(db).await.expect("verification runs");
    assert!(report.is_intact(), "{report}");
    assert_eq!((report.sealed, report.pending), (5, 0));
}
