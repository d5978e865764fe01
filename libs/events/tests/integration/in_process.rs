//! Outbox → relay → consumer on SQLite with the in-process bus: a test of
//! the embedded mode's bus, not of RabbitMQ.

use std::sync::Arc;

use sea_orm::ConnectionTrait as _;

use zhongtai_events::{Consumer, EventBus, HandlerError, InProcessBus, Subscription, outbox};
use zhongtai_testkit::eventually;

use crate::support::db::{self, append_committed, append_rolled_back};
use crate::support::events::BINDING;
use crate::support::handler::RecordingHandler;
use crate::support::{RunningRelay, WAIT, init_tracing, relay_config};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_process_bus_on_sqlite_delivers_committed_events_once() {
    init_tracing();
    let dir = tempfile::tempdir().expect("temp dir");
    let db = db::sqlite(&dir).await;
    let bus = InProcessBus::new();
    let mut subscription = Subscription::new("in-process.effects", [BINDING]);
    subscription.max_attempts = 2;
    subscription.retry_delay = std::time::Duration::from_millis(50);
    let handler = RecordingHandler::with_verdict(
        &subscription.name,
        Arc::new(|event, _run| match event.subject.as_str() {
            "poison" => Err(HandlerError::transient("never works")),
            _ => Ok(()),
        }),
    );
    let consumer = Consumer::new(db.clone(), handler.clone());
    let consuming = bus
        .subscribe(subscription.clone(), consumer.clone())
        .await
        .expect("subscription starts");
    let shared: Arc<dyn EventBus> = Arc::new(bus.clone());
    let relay = RunningRelay::spawn(&db, shared, relay_config());

    let mut committed = Vec::new();
    for round in 0..6 {
        let subject = format!("subject-{}", round % 2);
        if round % 3 == 2 {
            append_rolled_back(&db, &subject, round * 10, 2).await;
        } else {
            committed.extend(append_committed(&db, &subject, round * 10, 2).await);
        }
        relay.notifier.notify_one();
    }
    let poison = append_committed(&db, "poison", 100, 1).await.remove(0);
    relay.notifier.notify_one();

    eventually(
        WAIT,
        "committed events handled and the poison one dead",
        || async {
            let stats = consumer.stats();
            (stats.processed == committed.len() as u64 && stats.dead_lettered == 1).then_some(())
        },
    )
    .await;
    eventually(WAIT, "the outbox marked sent", || async {
        (outbox::pending_count(&db).await.expect("outbox readable") == 0).then_some(())
    })
    .await;

    let expected: Vec<String> = committed.iter().map(|e| e.id.clone()).collect();
    assert_eq!(db::effects_in_order(&db).await, expected);
    let dead = bus.dead_letter_details(&subscription.name);
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].envelope, poison);
    assert_eq!(dead[0].attempts, 2);
    assert_eq!(handler.runs(&poison.id), 2);

    // A redelivered event (here: published again by hand) has no effect.
    bus.publish(&committed[0]).await.expect("publish");
    eventually(WAIT, "the duplicate dropped", || async {
        (consumer.stats().duplicates == 1).then_some(())
    })
    .await;
    assert_eq!(db::effect_counts(&db).await.get(&committed[0].id), Some(&1));

    consuming.stop().await;
    relay.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_process_bus_waits_for_the_consumer_database_instead_of_dead_lettering() {
    init_tracing();
    let dir = tempfile::tempdir().expect("temp dir");
    let db = db::sqlite(&dir).await;
    let bus = InProcessBus::new();
    let mut subscription = Subscription::new("in-process.outage", [BINDING]);
    subscription.max_attempts = 2;
    subscription.retry_delay = std::time::Duration::from_millis(50);
    let handler = RecordingHandler::succeeding(&subscription.name);
    let consumer = Consumer::new(db.clone(), handler.clone());
    let consuming = bus
        .subscribe(subscription.clone(), consumer.clone())
        .await
        .expect("subscription starts");

    db.execute_unprepared("ALTER TABLE event_inbox RENAME TO event_inbox_away")
        .await
        .expect("rename");
    let event = crate::support::events::envelope("outage", 1);
    bus.publish(&event).await.expect("publish");
    tokio::time::sleep(subscription.retry_delay * 10).await;
    assert_eq!(consumer.stats().processed, 0);
    assert!(bus.dead_letters(&subscription.name).is_empty());

    db.execute_unprepared("ALTER TABLE event_inbox_away RENAME TO event_inbox")
        .await
        .expect("rename back");
    eventually(
        WAIT,
        "the event handled once the database is back",
        || async { (consumer.stats().processed == 1).then_some(()) },
    )
    .await;
    assert_eq!(handler.runs(&event.id), 1);
    assert!(bus.dead_letters(&subscription.name).is_empty());
    consuming.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_notifying_consumer_pokes_the_relay_after_each_commit_only() {
    init_tracing();
    let dir = tempfile::tempdir().expect("temp dir");
    let db = db::sqlite(&dir).await;
    let outbox = Arc::new(tokio::sync::Notify::new());
    let handler = RecordingHandler::with_verdict(
        "notifying.effects",
        Arc::new(|event, _run| match event.subject.as_str() {
            "failing" => Err(HandlerError::permanent("refused")),
            _ => Ok(()),
        }),
    );
    let consumer = Consumer::notifying(db.clone(), handler, outbox.clone());
    let poked = || async {
        tokio::time::timeout(std::time::Duration::from_millis(200), outbox.notified())
            .await
            .is_ok()
    };

    let event = crate::support::events::envelope("handled", 1);
    consumer
        .process("notifying.effects", &event)
        .await
        .expect("handled");
    assert!(poked().await, "a commit pokes the relay");

    consumer
        .process("notifying.effects", &event)
        .await
        .expect("duplicate");
    assert!(!poked().await, "a duplicate commits nothing");

    let failing = crate::support::events::envelope("failing", 2);
    assert!(
        consumer
            .process("notifying.effects", &failing)
            .await
            .is_err()
    );
    assert!(!poked().await, "a rolled-back handler commits nothing");
}
