//! How an event looks on the wire (AMQP properties and headers) and the one
//! way this crate publishes: with a publisher confirm, where a negative
//! confirm or a returned (unroutable) message is an error.

use std::collections::HashMap;

use lapin::message::Delivery;
use lapin::options::BasicPublishOptions;
use lapin::types::{AMQPValue, FieldTable, ShortString};
use lapin::{BasicProperties, Channel, Confirmation};
use zhongtai_contracts::events::v1::EventEnvelope;

use crate::error::EventError;

/// MIME type of an encoded `EventEnvelope` body.
pub(crate) const CONTENT_TYPE: &str = "application/protobuf";
/// AMQP delivery mode 2: the broker writes the message to disk.
const PERSISTENT: u8 = 2;
/// Handler attempts the message has been through (on retried messages).
pub const ATTEMPT_HEADER: &str = "x-zhongtai-attempt";
/// Why a message was dead-lettered (on dead letters).
pub const ERROR_HEADER: &str = "x-zhongtai-error";
/// The routing key the event was first published with (on retried and
/// dead-lettered messages, which travel under another routing key).
pub const ORIGINAL_ROUTING_KEY_HEADER: &str = "x-zhongtai-original-routing-key";
/// Tenant of the event, for header-based routing and inspection.
pub const TENANT_HEADER: &str = "x-zhongtai-tenant";
/// Longest short string (routing keys, message ids) AMQP can carry.
const MAX_SHORT_STRING: usize = 255;

/// AMQP properties of a freshly published event: persistent,
/// `message_id` = event id, `type` = event type, protobuf content type, and
/// `trace_context` (`traceparent`, `tracestate` of the publishing span) as
/// headers.
pub(crate) fn event_properties(
    envelope: &EventEnvelope,
    trace_context: &HashMap<String, String>,
) -> Result<BasicProperties, EventError> {
    for (what, value) in [
        ("event type", &envelope.r#type),
        ("event id", &envelope.id),
        ("source", &envelope.source),
    ] {
        if value.len() > MAX_SHORT_STRING {
            return Err(EventError::InvalidEnvelope(format!(
                "{what} is longer than {MAX_SHORT_STRING} bytes"
            )));
        }
    }
    let mut headers = FieldTable::default();
    for (key, value) in trace_context {
        if key.len() <= MAX_SHORT_STRING {
            headers.insert(
                key.as_str().into(),
                AMQPValue::LongString(value.as_str().into()),
            );
        }
    }
    headers.insert(
        TENANT_HEADER.into(),
        AMQPValue::LongString(envelope.tenant.as_str().into()),
    );
    let mut properties = BasicProperties::default()
        .with_delivery_mode(PERSISTENT)
        .with_content_type(CONTENT_TYPE.into())
        .with_message_id(envelope.id.as_str().into())
        .with_type(envelope.r#type.as_str().into())
        .with_app_id(envelope.source.as_str().into())
        .with_headers(headers);
    if let Some(occurred_at) = envelope.occurred_at
        && let Ok(seconds) = u64::try_from(occurred_at.seconds)
    {
        properties = properties.with_timestamp(seconds);
    }
    Ok(properties)
}

/// Properties of a delivery forwarded to the retry or dead-letter queue:
/// the original ones (persistence enforced) plus `extra` headers.
pub(crate) fn forwarded_properties(
    delivery: &Delivery,
    extra: Vec<(&'static str, AMQPValue)>,
) -> BasicProperties {
    let mut headers = delivery.properties.headers().clone().unwrap_or_default();
    // Retried messages come back with `x-death` bookkeeping from the broker;
    // it only grows and carries nothing this crate reads.
    let mut cleaned = FieldTable::default();
    for (key, value) in headers.inner() {
        if key.as_str() != "x-death" {
            cleaned.insert(key.clone(), value.clone());
        }
    }
    headers = cleaned;
    for (key, value) in extra {
        headers.insert(key.into(), value);
    }
    delivery
        .properties
        .clone()
        .with_delivery_mode(PERSISTENT)
        .with_headers(headers)
}

/// The original routing key of a delivery: the header when the message went
/// through the retry queue, else the routing key it arrived with.
pub(crate) fn original_routing_key(delivery: &Delivery) -> String {
    header_string(delivery, ORIGINAL_ROUTING_KEY_HEADER)
        .unwrap_or_else(|| delivery.routing_key.as_str().to_owned())
}

/// The attempt number of a delivery (1 for a first delivery).
pub(crate) fn attempt_of(delivery: &Delivery) -> u32 {
    let value = delivery
        .properties
        .headers()
        .as_ref()
        .and_then(|headers| headers.inner().get(ATTEMPT_HEADER).cloned());
    let attempt = match value {
        Some(AMQPValue::LongLongInt(n)) => u32::try_from(n).ok(),
        Some(AMQPValue::LongInt(n)) => u32::try_from(n).ok(),
        Some(AMQPValue::LongUInt(n)) => Some(n),
        Some(AMQPValue::ShortInt(n)) => u32::try_from(n).ok(),
        Some(AMQPValue::ShortUInt(n)) => Some(u32::from(n)),
        Some(AMQPValue::ShortShortInt(n)) => u32::try_from(n).ok(),
        Some(AMQPValue::ShortShortUInt(n)) => Some(u32::from(n)),
        _ => None,
    };
    attempt.unwrap_or(1).max(1)
}

fn header_string(delivery: &Delivery, key: &str) -> Option<String> {
    let headers = delivery.properties.headers().as_ref()?;
    match headers.inner().get(key)? {
        AMQPValue::LongString(value) => {
            Some(String::from_utf8_lossy(value.as_bytes()).into_owned())
        }
        AMQPValue::ShortString(value) => Some(value.as_str().to_owned()),
        _ => None,
    }
}

/// Publishes and waits for the broker's confirm. With `mandatory`, a message
/// no queue takes comes back and is reported as [`EventError::Unroutable`].
pub(crate) async fn publish_confirmed(
    channel: &Channel,
    exchange: &str,
    routing_key: &str,
    body: &[u8],
    properties: BasicProperties,
    mandatory: bool,
    event_id: &str,
) -> Result<(), EventError> {
    let confirmation = channel
        .basic_publish(
            ShortString::from(exchange),
            ShortString::from(routing_key),
            BasicPublishOptions {
                mandatory,
                ..BasicPublishOptions::default()
            },
            body,
            properties,
        )
        .await?
        .await?;
    match confirmation {
        Confirmation::Ack(None) => Ok(()),
        Confirmation::Ack(Some(returned)) => Err(EventError::Unroutable(format!(
            "{} ({routing_key})",
            returned.reply_text
        ))),
        Confirmation::Nack(_) => Err(EventError::Nacked {
            event_id: event_id.to_owned(),
        }),
        Confirmation::NotRequested => Err(EventError::Config(
            "publishing channel is not in confirm mode".into(),
        )),
    }
}
