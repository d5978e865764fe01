//! Tampering with sealed records through plain SQL, as someone with write
//! access to the database would: verification names the first victim.

use zhongtai_audit::{ChainHead, Problem, verify};

use crate::support::{
    TestDb, append_records, execute, on_both_databases, sealed_chain_of_ten, sealer,
};

on_both_databases!(
    altered_record_is_named,
    deleted_middle_record_is_missing,
    deleted_last_record_breaks_the_head,
    altered_head_is_reported,
    sealing_continues_past_a_deleted_tail_and_the_gap_shows,
);

async fn altered_record_is_named(test: &TestDb) {
    let db = &test.db;
    let records = sealed_chain_of_ten(db).await;

    execute(db, "UPDATE audit_log SET actor = 'mallory' WHERE seq = 5").await;
    let report = verify(db).await.expect("verification runs");
    assert!(!report.is_intact(), "{report}");
    assert_eq!(
        report.first_problem,
        Some(Problem::Altered {
            sequence: 5,
            record_id: records[4].id,
        })
    );
    let problem = report
        .first_problem
        .as_ref()
        .map(ToString::to_string)
        .unwrap_or_default();
    assert!(problem.contains("#5"), "{problem}");
    assert!(problem.contains(&records[4].id.to_string()), "{problem}");
    assert!(
        report.to_string().contains(&records[4].id.to_string()),
        "{report}"
    );

    // Putting the value back restores the chain; turning a denial into an
    // approval breaks it again.
    execute(
        db,
        &format!(
            "UPDATE audit_log SET actor = '{}' WHERE seq = 5",
            records[4].actor
        ),
    )
    .await;
    let report = verify(db).await.expect("verification runs");
    assert!(report.is_intact(), "{report}");
    assert_eq!(records[2].outcome, zhongtai_audit::Outcome::Denied);
    execute(db, "UPDATE audit_log SET outcome = 'allowed' WHERE seq = 3").await;
    let report = verify(db).await.expect("verification runs");
    assert_eq!(
        report.first_problem,
        Some(Problem::Altered {
            sequence: 3,
            record_id: records[2].id,
        })
    );

    // A record relinked to another predecessor is caught even though its
    // own fields are untouched.
    execute(db, "UPDATE audit_log SET outcome = 'denied' WHERE seq = 3").await;
    execute(
        db,
        "UPDATE audit_log SET prev_hash = (SELECT hash FROM audit_log WHERE seq = 1) WHERE seq = 7",
    )
    .await;
    let report = verify(db).await.expect("verification runs");
    assert_eq!(
        report.first_problem,
        Some(Problem::Altered {
            sequence: 7,
            record_id: records[6].id,
        })
    );
}

async fn deleted_middle_record_is_missing(test: &TestDb) {
    let db = &test.db;
    let records = sealed_chain_of_ten(db).await;

    execute(db, "DELETE FROM audit_log WHERE seq = 5").await;
    let report = verify(db).await.expect("verification runs");
    assert_eq!(
        report.first_problem,
        Some(Problem::Missing {
            sequence: 5,
            after: Some(records[3].id),
            before: Some(records[5].id),
        })
    );
    assert_eq!(report.sealed, 9);
    let text = report.to_string();
    assert!(text.contains("record #5 is missing"), "{text}");
    assert!(text.contains(&records[3].id.to_string()), "{text}");
    assert!(text.contains(&records[5].id.to_string()), "{text}");
}

async fn deleted_last_record_breaks_the_head(test: &TestDb) {
    let db = &test.db;
    sealed_chain_of_ten(db).await;
    let before = verify(db).await.expect("verification runs");
    let head = before.head.clone().expect("a chain head exists");

    execute(db, "DELETE FROM audit_log WHERE seq = 10").await;
    let report = verify(db).await.expect("verification runs");
    let Some(Problem::HeadMismatch {
        head: reported,
        last,
    }) = &report.first_problem
    else {
        panic!("expected a head mismatch: {report}");
    };
    assert_eq!(reported, &head);
    assert_eq!(last.as_ref().map(|last| last.sequence), Some(9));
    assert!(report.to_string().contains("#10"), "{report}");

    // Deleting everything sealed is caught the same way.
    execute(db, "DELETE FROM audit_log").await;
    let report = verify(db).await.expect("verification runs");
    assert_eq!(
        report.first_problem,
        Some(Problem::HeadMismatch { head, last: None })
    );
}

async fn altered_head_is_reported(test: &TestDb) {
    let db = &test.db;
    sealed_chain_of_ten(db).await;
    let last = verify(db).await.expect("verification runs").head;

    let zeros = "0".repeat(64);
    execute(db, &format!("UPDATE audit_chain_head SET hash = '{zeros}'")).await;
    let report = verify(db).await.expect("verification runs");
    assert_eq!(
        report.first_problem,
        Some(Problem::HeadMismatch {
            head: ChainHead {
                sequence: 10,
                hash: zeros,
            },
            last: last.clone(),
        })
    );

    // Without the head row the chain looks empty, which the records contradict.
    execute(db, "DELETE FROM audit_chain_head").await;
    let report = verify(db).await.expect("verification runs");
    assert_eq!(report.head, None);
    assert!(
        matches!(&report.first_problem, Some(Problem::HeadMismatch { head, last: found }) if head.sequence == 0 && found == &last),
        "{report}"
    );
}

async fn sealing_continues_past_a_deleted_tail_and_the_gap_shows(test: &TestDb) {
    let db = &test.db;
    let mut records = sealed_chain_of_ten(db).await;
    execute(db, "DELETE FROM audit_log WHERE seq = 10").await;
    records.extend(append_records(db, 10, 2).await);
    assert_eq!(sealer(db).seal_pending().await.expect("sealing works"), 2);

    let report = verify(db).await.expect("verification runs");
    assert_eq!(
        report.first_problem,
        Some(Problem::Missing {
            sequence: 10,
            after: Some(records[8].id),
            before: Some(records[10].id),
        })
    );
}
