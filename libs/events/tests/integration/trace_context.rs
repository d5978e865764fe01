//! The W3C trace context of the operation that appended an event travels in
//! the envelope, the relay's publish span continues it into the AMQP headers
//! through the real broker, and the consumer's handler runs in a span of the
//! same trace.

use std::sync::{Arc, Mutex};

use opentelemetry::trace::{TraceContextExt as _, TraceId};
use tracing::Instrument as _;
use tracing_opentelemetry::OpenTelemetrySpanExt as _;
use zhongtai_events::Consumer;
use zhongtai_testkit::eventually;

use crate::support::broker::Broker;
use crate::support::db::{self, append_committed};
use crate::support::events::BINDING;
use crate::support::handler::RecordingHandler;
use crate::support::{RunningRelay, WAIT, init_tracing, relay_config};

fn current_trace_id() -> TraceId {
    tracing::Span::current()
        .context()
        .span()
        .span_context()
        .trace_id()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trace_context_reaches_the_consumer_through_rabbitmq() {
    init_tracing();
    let broker = Broker::new("trace");
    let (_database, db) = db::postgres().await;
    let bus = broker.bus().await;
    let (_connection, channel) = broker.channel().await;
    let tap = broker.tap(&channel, "tap").await;
    let subscription = broker.subscription("effects", &[BINDING]);
    let seen_by_handler: Arc<Mutex<Vec<TraceId>>> = Arc::default();
    let handler = RecordingHandler::with_verdict(&subscription.name, {
        let seen_by_handler = seen_by_handler.clone();
        Arc::new(move |_event, _run| {
            seen_by_handler
                .lock()
                .expect("trace ids lock")
                .push(current_trace_id());
            Ok(())
        })
    });
    let consumer = Consumer::new(db.clone(), handler);
    let consuming = bus
        .subscribe(subscription.clone(), consumer.clone())
        .await
        .expect("subscription starts");
    let relay = RunningRelay::spawn(&db, bus.clone(), relay_config());

    let request = tracing::info_span!("request");
    let request_trace = request.context().span().span_context().trace_id();
    assert_ne!(
        request_trace,
        TraceId::INVALID,
        "the test subscriber builds OpenTelemetry spans"
    );
    let appended = append_committed(&db, "traced", 1, 1)
        .instrument(request)
        .await
        .remove(0);
    let traceparent = appended
        .trace_context
        .get("traceparent")
        .cloned()
        .expect("the envelope carries a traceparent");
    assert!(
        traceparent.contains(&request_trace.to_string()),
        "{traceparent}"
    );

    relay.notifier.notify_one();
    eventually(WAIT, "the event handled", || async {
        (consumer.stats().processed == 1).then_some(())
    })
    .await;
    assert_eq!(
        *seen_by_handler.lock().expect("trace ids lock"),
        vec![request_trace],
        "the handler runs in the trace that appended the event"
    );

    let published = eventually(WAIT, "the tapped copy", || async {
        broker.drain(&channel, &tap).await.pop()
    })
    .await;
    assert_eq!(published.envelope.trace_context, appended.trace_context);
    // The headers carry the relay's publish span: the same trace, one hop on.
    let published_parent = published.text_header("traceparent");
    assert!(
        published_parent.contains(&request_trace.to_string()),
        "{published_parent}"
    );
    assert_ne!(
        published_parent, traceparent,
        "the publish span's own context"
    );

    consuming.stop().await;
    relay.stop().await;
}
