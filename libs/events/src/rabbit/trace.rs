//! The spans of the AMQP hop: `publish <routing key>` on the producing side,
//! `consume <routing key>` on the consuming side, with the OpenTelemetry
//! messaging attributes. The publish span continues the trace recorded in the
//! envelope (the request that appended the event) and its own context travels
//! in the AMQP headers, so the consume span is its child across the broker.

use std::collections::HashMap;

use lapin::message::Delivery;
use lapin::types::AMQPValue;
use tracing::Span;
use tracing::field::Empty;
use zhongtai_contracts::events::v1::EventEnvelope;
use zhongtai_telemetry::propagation;

/// The W3C trace-context headers a message carries.
const TRACE_HEADERS: [&str; 2] = ["traceparent", "tracestate"];

/// The producer span of publishing `envelope` to `exchange`, a child of the
/// trace the envelope records (a new trace when it records none).
pub(crate) fn publish_span(exchange: &str, envelope: &EventEnvelope) -> Span {
    let name = format!("publish {}", envelope.r#type);
    let span = tracing::info_span!(
        "event.publish",
        otel.name = name.as_str(),
        otel.kind = "producer",
        otel.status_code = Empty,
        messaging.system = "rabbitmq",
        messaging.operation = "publish",
        messaging.destination.name = exchange,
        messaging.rabbitmq.destination.routing_key = %envelope.r#type,
        messaging.message.id = %envelope.id,
        event.subject = %envelope.subject,
    );
    propagation::continue_from_map(&span, &envelope.trace_context);
    span
}

/// The consumer span of handling `delivery` from the queue `queue`, a child
/// of the span that published it (a new trace when it carries no context).
/// `routing_key` is the one the event was first published with.
pub(crate) fn consume_span(
    exchange: &str,
    queue: &str,
    routing_key: &str,
    delivery: &Delivery,
) -> Span {
    let message_id = delivery
        .properties
        .message_id()
        .as_ref()
        .map(|id| id.as_str().to_owned())
        .unwrap_or_default();
    let name = format!("consume {routing_key}");
    let span = tracing::info_span!(
        "event.consume",
        otel.name = name.as_str(),
        otel.kind = "consumer",
        otel.status_code = Empty,
        messaging.system = "rabbitmq",
        messaging.operation = "process",
        messaging.destination.name = exchange,
        messaging.rabbitmq.destination.routing_key = routing_key,
        messaging.consumer.group.name = queue,
        messaging.message.id = message_id.as_str(),
    );
    propagation::continue_from_map(&span, &trace_headers(delivery));
    span
}

/// Marks `span` (a publish or consume span) as failed.
pub(crate) fn record_failure(span: &Span) {
    span.record("otel.status_code", "error");
}

/// The trace-context headers of a delivery as strings.
fn trace_headers(delivery: &Delivery) -> HashMap<String, String> {
    let Some(headers) = delivery.properties.headers().as_ref() else {
        return HashMap::new();
    };
    TRACE_HEADERS
        .iter()
        .filter_map(|key| {
            let value = match headers.inner().get(*key)? {
                AMQPValue::LongString(value) => {
                    String::from_utf8_lossy(value.as_bytes()).into_owned()
                }
                AMQPValue::ShortString(value) => value.as_str().to_owned(),
                _ => return None,
            };
            Some(((*key).to_owned(), value))
        })
        .collect()
}
