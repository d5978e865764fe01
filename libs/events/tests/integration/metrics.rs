//! The relay's and the consumers' Prometheus metrics, read from the
//! exposition as Prometheus would (SQLite, in-process bus).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use zhongtai_events::{
    Consumer, ConsumerHandle, EventBus, EventEnvelope, EventError, HandlerError, InProcessBus,
    RelayConfig, Subscription,
};
use zhongtai_testkit::eventually;

use crate::support::db::{self, append_committed};
use crate::support::events::BINDING;
use crate::support::handler::RecordingHandler;
use crate::support::{RunningRelay, WAIT, init_tracing, relay_config};

/// Other tests of this binary share the process registry: a name of our own.
const SERVICE: &str = "events-metrics-test";

/// The in-process bus behind a switch, to hold events in the outbox.
struct GatedBus {
    bus: InProcessBus,
    open: AtomicBool,
}

#[async_trait::async_trait]
impl EventBus for GatedBus {
    async fn publish(&self, envelope: &EventEnvelope) -> Result<(), EventError> {
        if !self.open.load(Ordering::SeqCst) {
            return Err(EventError::Interrupted("the test holds the broker".into()));
        }
        self.bus.publish(envelope).await
    }

    async fn subscribe(
        &self,
        subscription: Subscription,
        consumer: Consumer,
    ) -> Result<ConsumerHandle, EventError> {
        self.bus.subscribe(subscription, consumer).await
    }
}

/// The value of the sample `name{labels}`, e.g.
/// `sample("zhongtai_outbox_backlog", r#"service="x""#)`.
fn sample(name: &str, labels: &str) -> Option<f64> {
    let prefix = format!("{name}{{{labels}}} ");
    zhongtai_telemetry::metrics::encode()
        .lines()
        .find_map(|line| line.strip_prefix(&prefix)?.parse().ok())
}

fn service_sample(name: &str) -> Option<f64> {
    sample(name, &format!("service=\"{SERVICE}\""))
}

async fn wait_for_sample(name: &str, labels: &str, what: &str, holds: impl Fn(f64) -> bool) {
    eventually(WAIT, what, || async {
        sample(name, labels)
            .filter(|value| holds(*value))
            .map(|_| ())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn relay_and_consumer_report_backlog_publications_and_outcomes() {
    init_tracing();
    let dir = tempfile::tempdir().expect("temp dir");
    let db = db::sqlite(&dir).await;
    let bus = Arc::new(GatedBus {
        bus: InProcessBus::new(),
        open: AtomicBool::new(false),
    });
    let mut subscription = Subscription::new("metrics.effects", [BINDING]);
    subscription.max_attempts = 2;
    subscription.retry_delay = std::time::Duration::from_millis(50);
    let handler = RecordingHandler::with_verdict(
        &subscription.name,
        Arc::new(|event, _run| match event.subject.as_str() {
            "poison" => Err(HandlerError::transient("never works")),
            _ => Ok(()),
        }),
    );
    let consumer = Consumer::new(db.clone(), handler).with_service(SERVICE);
    let _consuming = bus
        .subscribe(subscription.clone(), consumer.clone())
        .await
        .expect("subscription starts");
    let relay = RunningRelay::spawn(
        &db,
        bus.clone(),
        RelayConfig {
            service: SERVICE.to_string(),
            ..relay_config()
        },
    );
    let service = format!("service=\"{SERVICE}\"");
    assert_eq!(
        service_sample("zhongtai_outbox_published_total"),
        Some(0.0),
        "the relay's samples are served before anything happened"
    );

    let committed = append_committed(&db, "subject-a", 0, 3).await;
    relay.notifier.notify_one();
    wait_for_sample(
        "zhongtai_outbox_backlog",
        &service,
        "a backlog of three",
        |v| v == 3.0,
    )
    .await;
    wait_for_sample(
        "zhongtai_outbox_oldest_event_age_seconds",
        &service,
        "the oldest event aging",
        |v| v > 0.0,
    )
    .await;
    assert_eq!(service_sample("zhongtai_outbox_published_total"), Some(0.0));

    bus.open.store(true, Ordering::SeqCst);
    relay.notifier.notify_one();
    wait_for_sample(
        "zhongtai_outbox_backlog",
        &service,
        "the backlog drained",
        |v| v == 0.0,
    )
    .await;
    assert_eq!(
        service_sample("zhongtai_outbox_oldest_event_age_seconds"),
        Some(0.0)
    );
    assert_eq!(service_sample("zhongtai_outbox_published_total"), Some(3.0));

    let labels = |outcome: &str| {
        format!("service=\"{SERVICE}\",subscription=\"metrics.effects\",outcome=\"{outcome}\"")
    };
    wait_for_sample(
        "zhongtai_consumer_events_total",
        &labels("handled"),
        "three events handled",
        |v| v == 3.0,
    )
    .await;
    let lag = sample(
        "zhongtai_consumer_lag_seconds",
        &format!("service=\"{SERVICE}\",subscription=\"metrics.effects\""),
    )
    .expect("the lag of the last handled event");
    assert!(lag > 0.0, "{lag}");

    // A redelivery is a duplicate; a poison event fails on every attempt.
    bus.publish(&committed[0]).await.expect("publish");
    wait_for_sample(
        "zhongtai_consumer_events_total",
        &labels("duplicate"),
        "the duplicate counted",
        |v| v == 1.0,
    )
    .await;
    append_committed(&db, "poison", 100, 1).await;
    relay.notifier.notify_one();
    wait_for_sample(
        "zhongtai_consumer_events_total",
        &labels("failed"),
        "both attempts at the poison event failed",
        |v| v == 2.0,
    )
    .await;
    assert_eq!(
        sample("zhongtai_consumer_events_total", &labels("handled")),
        Some(3.0)
    );
    relay.stop().await;
}
