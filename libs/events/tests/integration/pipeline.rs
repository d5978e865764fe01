//! Outbox → relay → RabbitMQ → consumer on PostgreSQL: what commits takes
//! effect exactly once, in commit order; what rolls back never leaves.

use std::collections::HashSet;

use zhongtai_events::{Consumer, outbox};
use zhongtai_testkit::eventually;

use crate::support::broker::Broker;
use crate::support::db::{self, append_committed, append_rolled_back};
use crate::support::events::BINDING;
use crate::support::handler::RecordingHandler;
use crate::support::{RunningRelay, WAIT, init_tracing, relay_config};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn committed_events_take_effect_once_in_order_and_rolled_back_ones_never() {
    init_tracing();
    let broker = Broker::new("pipeline");
    let (_database, db) = db::postgres().await;
    let bus = broker.bus().await;
    let subscription = broker.subscription("effects", &[BINDING]);
    let consumer = Consumer::new(db.clone(), RecordingHandler::succeeding(&subscription.name));
    let consuming = bus
        .subscribe(subscription.clone(), consumer.clone())
        .await
        .expect("subscription starts");
    let relay = RunningRelay::spawn(&db, bus.clone(), relay_config());

    let mut committed = Vec::new();
    let mut rolled_back = Vec::new();
    for round in 0..12 {
        let subject = format!("subject-{}", round % 3);
        if round % 4 == 3 {
            rolled_back.extend(append_rolled_back(&db, &subject, round * 10, 2).await);
        } else {
            committed.extend(append_committed(&db, &subject, round * 10, 3).await);
            relay.notifier.notify_one();
        }
    }
    let committed_ids: Vec<String> = committed.iter().map(|e| e.id.clone()).collect();
    assert_eq!(committed_ids.len(), 27);
    assert_eq!(rolled_back.len(), 6);

    eventually(WAIT, "every committed event handled", || async {
        (consumer.stats().processed == committed_ids.len() as u64).then_some(())
    })
    .await;
    // One more committed event, handled after everything published before
    // it: a rolled-back event that leaked would have arrived by then.
    let sentinel = append_committed(&db, "sentinel", 1000, 1).await;
    relay.notifier.notify_one();
    eventually(WAIT, "the sentinel event handled", || async {
        (consumer.stats().processed == committed_ids.len() as u64 + 1).then_some(())
    })
    .await;

    let mut expected_order = committed_ids.clone();
    expected_order.push(sentinel[0].id.clone());
    assert_eq!(
        db::effects_in_order(&db).await,
        expected_order,
        "each committed event has exactly one effect, in commit order"
    );
    let rolled_back_ids: HashSet<String> = rolled_back.iter().map(|e| e.id.clone()).collect();
    assert!(
        db::effects_in_order(&db)
            .await
            .iter()
            .all(|id| !rolled_back_ids.contains(id))
    );

    eventually(WAIT, "every outbox row marked sent", || async {
        (outbox::pending_count(&db).await.expect("outbox readable") == 0).then_some(())
    })
    .await;
    let rows = db::outbox_rows(&db).await;
    assert_eq!(
        rows.iter().map(|(id, _)| id.clone()).collect::<Vec<_>>(),
        expected_order,
        "the outbox holds the committed events only"
    );
    assert!(rows.iter().all(|(_, published)| *published));

    let stats = consumer.stats();
    assert_eq!(stats.duplicates, 0);
    assert_eq!(stats.failed, 0);
    assert_eq!(stats.dead_lettered, 0);

    consuming.stop().await;
    relay.stop().await;
}
