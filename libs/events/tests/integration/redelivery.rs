//! Crashes that make the same event arrive twice, on the real broker: the
//! relay dying between the broker's confirm and marking the row sent, and
//! the consumer losing its connection between commit and ack. The inbox must
//! turn every second arrival into a reported duplicate without a second
//! effect.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use zhongtai_events::{
    AfterConfirm, Consumer, EventBus, HandlerError, RabbitBus, RelayConfig, outbox,
};
use zhongtai_testkit::eventually;

use crate::support::broker::Broker;
use crate::support::db::{self, append_committed};
use crate::support::events::BINDING;
use crate::support::handler::RecordingHandler;
use crate::support::proxy::TcpProxy;
use crate::support::{RunningRelay, WAIT, init_tracing, relay_config};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn relay_crash_after_confirm_republishes_and_the_inbox_drops_the_duplicates() {
    init_tracing();
    let broker = Broker::new("relay-crash");
    let (_database, db) = db::postgres().await;
    let bus = broker.bus().await;
    let subscription = broker.subscription("effects", &[BINDING]);
    let handler = RecordingHandler::succeeding(&subscription.name);
    let consumer = Consumer::new(db.clone(), handler.clone());
    let consuming = bus
        .subscribe(subscription.clone(), consumer.clone())
        .await
        .expect("subscription starts");

    let appended = append_committed(&db, "crashing", 1, 3).await;
    let crashed_once = Arc::new(AtomicBool::new(false));
    let crashing = RelayConfig {
        after_confirm: Some(Arc::new({
            let crashed_once = crashed_once.clone();
            move |_confirmed| {
                if crashed_once.swap(true, Ordering::SeqCst) {
                    AfterConfirm::Continue
                } else {
                    AfterConfirm::Crash
                }
            }
        })),
        ..relay_config()
    };
    let first = RunningRelay::spawn(&db, bus.clone(), crashing);
    tokio::time::timeout(WAIT, first.task)
        .await
        .expect("the crashed relay ends by itself")
        .expect("relay task does not panic");
    assert!(crashed_once.load(Ordering::SeqCst));

    eventually(WAIT, "the first publication handled", || async {
        (consumer.stats().processed == 3).then_some(())
    })
    .await;
    assert_eq!(
        outbox::pending_count(&db).await.expect("outbox readable"),
        3,
        "confirmed but unmarked rows stay pending"
    );

    let second = RunningRelay::spawn(&db, bus.clone(), relay_config());
    eventually(
        WAIT,
        "the republished events reported as duplicates",
        || async { (consumer.stats().duplicates == 3).then_some(()) },
    )
    .await;
    eventually(WAIT, "the outbox marked sent", || async {
        (outbox::pending_count(&db).await.expect("outbox readable") == 0).then_some(())
    })
    .await;

    let counts = db::effect_counts(&db).await;
    for event in &appended {
        assert_eq!(
            counts.get(&event.id),
            Some(&1),
            "one effect for {}",
            event.id
        );
        assert_eq!(
            handler.runs(&event.id),
            1,
            "the duplicate never reached the handler"
        );
    }
    assert_eq!(consumer.stats().processed, 3);

    consuming.stop().await;
    second.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn consumer_connection_lost_between_commit_and_ack_is_redelivered_without_a_second_effect() {
    init_tracing();
    let broker = Broker::new("consumer-crash");
    let (_database, db) = db::postgres().await;
    let proxy = Arc::new(TcpProxy::start().await);
    let publisher = broker.bus().await;
    let consumer_bus = RabbitBus::connect(broker.config_at(&proxy.url()))
        .await
        .expect("broker reachable through the proxy");
    let subscription = broker.subscription("effects", &[BINDING]);
    // The first run of the first event freezes the consumer's outgoing
    // traffic before its transaction commits, so the ack that follows the
    // commit never reaches the broker.
    let handler = RecordingHandler::with_verdict(&subscription.name, {
        let proxy = proxy.clone();
        Arc::new(move |event, run| {
            if event.subject == "lost-ack" && run == 1 {
                proxy.freeze_upstream();
            }
            Ok(())
        })
    });
    let consumer = Consumer::new(db.clone(), handler.clone());
    let consuming = consumer_bus
        .subscribe(subscription.clone(), consumer.clone())
        .await
        .expect("subscription starts");
    let relay = RunningRelay::spawn(&db, publisher.clone(), relay_config());

    let first = append_committed(&db, "lost-ack", 1, 1).await;
    relay.notifier.notify_one();
    eventually(WAIT, "the effect committed", || async {
        (db::effect_counts(&db).await.get(&first[0].id) == Some(&1)).then_some(())
    })
    .await;
    // Let the ack reach the proxy, where it is held back and then dropped.
    tokio::time::sleep(Duration::from_millis(200)).await;
    proxy.sever();

    eventually(WAIT, "the redelivery reported as a duplicate", || async {
        (consumer.stats().duplicates == 1).then_some(())
    })
    .await;
    assert_eq!(db::effect_counts(&db).await.get(&first[0].id), Some(&1));
    assert_eq!(handler.runs(&first[0].id), 1);

    // The reopened consumer keeps going.
    let second = append_committed(&db, "after-reconnect", 2, 1).await;
    relay.notifier.notify_one();
    eventually(WAIT, "the next event handled", || async {
        (db::effect_counts(&db).await.get(&second[0].id) == Some(&1)).then_some(())
    })
    .await;
    let (_connection, channel) = broker.channel().await;
    eventually(WAIT, "the queue drained", || async {
        (broker.ready_count(&channel, &subscription.name).await == 0).then_some(())
    })
    .await;
    assert_eq!(consumer.stats().processed, 2);
    assert_eq!(consumer.stats().duplicates, 1);

    consuming.stop().await;
    relay.stop().await;
    consumer_bus.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn handler_failure_rolls_back_its_effect_and_the_event_comes_again() {
    init_tracing();
    let broker = Broker::new("handler-error");
    let (_database, db) = db::postgres().await;
    let bus = broker.bus().await;
    let subscription = broker.subscription("effects", &[BINDING]);
    let handler = RecordingHandler::with_verdict(
        &subscription.name,
        Arc::new(|_event, run| {
            if run == 1 {
                Err(HandlerError::transient("lock timeout"))
            } else {
                Ok(())
            }
        }),
    );
    let consumer = Consumer::new(db.clone(), handler.clone());
    let consuming = bus
        .subscribe(subscription.clone(), consumer.clone())
        .await
        .expect("subscription starts");
    let relay = RunningRelay::spawn(&db, bus.clone(), relay_config());

    let appended = append_committed(&db, "flaky", 1, 2).await;
    relay.notifier.notify_one();
    eventually(WAIT, "both events handled after their retry", || async {
        (consumer.stats().processed == 2).then_some(())
    })
    .await;

    let counts = db::effect_counts(&db).await;
    for event in &appended {
        assert_eq!(handler.runs(&event.id), 2);
        assert_eq!(
            counts.get(&event.id),
            Some(&1),
            "the failed run left no effect"
        );
    }
    let stats = consumer.stats();
    assert_eq!(
        (stats.failed, stats.retried, stats.dead_lettered),
        (2, 2, 0)
    );

    consuming.stop().await;
    relay.stop().await;
}
