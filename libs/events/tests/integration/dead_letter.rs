//! Poison events on the real broker: a permanent failure is dead-lettered at
//! once, a transient one after the subscription's bounded attempts, each
//! with the reason and attempt count as headers, and the events behind them
//! keep flowing.

use std::sync::Arc;

use sea_orm::ConnectionTrait as _;

use zhongtai_events::{
    ATTEMPT_HEADER, Consumer, ERROR_HEADER, HandlerError, ORIGINAL_ROUTING_KEY_HEADER,
};
use zhongtai_testkit::eventually;

use crate::support::broker::Broker;
use crate::support::db::{self, append_committed};
use crate::support::events::{BINDING, EVENT_TYPE};
use crate::support::handler::RecordingHandler;
use crate::support::{RunningRelay, WAIT, init_tracing, relay_config};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failing_events_end_in_the_dead_letter_queue_and_the_rest_keeps_flowing() {
    init_tracing();
    let broker = Broker::new("poison");
    let (_database, db) = db::postgres().await;
    let bus = broker.bus().await;
    let mut subscription = broker.subscription("effects", &[BINDING]);
    subscription.max_attempts = 3;
    let handler = RecordingHandler::with_verdict(
        &subscription.name,
        Arc::new(|event, _run| match event.subject.as_str() {
            "poison-permanent" => Err(HandlerError::permanent("payload violates a rule")),
            "poison-transient" => Err(HandlerError::transient("dependency is down")),
            _ => Ok(()),
        }),
    );
    let consumer = Consumer::new(db.clone(), handler.clone());
    let consuming = bus
        .subscribe(subscription.clone(), consumer.clone())
        .await
        .expect("subscription starts");
    let relay = RunningRelay::spawn(&db, bus.clone(), relay_config());

    let permanent = append_committed(&db, "poison-permanent", 1, 1)
        .await
        .remove(0);
    let transient = append_committed(&db, "poison-transient", 2, 1)
        .await
        .remove(0);
    let behind = append_committed(&db, "healthy", 3, 1).await.remove(0);
    relay.notifier.notify_one();

    eventually(WAIT, "both poison events dead-lettered", || async {
        (consumer.stats().dead_lettered == 2).then_some(())
    })
    .await;
    let after = append_committed(&db, "healthy", 4, 1).await.remove(0);
    relay.notifier.notify_one();
    eventually(WAIT, "the healthy events handled", || async {
        (consumer.stats().processed == 2).then_some(())
    })
    .await;

    let (_connection, channel) = broker.channel().await;
    let mut dead = broker
        .drain(&channel, &subscription.dead_letter_queue())
        .await;
    assert_eq!(
        dead.len(),
        2,
        "exactly the two poison events are dead letters"
    );
    dead.sort_by_key(|taken| taken.envelope.id != permanent.id);
    let (dead_permanent, dead_transient) = (&dead[0], &dead[1]);

    assert_eq!(dead_permanent.envelope, permanent);
    assert_eq!(dead_permanent.number_header(ATTEMPT_HEADER), 1);
    let reason = dead_permanent.text_header(ERROR_HEADER);
    assert!(
        reason.contains("permanent") && reason.contains("payload violates a rule"),
        "{reason}"
    );
    assert_eq!(
        dead_permanent.text_header(ORIGINAL_ROUTING_KEY_HEADER),
        EVENT_TYPE
    );

    assert_eq!(dead_transient.envelope, transient);
    assert_eq!(dead_transient.number_header(ATTEMPT_HEADER), 3);
    let reason = dead_transient.text_header(ERROR_HEADER);
    assert!(
        reason.contains("3 attempts") && reason.contains("dependency is down"),
        "{reason}"
    );
    assert_eq!(
        dead_transient.text_header(ORIGINAL_ROUTING_KEY_HEADER),
        EVENT_TYPE
    );

    assert_eq!(
        handler.runs(&permanent.id),
        1,
        "permanent failures are not retried"
    );
    assert_eq!(
        handler.runs(&transient.id),
        3,
        "transient failures get max_attempts runs"
    );
    let counts = db::effect_counts(&db).await;
    assert_eq!(
        counts.get(&permanent.id),
        None,
        "failed runs leave no effect"
    );
    assert_eq!(
        counts.get(&transient.id),
        None,
        "failed runs leave no effect"
    );
    assert_eq!(counts.get(&behind.id), Some(&1));
    assert_eq!(counts.get(&after.id), Some(&1));

    let stats = consumer.stats();
    assert_eq!((stats.failed, stats.retried), (4, 2));
    assert_eq!(broker.ready_count(&channel, &subscription.name).await, 0);
    assert_eq!(
        broker
            .ready_count(&channel, &subscription.retry_queue())
            .await,
        0
    );

    consuming.stop().await;
    relay.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_subscription_restarts_with_changed_retry_settings() {
    init_tracing();
    let broker = Broker::new("retry-settings");
    let (_database, db) = db::postgres().await;
    let bus = broker.bus().await;
    let subscription = broker.subscription("effects", &[BINDING]);
    let first = Consumer::new(db.clone(), RecordingHandler::succeeding(&subscription.name));
    bus.subscribe(subscription.clone(), first)
        .await
        .expect("subscription starts")
        .stop()
        .await;

    // As after a deployment that changed the configuration.
    let mut changed = subscription.clone();
    changed.retry_delay = std::time::Duration::from_millis(350);
    changed.max_attempts = 2;
    let handler = RecordingHandler::with_verdict(
        &changed.name,
        Arc::new(|_event, run| {
            if run == 1 {
                Err(HandlerError::transient("not yet"))
            } else {
                Ok(())
            }
        }),
    );
    let consumer = Consumer::new(db.clone(), handler.clone());
    let consuming = bus
        .subscribe(changed, consumer.clone())
        .await
        .expect("the changed subscription starts on the existing queues");
    let relay = RunningRelay::spawn(&db, bus.clone(), relay_config());
    let event = append_committed(&db, "retried", 1, 1).await.remove(0);
    relay.notifier.notify_one();
    eventually(WAIT, "the event handled on its second run", || async {
        (consumer.stats().processed == 1).then_some(())
    })
    .await;
    assert_eq!(handler.runs(&event.id), 2);
    assert_eq!(consumer.stats().retried, 1);

    consuming.stop().await;
    relay.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_consumer_database_outage_waits_instead_of_dead_lettering() {
    init_tracing();
    let broker = Broker::new("db-outage");
    let (_database, db) = db::postgres().await;
    let bus = broker.bus().await;
    let mut subscription = broker.subscription("effects", &[BINDING]);
    subscription.max_attempts = 2;
    let handler = RecordingHandler::succeeding(&subscription.name);
    let consumer = Consumer::new(db.clone(), handler.clone());
    let consuming = bus
        .subscribe(subscription.clone(), consumer.clone())
        .await
        .expect("subscription starts");
    let relay = RunningRelay::spawn(&db, bus.clone(), relay_config());

    // The consumer's inbox disappears, as its database would in an outage.
    db.execute_unprepared("ALTER TABLE event_inbox RENAME TO event_inbox_away")
        .await
        .expect("rename");
    let event = append_committed(&db, "outage", 1, 1).await.remove(0);
    relay.notifier.notify_one();
    // Far longer than max_attempts retries would take.
    tokio::time::sleep(subscription.retry_delay * 6).await;
    assert_eq!(consumer.stats().dead_lettered, 0);
    assert_eq!(consumer.stats().processed, 0);

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
    let (_connection, channel) = broker.channel().await;
    assert_eq!(
        broker
            .ready_count(&channel, &subscription.dead_letter_queue())
            .await,
        0
    );
    let stats = consumer.stats();
    assert_eq!(
        (stats.failed, stats.retried, stats.dead_lettered),
        (0, 0, 0)
    );

    consuming.stop().await;
    relay.stop().await;
}
