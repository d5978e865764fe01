//! Many writers and two sealers on one database: every record is sealed
//! exactly once and the chain stays contiguous.

use std::time::Duration;

use tokio_util::sync::CancellationToken;
use zhongtai_audit::{CHAIN_SEALED, SealerConfig, append_alone, verify};
use zhongtai_contracts::events::v1::ChainSealed;
use zhongtai_events::EnvelopeExt;

use crate::support::{SOURCE, TestDb, outbox_events, query_i64, record};

const WRITERS: usize = 20;
const RECORDS_PER_WRITER: usize = 10;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_writers_and_two_sealers_on_postgres() {
    concurrent_writers_and_two_sealers(&TestDb::postgres().await).await;
}

// SQLite has one writer at a time; the point here is that a sealer's
// immediate transaction waits for it instead of failing on a busy database.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_writers_and_two_sealers_on_sqlite() {
    concurrent_writers_and_two_sealers(&TestDb::sqlite().await).await;
}

async fn concurrent_writers_and_two_sealers(test: &TestDb) {
    let db = &test.db;
    // Two sealers seal back to back while the writers write: each must
    // wait its turn, never fail, never seal a record twice.
    let writing = CancellationToken::new();
    let mut sealers = Vec::new();
    for _ in 0..2 {
        let sealer = zhongtai_audit::Sealer::new(
            db.clone(),
            SOURCE,
            SealerConfig {
                batch_size: 7,
                ..SealerConfig::default()
            },
        );
        let writing = writing.clone();
        sealers.push(tokio::spawn(async move {
            let mut sealed = 0;
            while !writing.is_cancelled() {
                sealed += sealer
                    .seal_pending()
                    .await
                    .expect("sealing succeeds beside another sealer");
                tokio::task::yield_now().await;
            }
            sealed
        }));
    }

    let mut writers = Vec::new();
    for writer in 0..WRITERS {
        let db = db.clone();
        writers.push(tokio::spawn(async move {
            for n in 0..RECORDS_PER_WRITER {
                let record = record(writer * RECORDS_PER_WRITER + n);
                append_alone(&db, SOURCE, &record)
                    .await
                    .expect("record is appended");
            }
        }));
    }
    for writer in writers {
        writer.await.expect("writer does not panic");
    }
    writing.cancel();
    let mut sealed_by_sealers = 0;
    for sealer in sealers {
        sealed_by_sealers += tokio::time::timeout(Duration::from_secs(60), sealer)
            .await
            .expect("sealer stops when writing is over")
            .expect("sealer does not panic");
    }
    let sealed_last = crate::support::sealer(db)
        .seal_pending()
        .await
        .expect("sealing works");

    let total = (WRITERS * RECORDS_PER_WRITER) as u64;
    assert_eq!(sealed_by_sealers + sealed_last, total);
    let report = verify(db).await.expect("verification runs");
    assert!(report.is_intact(), "{report}");
    assert_eq!((report.sealed, report.pending), (total, 0));
    assert_eq!(report.head.as_ref().map(|head| head.sequence), Some(total));
    assert_eq!(query_i64(db, "SELECT MIN(seq) FROM audit_log").await, 1);
    assert_eq!(
        query_i64(db, "SELECT MAX(seq) FROM audit_log").await,
        total as i64
    );
    assert_eq!(
        query_i64(db, "SELECT COUNT(DISTINCT seq) FROM audit_log").await,
        total as i64
    );

    // Every record was sealed by exactly one batch, and the anchored heads
    // advance without gaps.
    let seals: Vec<ChainSealed> = outbox_events(db)
        .await
        .iter()
        .filter(|event| event.r#type == CHAIN_SEALED)
        .map(|event| event.decode_payload().expect("ChainSealed payload"))
        .collect();
    assert_eq!(seals.iter().map(|seal| seal.sealed).sum::<u64>(), total);
    let mut previous_head = 0;
    for seal in &seals {
        assert_eq!(seal.head_sequence, previous_head + seal.sealed, "{seals:?}");
        previous_head = seal.head_sequence;
    }
}
