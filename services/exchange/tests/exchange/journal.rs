//! The journal, reconciliation reports and record traces, written through
//! `Journal::record` as runners do and read through the RPC handlers, on
//! PostgreSQL (and SQLite for recording and reports).

use std::time::Instant;

use chrono::TimeDelta;
use tonic::Code;
use tonic_types::StatusExt;
use zhongtai_contracts::exchange::v1 as pb;
use zhongtai_kit::proto::timestamp;

use crate::support::journal::*;

fn report_request(fixture: &JournalFixture) -> pb::GetReconciliationReportRequest {
    pb::GetReconciliationReportRequest {
        line_id: fixture.line_id.to_string(),
        window_start_time: Some(timestamp(fixture.window_start)),
        window_end_time: Some(timestamp(fixture.window_end())),
        subscription_ids: vec![],
    }
}

async fn report_as(fixture: &JournalFixture, who: &str) -> pb::ReconciliationReport {
    fixture
        .handlers
        .get_reconciliation_report(acting(&reviewer(who), report_request(fixture)))
        .await
        .unwrap()
        .into_inner()
        .report
        .unwrap()
}

async fn report(fixture: &JournalFixture) -> pb::ReconciliationReport {
    report_as(fixture, OWNER).await
}

fn tally(report: &pb::ReconciliationReport, hop: pb::Hop, subscription: &str) -> pb::HopTally {
    report
        .tallies
        .iter()
        .find(|t| t.hop() == hop && t.subscription_id == subscription)
        .cloned()
        .unwrap_or_else(|| panic!("no {hop:?} tally for {subscription:?} in {report:#?}"))
}

/// Ten changes, all published to a queue subscription.
async fn ten_published(
    fixture: &JournalFixture,
) -> (uuid::Uuid, Vec<zhongtai_exchange::domain::Change>) {
    let subscription = fixture.subscribe(HOUSING_FUND, false, 10).await;
    fixture.confirm(10).await;
    let changes = fixture.changes(1..=10);
    let deliveries = fixture.deliveries(subscription, &changes, false);
    fixture
        .journal
        .record(fixture.line_id, &changes, &deliveries)
        .await
        .unwrap();
    (subscription, changes)
}

/// The report balances: changes 1..=`count` captured, and every one
/// published to `subscription`. Returns the published tally.
fn assert_all_published(
    report: &pb::ReconciliationReport,
    subscription: uuid::Uuid,
    count: u64,
) -> pb::HopTally {
    assert_eq!(
        report.verdict(),
        pb::ReconciliationVerdict::Balanced,
        "{report:#?}"
    );
    let captured = tally(report, pb::Hop::Captured, "");
    assert_eq!(
        (captured.count, captured.min_position, captured.max_position),
        (count as i64, 1, count)
    );
    let published = tally(report, pb::Hop::Published, &subscription.to_string());
    assert_eq!(
        (published.count, published.filtered_count),
        (count as i64, 0)
    );
    published
}

async fn everything_delivered_balances(fixture: JournalFixture) {
    let (subscription, _) = ten_published(&fixture).await;
    let report = report(&fixture).await;
    let published = assert_all_published(&report, subscription, 10);
    assert_eq!(published.checksum.len(), 32);
    assert!(
        !report.tallies.iter().any(|t| t.hop() == pb::Hop::Applied),
        "a queue subscription shows no applied hop"
    );
    assert_eq!(
        report.max_lag.unwrap().nanos,
        20_000_000,
        "commit to publish"
    );
    assert!(report.discrepancies.is_empty());
}

#[tokio::test]
async fn everything_delivered_balances_on_postgres() {
    everything_delivered_balances(JournalFixture::postgres().await).await;
}

#[tokio::test]
async fn everything_delivered_balances_on_sqlite() {
    everything_delivered_balances(JournalFixture::sqlite().await).await;
}

/// More changes than one size-bounded statement carries: every one is
/// recorded, once, however the batch is split.
#[tokio::test]
async fn a_batch_of_many_statements_is_recorded_whole_and_once_on_postgres() {
    let fixture = JournalFixture::postgres().await;
    let subscription = fixture.subscribe(HOUSING_FUND, false, 1000).await;
    fixture.confirm(1000).await;
    let changes = fixture.changes(1..=1000);
    let deliveries = fixture.deliveries(subscription, &changes, false);
    for _ in 0..2 {
        fixture
            .journal
            .record(fixture.line_id, &changes, &deliveries)
            .await
            .unwrap();
    }
    assert_all_published(&report(&fixture).await, subscription, 1000);
}

async fn recording_twice_changes_no_count(fixture: JournalFixture) {
    let subscription = fixture.subscribe(HOUSING_FUND, false, 10).await;
    let enclave = fixture.subscribe(COUNTY, true, 10).await;
    fixture.confirm(10).await;
    let changes = fixture.changes(1..=10);
    let mut deliveries = fixture.deliveries(subscription, &changes, false);
    deliveries.extend(fixture.deliveries(enclave, &changes, true));
    fixture
        .journal
        .record(fixture.line_id, &changes, &deliveries)
        .await
        .unwrap();
    // The redelivery after a crash: the enclave's position guard skipped it.
    let mut again = deliveries.clone();
    for delivery in &mut again {
        if let Some(accepted) = &mut delivery.accepted {
            accepted.had_effect = delivery.subscription_id != enclave;
            accepted.published_at += TimeDelta::seconds(30);
        }
    }
    fixture
        .journal
        .record(fixture.line_id, &changes, &again)
        .await
        .unwrap();

    let report = report(&fixture).await;
    assert_eq!(
        report.verdict(),
        pb::ReconciliationVerdict::Balanced,
        "{report:#?}"
    );
    assert_eq!(tally(&report, pb::Hop::Captured, "").count, 10);
    assert_eq!(
        tally(&report, pb::Hop::Published, &subscription.to_string()).count,
        10
    );
    let applied = tally(&report, pb::Hop::Applied, &enclave.to_string());
    assert_eq!(applied.count, 10);
    assert_eq!(
        applied.checksum,
        tally(&report, pb::Hop::Published, &enclave.to_string()).checksum
    );
    assert_eq!(
        report.max_lag.unwrap().nanos,
        30_000_000,
        "first timestamps are kept"
    );
    assert_eq!(
        fixture.scalar("SELECT COUNT(*) FROM journal_changes").await,
        10
    );
    assert_eq!(
        fixture
            .scalar("SELECT COUNT(*) FROM journal_deliveries WHERE attempts = 2")
            .await,
        20
    );
    assert_eq!(
        fixture
            .scalar("SELECT CAST(MAX(effects) AS BIGINT) FROM journal_deliveries")
            .await,
        1
    );
}

#[tokio::test]
async fn recording_twice_changes_no_count_on_postgres() {
    recording_twice_changes_no_count(JournalFixture::postgres().await).await;
}

#[tokio::test]
async fn recording_twice_changes_no_count_on_sqlite() {
    recording_twice_changes_no_count(JournalFixture::sqlite().await).await;
}

#[tokio::test]
async fn a_change_without_commit_time_is_accounted_at_capture() {
    let fixture = JournalFixture::postgres().await;
    let subscription = fixture.subscribe(HOUSING_FUND, false, 1).await;
    fixture.confirm(1).await;
    let mut change = fixture.change(1);
    let mut delivery = fixture.delivery(subscription, &change, false);
    change.hops.commit = None;
    delivery.commit_time = Default::default();
    fixture
        .journal
        .record(fixture.line_id, std::slice::from_ref(&change), &[delivery])
        .await
        .unwrap();
    let report = report(&fixture).await;
    assert_eq!(
        report.verdict(),
        pb::ReconciliationVerdict::Balanced,
        "{report:#?}"
    );
    assert_eq!(
        tally(&report, pb::Hop::Published, &subscription.to_string()).count,
        1
    );
}

#[tokio::test]
async fn a_dropped_delivery_is_missing_at_published() {
    let fixture = JournalFixture::postgres().await;
    let subscription = fixture.subscribe(HOUSING_FUND, false, 10).await;
    fixture.confirm(10).await;
    let changes = fixture.changes(1..=10);
    let mut deliveries = fixture.deliveries(subscription, &changes, false);
    deliveries.retain(|d| d.position != 7);
    fixture
        .journal
        .record(fixture.line_id, &changes, &deliveries)
        .await
        .unwrap();

    let report = report(&fixture).await;
    assert_eq!(report.verdict(), pb::ReconciliationVerdict::Discrepant);
    let [missing] = report.discrepancies.as_slice() else {
        panic!("one finding expected: {report:#?}");
    };
    assert_eq!(missing.kind(), pb::DiscrepancyKind::Missing);
    assert_eq!(missing.hop(), pb::Hop::Published);
    assert_eq!(missing.subscription_id, subscription.to_string());
    assert_eq!((missing.count, missing.positions.clone()), (1, vec![7]));
    assert_eq!(missing.change_ids, vec![changes[6].change_id()]);
    assert_eq!(
        tally(&report, pb::Hop::Published, &subscription.to_string()).count,
        9
    );
}

#[tokio::test]
async fn changes_not_yet_confirmed_are_in_progress() {
    let fixture = JournalFixture::postgres().await;
    let subscription = fixture.subscribe(HOUSING_FUND, false, 8).await;
    fixture.confirm(8).await;
    let changes = fixture.changes(1..=10);
    let deliveries = fixture.deliveries(subscription, &changes[..8], false);
    fixture
        .journal
        .record(fixture.line_id, &changes, &deliveries)
        .await
        .unwrap();
    let report = report(&fixture).await;
    assert_eq!(
        report.verdict(),
        pb::ReconciliationVerdict::InProgress,
        "{report:#?}"
    );
}

#[tokio::test]
async fn a_second_effect_is_duplicated() {
    let fixture = JournalFixture::postgres().await;
    let enclave = fixture.subscribe(COUNTY, true, 5).await;
    fixture.confirm(5).await;
    let changes = fixture.changes(1..=5);
    let deliveries = fixture.deliveries(enclave, &changes, true);
    fixture
        .journal
        .record(fixture.line_id, &changes, &deliveries)
        .await
        .unwrap();
    // Change 3 applied again, and this time it changed the table again.
    fixture
        .journal
        .record(fixture.line_id, &changes[2..3], &deliveries[2..3])
        .await
        .unwrap();

    let report = report(&fixture).await;
    assert_eq!(report.verdict(), pb::ReconciliationVerdict::Discrepant);
    let [duplicated] = report.discrepancies.as_slice() else {
        panic!("one finding expected: {report:#?}");
    };
    assert_eq!(duplicated.kind(), pb::DiscrepancyKind::Duplicated);
    assert_eq!(duplicated.hop(), pb::Hop::Applied);
    assert_eq!(duplicated.positions, vec![3]);
}

#[tokio::test]
async fn a_late_apply_is_late() {
    let fixture = JournalFixture::postgres().await;
    let enclave = fixture.subscribe(COUNTY, true, 5).await;
    fixture.confirm(5).await;
    let changes = fixture.changes(1..=5);
    let mut deliveries = fixture.deliveries(enclave, &changes, true);
    let late_by = TimeDelta::milliseconds(LATE_THRESHOLD_MS as i64 + 2_000);
    if let Some(accepted) = &mut deliveries[3].accepted {
        accepted.applied_at = Some(changes[3].hops.commit.unwrap() + late_by);
    }
    fixture
        .journal
        .record(fixture.line_id, &changes, &deliveries)
        .await
        .unwrap();

    let report = report(&fixture).await;
    assert_eq!(report.verdict(), pb::ReconciliationVerdict::Discrepant);
    let [late] = report.discrepancies.as_slice() else {
        panic!("one finding expected: {report:#?}");
    };
    assert_eq!(
        (late.kind(), late.hop()),
        (pb::DiscrepancyKind::Late, pb::Hop::Applied)
    );
    assert_eq!(late.positions, vec![4]);
    assert_eq!(report.max_lag.unwrap().seconds, 7);
}

#[tokio::test]
async fn records_are_traced_by_key_position_and_id() {
    let fixture = JournalFixture::postgres().await;
    let (subscription, changes) = ten_published(&fixture).await;
    // Registration R4 is updated later, at position 11.
    let mut update = fixture.change(11);
    update.key = changes[3].key.clone();
    update.operation = zhongtai_exchange::domain::Operation::Update;
    fixture
        .journal
        .record(
            fixture.line_id,
            std::slice::from_ref(&update),
            &[fixture.delivery(subscription, &update, false)],
        )
        .await
        .unwrap();

    let trace = |locator| {
        let request = pb::TraceRecordRequest {
            line_id: fixture.line_id.to_string(),
            locator: Some(locator),
        };
        let handlers = &fixture.handlers;
        async move {
            handlers
                .trace_record(acting(&reviewer(OWNER), request))
                .await
                .unwrap()
                .into_inner()
                .traces
        }
    };
    use pb::trace_record_request::Locator;
    let by_key = trace(Locator::Key(pb::RecordKey {
        table: TABLE.into(),
        columns: vec![pb::ColumnValue {
            name: "registration_id".into(),
            value: Some(pb::column_value::Value::StringValue("R4".into())),
            unchanged: false,
        }],
    }))
    .await;
    let positions: Vec<u64> = by_key
        .iter()
        .map(|t| t.change.as_ref().unwrap().position)
        .collect();
    assert_eq!(positions, vec![11, 4], "newest first");
    let first = by_key[1].change.as_ref().unwrap();
    assert_eq!(first.operation(), pb::ChangeOperation::Insert);
    assert_eq!(first.key[0].name, "registration_id");
    let [delivery] = by_key[1].deliveries.as_slice() else {
        panic!("one delivery expected: {by_key:#?}");
    };
    assert_eq!(delivery.subscription_id, subscription.to_string());
    assert_eq!(delivery.subscriber, HOUSING_FUND);
    assert_eq!(delivery.last_hop(), pb::Hop::Published);
    assert!(!delivery.filtered_out);
    assert!(delivery.hops.as_ref().unwrap().publish_time.is_some());

    let by_position = trace(Locator::Position(7)).await;
    assert_eq!(by_position.len(), 1);
    assert_eq!(
        by_position[0].change.as_ref().unwrap().change_id,
        changes[6].change_id()
    );
    let by_id = trace(Locator::ChangeId(changes[0].change_id())).await;
    assert_eq!(by_id[0].change.as_ref().unwrap().position, 1);
    assert!(trace(Locator::Position(99)).await.is_empty());
}

fn violations(status: &tonic::Status) -> Vec<String> {
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    status
        .get_error_details()
        .bad_request()
        .map(|bad| {
            bad.field_violations
                .iter()
                .map(|v| v.field.clone())
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn bad_windows_and_locators_are_invalid_arguments() {
    let fixture = JournalFixture::postgres().await;
    let ask = |request: pb::GetReconciliationReportRequest| {
        fixture
            .handlers
            .get_reconciliation_report(acting(&reviewer(OWNER), request))
    };
    let no_start = pb::GetReconciliationReportRequest {
        window_start_time: None,
        ..report_request(&fixture)
    };
    assert_eq!(
        violations(&ask(no_start).await.unwrap_err()),
        ["window_start_time"]
    );
    let backwards = pb::GetReconciliationReportRequest {
        window_end_time: Some(timestamp(fixture.window_start - TimeDelta::seconds(1))),
        ..report_request(&fixture)
    };
    assert_eq!(
        violations(&ask(backwards).await.unwrap_err()),
        ["window_end_time"]
    );
    let too_long = pb::GetReconciliationReportRequest {
        window_start_time: Some(timestamp(fixture.window_start - TimeDelta::hours(25))),
        ..report_request(&fixture)
    };
    assert_eq!(
        violations(&ask(too_long).await.unwrap_err()),
        ["window_end_time"]
    );
    let future = pb::GetReconciliationReportRequest {
        window_end_time: Some(timestamp(chrono::Utc::now() + TimeDelta::hours(1))),
        ..report_request(&fixture)
    };
    assert_eq!(
        violations(&ask(future).await.unwrap_err()),
        ["window_end_time"]
    );
    let bad_line = pb::GetReconciliationReportRequest {
        line_id: "nope".into(),
        ..report_request(&fixture)
    };
    assert_eq!(violations(&ask(bad_line).await.unwrap_err()), ["line_id"]);

    let trace = |locator| {
        fixture.handlers.trace_record(acting(
            &reviewer(OWNER),
            pb::TraceRecordRequest {
                line_id: fixture.line_id.to_string(),
                locator,
            },
        ))
    };
    assert_eq!(violations(&trace(None).await.unwrap_err()), ["locator"]);
    let no_columns = pb::trace_record_request::Locator::Key(pb::RecordKey {
        table: TABLE.into(),
        columns: vec![],
    });
    assert_eq!(
        violations(&trace(Some(no_columns)).await.unwrap_err()),
        ["key.columns"]
    );
    let no_table = pb::trace_record_request::Locator::Key(pb::RecordKey {
        table: String::new(),
        columns: vec![pb::ColumnValue {
            name: "id".into(),
            value: None,
            unchanged: false,
        }],
    });
    assert_eq!(
        violations(&trace(Some(no_table)).await.unwrap_err()),
        ["key.table"]
    );
}

#[tokio::test]
async fn other_tenants_do_not_see_the_line_and_subscribers_see_only_their_own() {
    let fixture = JournalFixture::postgres().await;
    let (housing, _) = ten_published(&fixture).await;
    let county = fixture.subscribe(COUNTY, false, 10).await;
    let changes = fixture.changes(1..=10);
    fixture
        .journal
        .record(
            fixture.line_id,
            &changes,
            &fixture.deliveries(county, &changes, false),
        )
        .await
        .unwrap();

    let refused = fixture
        .handlers
        .get_reconciliation_report(acting(&reviewer(OTHER_CITY), report_request(&fixture)))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::NotFound);
    let traced = fixture
        .handlers
        .trace_record(acting(
            &reviewer(OTHER_CITY),
            pb::TraceRecordRequest {
                line_id: fixture.line_id.to_string(),
                locator: Some(pb::trace_record_request::Locator::Position(1)),
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(traced.code(), Code::NotFound);
    let listed = fixture
        .handlers
        .list_reconciliation_reports(acting(
            &reviewer(OTHER_CITY),
            pb::ListReconciliationReportsRequest {
                line_id: fixture.line_id.to_string(),
                ..Default::default()
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(listed.code(), Code::NotFound);

    let owner_view = report(&fixture).await;
    assert_eq!(
        owner_view.tallies.len(),
        3,
        "captured and both subscriptions"
    );
    let subscriber_view = report_as(&fixture, HOUSING_FUND).await;
    let seen: Vec<&str> = subscriber_view
        .tallies
        .iter()
        .map(|t| t.subscription_id.as_str())
        .collect();
    assert_eq!(seen, [housing.to_string().as_str()]);
    let traces = fixture
        .handlers
        .trace_record(acting(
            &reviewer(HOUSING_FUND),
            pb::TraceRecordRequest {
                line_id: fixture.line_id.to_string(),
                locator: Some(pb::trace_record_request::Locator::Position(1)),
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .traces;
    let subscribers: Vec<&str> = traces[0]
        .deliveries
        .iter()
        .map(|d| d.subscriber.as_str())
        .collect();
    assert_eq!(subscribers, [HOUSING_FUND]);
    let asked_for_other = fixture
        .handlers
        .get_reconciliation_report(acting(
            &reviewer(HOUSING_FUND),
            pb::GetReconciliationReportRequest {
                subscription_ids: vec![county.to_string()],
                ..report_request(&fixture)
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(asked_for_other.code(), Code::NotFound);
}

#[tokio::test]
async fn closed_windows_are_reported_once_with_their_events() {
    let fixture = JournalFixture::postgres().await;
    let (subscription, _) = ten_published(&fixture).await;

    assert_eq!(fixture.journals.reconcile_due().await.unwrap(), 1);
    assert_eq!(
        fixture.journals.reconcile_due().await.unwrap(),
        0,
        "a window is reported once"
    );
    let events = |event_type: &str| {
        let sql = format!("SELECT COUNT(*) FROM event_outbox WHERE event_type = '{event_type}'");
        let fixture = &fixture;
        async move { fixture.scalar(&sql).await }
    };
    assert_eq!(events("exchange.reconciliation.completed").await, 1);
    assert_eq!(events("exchange.reconciliation.mismatched").await, 0);
    assert_eq!(events("exchange.subscription.batch_delivered").await, 1);
    let mismatches = format!(
        "zhongtai_exchange_reconciliation_mismatches_total{{line=\"{}\"}}",
        fixture.line_id
    );
    assert!(
        !zhongtai_telemetry::metrics::encode().contains(&mismatches),
        "a balanced window is no mismatch"
    );

    let listed = fixture
        .handlers
        .list_reconciliation_reports(acting(
            &reviewer(OWNER),
            pb::ListReconciliationReportsRequest {
                line_id: fixture.line_id.to_string(),
                ..Default::default()
            },
        ))
        .await
        .unwrap()
        .into_inner();
    let [stored] = listed.reports.as_slice() else {
        panic!("one report expected: {listed:#?}");
    };
    assert_eq!(stored.verdict(), pb::ReconciliationVerdict::Balanced);
    assert_eq!(
        stored.window_start_time,
        Some(timestamp(fixture.window_start))
    );
    assert_eq!(
        tally(stored, pb::Hop::Published, &subscription.to_string()).count,
        10
    );
    let discrepant = fixture
        .handlers
        .list_reconciliation_reports(acting(
            &reviewer(OWNER),
            pb::ListReconciliationReportsRequest {
                line_id: fixture.line_id.to_string(),
                verdict: pb::ReconciliationVerdict::Discrepant as i32,
                ..Default::default()
            },
        ))
        .await
        .unwrap()
        .into_inner();
    assert!(discrepant.reports.is_empty());
}

#[tokio::test]
async fn a_discrepant_window_also_publishes_a_mismatch() {
    let fixture = JournalFixture::postgres().await;
    let subscription = fixture.subscribe(HOUSING_FUND, false, 10).await;
    let enclave = fixture.subscribe(COUNTY, true, 10).await;
    fixture.confirm(10).await;
    let changes = fixture.changes(1..=10);
    let mut deliveries = fixture.deliveries(subscription, &changes, false);
    deliveries.extend(fixture.deliveries(enclave, &changes[..9], true));
    fixture
        .journal
        .record(fixture.line_id, &changes, &deliveries)
        .await
        .unwrap();

    assert_eq!(fixture.journals.reconcile_due().await.unwrap(), 1);
    let events = |event_type: &str| {
        let sql = format!("SELECT COUNT(*) FROM event_outbox WHERE event_type = '{event_type}'");
        let fixture = &fixture;
        async move { fixture.scalar(&sql).await }
    };
    assert_eq!(events("exchange.reconciliation.completed").await, 1);
    assert_eq!(events("exchange.reconciliation.mismatched").await, 1);
    assert_eq!(events("exchange.subscription.batch_delivered").await, 2);
    let exposition = zhongtai_telemetry::metrics::encode();
    assert!(
        exposition.contains(&format!(
            "zhongtai_exchange_reconciliation_mismatches_total{{line=\"{}\"}} 1\n",
            fixture.line_id
        )),
        "{exposition}"
    );
    let listed = fixture
        .handlers
        .list_reconciliation_reports(acting(
            &reviewer(COUNTY),
            pb::ListReconciliationReportsRequest {
                line_id: fixture.line_id.to_string(),
                verdict: pb::ReconciliationVerdict::Discrepant as i32,
                ..Default::default()
            },
        ))
        .await
        .unwrap()
        .into_inner();
    let [stored] = listed.reports.as_slice() else {
        panic!("one report expected: {listed:#?}");
    };
    let [missing] = stored.discrepancies.as_slice() else {
        panic!("one finding expected: {stored:#?}");
    };
    assert_eq!(missing.subscription_id, enclave.to_string());
    assert_eq!(
        (missing.hop(), missing.positions.clone()),
        (pb::Hop::Published, vec![10])
    );
    assert!(
        stored
            .tallies
            .iter()
            .all(|t| t.subscription_id == enclave.to_string()),
        "the county sees only its own subscription: {stored:#?}"
    );
}

#[tokio::test]
async fn windows_still_open_or_settling_are_not_reported() {
    let fixture = JournalFixture::postgres().await;
    let subscription = fixture.subscribe(HOUSING_FUND, false, 1).await;
    fixture.confirm(1).await;
    let mut change = fixture.change(1);
    change.hops.commit = Some(chrono::Utc::now());
    change.hops.capture = change.hops.commit;
    let delivery = fixture.delivery(subscription, &change, false);
    fixture
        .journal
        .record(fixture.line_id, std::slice::from_ref(&change), &[delivery])
        .await
        .unwrap();
    assert_eq!(fixture.journals.reconcile_due().await.unwrap(), 0);
    assert_eq!(
        fixture
            .scalar("SELECT COUNT(*) FROM reconciliation_reports")
            .await,
        0
    );
}

#[tokio::test]
async fn entries_older_than_the_retention_are_pruned() {
    let fixture = JournalFixture::configured(Backend::postgres().await, |config| {
        config.journal_retention_hours = 1;
    })
    .await;
    let subscription = fixture.subscribe(HOUSING_FUND, false, 2).await;
    fixture.confirm(2).await;
    let mut old = fixture.change(1);
    old.hops.commit = Some(fixture.window_start - TimeDelta::hours(2));
    old.hops.capture = old.hops.commit;
    let recent = fixture.change(2);
    let deliveries = [
        fixture.delivery(subscription, &old, false),
        fixture.delivery(subscription, &recent, false),
    ];
    fixture
        .journal
        .record(fixture.line_id, &[old, recent], &deliveries)
        .await
        .unwrap();

    fixture.journals.reconcile_due().await.unwrap();
    assert_eq!(
        fixture
            .scalar("SELECT COUNT(*) FROM journal_changes WHERE position = 1")
            .await,
        0
    );
    assert_eq!(
        fixture
            .scalar("SELECT COUNT(*) FROM journal_deliveries WHERE position = 1")
            .await,
        0
    );
    assert_eq!(
        fixture.scalar("SELECT COUNT(*) FROM journal_changes").await,
        1
    );
    assert_eq!(
        report(&fixture).await.verdict(),
        pb::ReconciliationVerdict::Balanced
    );
}

/// How fast the journal records: `cargo test -p zhongtai-exchange --test
/// exchange journal_recording_rate -- --ignored --nocapture`.
#[tokio::test]
#[ignore = "a measurement, not a check"]
async fn journal_recording_rate() {
    let fixture = JournalFixture::postgres().await;
    let subscription = fixture.subscribe(HOUSING_FUND, false, 0).await;
    let total = 50_000u64;
    let batches: Vec<_> = (1..=total)
        .collect::<Vec<_>>()
        .chunks(5_000)
        .map(|batch| {
            let changes: Vec<_> = batch.iter().map(|&p| fixture.change(p)).collect();
            let deliveries = fixture.deliveries(subscription, &changes, false);
            (changes, deliveries)
        })
        .collect();
    let started = Instant::now();
    for (changes, deliveries) in &batches {
        fixture
            .journal
            .record(fixture.line_id, changes, deliveries)
            .await
            .unwrap();
    }
    let rate = total as f64 / started.elapsed().as_secs_f64();
    println!("journal: {rate:.0} changes/s with one subscription");
    assert_eq!(
        fixture.scalar("SELECT COUNT(*) FROM journal_changes").await,
        total as i64
    );
}
