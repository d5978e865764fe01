//! Broker connection failures, made with a TCP proxy in front of the real
//! broker: an unreachable broker is an error (never a panic or a hang),
//! publishing reconnects after the connection is lost, and the outbox keeps
//! events while the broker is away.

use std::sync::Arc;
use std::time::Duration;

use zhongtai_events::{Consumer, EventBus, EventError, RabbitBus, RabbitConfig, outbox};
use zhongtai_testkit::{eventually, free_port};

use crate::support::broker::Broker;
use crate::support::db::{self, append_committed};
use crate::support::events::{BINDING, envelope};
use crate::support::handler::RecordingHandler;
use crate::support::proxy::TcpProxy;
use crate::support::{RunningRelay, WAIT, init_tracing, relay_config};

fn unreachable_config(broker: &Broker) -> RabbitConfig {
    RabbitConfig {
        connect_timeout: Duration::from_secs(2),
        publish_timeout: Duration::from_secs(1),
        ..broker.config_at(&format!("amqp://guest:guest@127.0.0.1:{}/%2f", free_port()))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_broker_is_an_error_the_caller_can_retry() {
    init_tracing();
    let broker = Broker::new("unreachable");
    let config = unreachable_config(&broker);

    let error = tokio::time::timeout(WAIT, RabbitBus::connect(config.clone()))
        .await
        .expect("connect gives up by itself")
        .expect_err("nothing listens there");
    assert!(matches!(error, EventError::Unavailable { .. }), "{error}");
    assert!(
        error.to_string().contains("guest:***@127.0.0.1"),
        "the error names the broker without its password: {error}"
    );

    // A lazily connecting bus starts anyway and reports the outage per publish.
    let bus = RabbitBus::new(config).expect("configuration is valid");
    let error = tokio::time::timeout(WAIT, bus.publish(&envelope("unreachable", 1)))
        .await
        .expect("publish gives up after publish_timeout")
        .expect_err("the broker is unreachable");
    assert!(matches!(error, EventError::Unavailable { .. }), "{error}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn publishing_reconnects_after_the_connection_is_lost() {
    init_tracing();
    let broker = Broker::new("reconnect");
    let proxy = TcpProxy::start().await;
    let bus = RabbitBus::connect(broker.config_at(&proxy.url()))
        .await
        .expect("broker reachable through the proxy");
    let (_connection, channel) = broker.channel().await;
    let tap = broker.tap(&channel, "tap").await;
    let events: Vec<_> = (1..=3).map(|n| envelope("reconnect", n)).collect();

    bus.publish(&events[0]).await.expect("first publish");
    proxy.sever();
    bus.publish(&events[1])
        .await
        .expect("publish after the connection was cut");

    proxy.refuse(true);
    proxy.sever();
    let pending = tokio::spawn({
        let bus = bus.clone();
        let event = events[2].clone();
        async move { bus.publish(&event).await }
    });
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        !pending.is_finished(),
        "publish waits while the broker is away"
    );
    proxy.refuse(false);
    tokio::time::timeout(WAIT, pending)
        .await
        .expect("publish completes once the broker is back")
        .expect("publish task does not panic")
        .expect("publish succeeds once the broker is back");

    let received = tokio::time::timeout(WAIT, async {
        let mut received = Vec::new();
        while received.len() < 3 {
            received.extend(
                broker
                    .drain(&channel, &tap)
                    .await
                    .into_iter()
                    .map(|t| t.envelope),
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        received
    })
    .await
    .expect("three published events arrive");
    assert_eq!(received, events);
    bus.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_outbox_keeps_events_while_the_broker_is_away() {
    init_tracing();
    let broker = Broker::new("outage");
    let proxy = TcpProxy::start().await;
    let (_database, db) = db::postgres().await;
    let consumer_bus = RabbitBus::connect(broker.config())
        .await
        .expect("broker reachable");
    let subscription = broker.subscription("effects", &[BINDING]);
    let consumer = Consumer::new(db.clone(), RecordingHandler::succeeding(&subscription.name));
    let consuming = consumer_bus
        .subscribe(subscription.clone(), consumer.clone())
        .await
        .expect("subscription starts");

    proxy.refuse(true);
    let relay_bus: Arc<dyn EventBus> = Arc::new(
        RabbitBus::new(RabbitConfig {
            publish_timeout: Duration::from_millis(500),
            ..broker.config_at(&proxy.url())
        })
        .expect("configuration is valid"),
    );
    let relay = RunningRelay::spawn(&db, relay_bus, relay_config());
    let appended = append_committed(&db, "outage", 1, 2).await;
    relay.notifier.notify_one();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(
        outbox::pending_count(&db).await.expect("outbox readable"),
        2
    );
    assert_eq!(consumer.stats().processed, 0);

    proxy.refuse(false);
    eventually(WAIT, "the held events handled", || async {
        (consumer.stats().processed == 2).then_some(())
    })
    .await;
    eventually(WAIT, "the outbox marked sent", || async {
        (outbox::pending_count(&db).await.expect("outbox readable") == 0).then_some(())
    })
    .await;
    assert_eq!(
        db::effects_in_order(&db).await,
        vec![appended[0].id.clone(), appended[1].id.clone()]
    );

    consuming.stop().await;
    relay.stop().await;
    consumer_bus.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stopping_a_consumer_returns_even_when_the_broker_stops_answering() {
    init_tracing();
    let broker = Broker::new("silent-broker");
    let proxy = TcpProxy::start().await;
    let dir = tempfile::tempdir().expect("temp dir");
    let db = db::sqlite(&dir).await;
    let bus = RabbitBus::connect(RabbitConfig {
        connect_timeout: Duration::from_secs(2),
        ..broker.config_at(&proxy.url())
    })
    .await
    .expect("broker reachable through the proxy");
    let subscription = broker.subscription("effects", &[BINDING]);
    let consuming = bus
        .subscribe(
            subscription.clone(),
            Consumer::new(db, RecordingHandler::succeeding(&subscription.name)),
        )
        .await
        .expect("subscription starts");

    // The broker no longer hears anything from this bus, and so never
    // answers its closing handshakes.
    proxy.freeze_upstream();
    tokio::time::timeout(WAIT, consuming.stop())
        .await
        .expect("stop gives up on the silent broker");
    tokio::time::timeout(WAIT, bus.close())
        .await
        .expect("close gives up on the silent broker");
}
