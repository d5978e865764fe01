//! What runners read and record: leases, runtime positions, the snapshot's
//! completion, and states set by the center itself.

use chrono::{Duration, Utc};
use uuid::Uuid;
use zhongtai_exchange::domain::ports::{DeliveredUpdate, RunnerStore};
use zhongtai_exchange::domain::{LineState, SnapshotProgress, SnapshotState, SubscriptionState};

use super::definitions::{create, log_line};
use crate::support::lines::{Lines, as_operator, province};
use zhongtai_contracts::exchange::v1 as pb;

#[tokio::test]
async fn a_line_is_leased_to_one_runner_at_a_time() {
    let lines = Lines::on_postgres(true).await;
    let line: Uuid = create(&lines, log_line("marriage-cdc"))
        .await
        .id
        .parse()
        .unwrap();
    let store = &lines.store;
    let soon = Utc::now() + Duration::seconds(30);
    assert!(store.acquire_lease(line, "runner-a", soon).await.unwrap());
    assert!(!store.acquire_lease(line, "runner-b", soon).await.unwrap());
    assert!(
        store.acquire_lease(line, "runner-a", soon).await.unwrap(),
        "renewed by its holder"
    );
    store.release_lease(line, "runner-b").await.unwrap();
    assert!(
        !store.acquire_lease(line, "runner-b", soon).await.unwrap(),
        "only the holder releases"
    );
    store.release_lease(line, "runner-a").await.unwrap();
    assert!(store.acquire_lease(line, "runner-b", soon).await.unwrap());
    // runner-b stops renewing: its lease lapses and runner-a takes over.
    assert!(
        store
            .acquire_lease(line, "runner-b", Utc::now() - Duration::seconds(1))
            .await
            .unwrap()
    );
    assert!(store.acquire_lease(line, "runner-a", soon).await.unwrap());
    // Progress saved by the holder leaves the lease alone.
    let mut runtime = store.runtime(line).await.unwrap();
    runtime.confirmed_position = 42;
    store.save_runtime(line, &runtime).await.unwrap();
    assert!(!store.acquire_lease(line, "runner-b", soon).await.unwrap());
    assert!(
        store
            .runnable_lines()
            .await
            .unwrap()
            .iter()
            .any(|l| l.id == line)
    );
}

#[tokio::test]
async fn runtime_never_goes_backwards_and_announces_the_snapshot_once() {
    let lines = Lines::on_postgres(true).await;
    let line: Uuid = create(&lines, log_line("marriage-cdc"))
        .await
        .id
        .parse()
        .unwrap();
    let store = &lines.store;
    let mut runtime = store.runtime(line).await.unwrap();
    assert_eq!(runtime.snapshot.state, SnapshotState::Pending);
    runtime.confirmed_position = 0x16B3748;
    runtime.source_position = 0x16B3800;
    runtime.captured_total = 10;
    runtime.last_commit_at = Some(Utc::now());
    runtime.snapshot = SnapshotProgress {
        state: SnapshotState::Completed,
        rows_done: 10,
        rows_total: 10,
        ..SnapshotProgress::default()
    };
    store.save_runtime(line, &runtime).await.unwrap();
    store.save_runtime(line, &runtime).await.unwrap();
    let mut older = runtime.clone();
    older.confirmed_position = 5;
    store.save_runtime(line, &older).await.unwrap();
    let stored = store.runtime(line).await.unwrap();
    assert_eq!(stored.confirmed_position, 0x16B3748);
    assert_eq!(stored.captured_total, 10);
    assert_eq!(
        lines
            .count_events("exchange.line.snapshot_completed", &line.to_string())
            .await,
        1
    );

    let status = lines
        .handlers
        .get_line_status(as_operator(
            &province(),
            pb::GetLineStatusRequest {
                id: line.to_string(),
            },
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(status.confirmed_position, "0/16B3748");
    assert_eq!(status.source_position, "0/16B3800");
    assert_eq!(status.captured_total, 10);
    assert_eq!(
        status.line.unwrap().snapshot.unwrap().state(),
        pb::SnapshotState::Completed
    );
}

#[tokio::test]
async fn the_center_moves_runnable_lines_only() {
    let lines = Lines::on_postgres(true).await;
    let created = create(&lines, log_line("marriage-cdc")).await;
    let line: Uuid = created.id.parse().unwrap();
    let store = &lines.store;
    let streaming = store
        .set_line_state(line, LineState::Streaming, "")
        .await
        .unwrap();
    assert_eq!(streaming.state, LineState::Streaming);
    let failed = store
        .set_line_state(line, LineState::Failed, "table public.t has no primary key")
        .await
        .unwrap();
    assert_eq!(failed.state, LineState::Failed);
    assert_eq!(failed.state_reason, "table public.t has no primary key");
    let unchanged = store
        .set_line_state(line, LineState::Streaming, "")
        .await
        .unwrap();
    assert_eq!(
        unchanged.state,
        LineState::Failed,
        "a failed line waits for an operator"
    );

    // Subscriptions: delivered positions only move forward; health moves.
    let subscription = lines
        .handlers
        .create_subscription(as_operator(
            &province(),
            pb::CreateSubscriptionRequest {
                line_id: created.id.clone(),
                queue: Some(pb::QueueDelivery::default()),
                ..Default::default()
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .subscription
        .unwrap();
    let id: Uuid = subscription.id.parse().unwrap();
    let update = |position| DeliveredUpdate {
        subscription_id: id,
        position,
        commit_time: Utc::now(),
        lag_ms: 12,
    };
    store.record_delivered(&[update(500)]).await.unwrap();
    store.record_delivered(&[update(400)]).await.unwrap();
    let live = store.live_subscriptions(line).await.unwrap();
    assert_eq!(live.len(), 1);
    assert_eq!(live[0].delivered_position, 500);
    store
        .set_subscription_health(id, SubscriptionState::Degraded, "broker away")
        .await
        .unwrap();
    let degraded = store.find_subscription(id).await.unwrap().unwrap();
    assert_eq!(degraded.state, SubscriptionState::Degraded);
    assert_eq!(degraded.state_reason, "broker away");
}
