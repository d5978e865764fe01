//! The event a service emits ([`Event`]) and helpers on the envelope it
//! travels in ([`EnvelopeExt`]): typed payload decoding and id parsing.

use prost::Message;
use zhongtai_contracts::events::v1::EventEnvelope;

use crate::error::EventError;

/// A domain event before it enters the outbox: what happened (`event_type`,
/// also the routing key), to which tenant and aggregate, and the typed
/// payload. The outbox adds id, source, time and trace context.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// Dotted type, `<service>.<aggregate>.<verb>`, e.g. `approval.application.approved`.
    pub event_type: String,
    /// Tenant (division code, optionally `/department`).
    pub tenant: String,
    /// Id of the aggregate the event is about; events of one subject are
    /// published in commit order.
    pub subject: String,
    /// The payload message packed as `google.protobuf.Any`.
    pub payload: prost_types::Any,
}

impl Event {
    /// Packs `payload` (any prost message with a type name) into an event.
    pub fn new<M: prost::Name>(
        event_type: impl Into<String>,
        tenant: impl Into<String>,
        subject: impl Into<String>,
        payload: &M,
    ) -> Self {
        Self {
            event_type: event_type.into(),
            tenant: tenant.into(),
            subject: subject.into(),
            // Encoding into a growable Vec cannot run out of space, so this
            // cannot fail the way `Any::from_msg` formally can.
            payload: prost_types::Any {
                type_url: M::type_url(),
                value: payload.encode_to_vec(),
            },
        }
    }
}

/// Typed access to an [`EventEnvelope`].
pub trait EnvelopeExt {
    /// Decodes the payload as `M`; fails when the envelope has no payload,
    /// carries another type, or the bytes do not decode.
    fn decode_payload<M: prost::Name + Default>(&self) -> Result<M, EventError>;

    /// The event id as a UUID.
    fn event_id(&self) -> Result<uuid::Uuid, EventError>;
}

impl EnvelopeExt for EventEnvelope {
    fn decode_payload<M: prost::Name + Default>(&self) -> Result<M, EventError> {
        let payload = self.payload.as_ref().ok_or_else(|| {
            EventError::InvalidEnvelope(format!("event {} has no payload", self.id))
        })?;
        let expected = M::type_url();
        if type_name(&payload.type_url) != type_name(&expected) {
            return Err(EventError::PayloadType {
                expected,
                actual: payload.type_url.clone(),
            });
        }
        Ok(M::decode(payload.value.as_slice())?)
    }

    fn event_id(&self) -> Result<uuid::Uuid, EventError> {
        uuid::Uuid::parse_str(&self.id).map_err(|e| {
            EventError::InvalidEnvelope(format!("event id {:?} is not a UUID: {e}", self.id))
        })
    }
}

/// The fully qualified message name of a type URL: what follows the last
/// `/`, so `type.googleapis.com/a.B` and `/a.B` name the same type.
fn type_name(type_url: &str) -> &str {
    type_url.rsplit_once('/').map_or(type_url, |(_, name)| name)
}

/// Encodes an envelope for the outbox and the wire.
pub(crate) fn encode(envelope: &EventEnvelope) -> Vec<u8> {
    envelope.encode_to_vec()
}

/// Decodes an envelope from the outbox or the wire, and checks the fields
/// every consumer relies on (a UUID id and a type).
pub(crate) fn decode(bytes: &[u8]) -> Result<EventEnvelope, EventError> {
    let envelope = EventEnvelope::decode(bytes)?;
    envelope.event_id()?;
    if envelope.r#type.is_empty() {
        return Err(EventError::InvalidEnvelope(format!(
            "event {} has no type",
            envelope.id
        )));
    }
    Ok(envelope)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn envelope_with(payload: prost_types::Any) -> EventEnvelope {
        EventEnvelope {
            id: uuid::Uuid::now_v7().to_string(),
            r#type: "test.thing.happened".into(),
            payload: Some(payload),
            ..Default::default()
        }
    }

    #[test]
    fn payload_round_trips_through_an_event() {
        let duration = prost_types::Duration {
            seconds: 42,
            nanos: 7,
        };
        let event = Event::new("test.thing.happened", "330000", "thing-1", &duration);
        assert_eq!(
            type_name(&event.payload.type_url),
            "google.protobuf.Duration"
        );
        let envelope = envelope_with(event.payload);
        let decoded: prost_types::Duration = envelope.decode_payload().expect("payload decodes");
        assert_eq!(decoded, duration);
    }

    #[test]
    fn payload_of_another_type_is_refused() {
        let event = Event::new("t.a.b", "330000", "s", &prost_types::Duration::default());
        let envelope = envelope_with(event.payload);
        let error = envelope
            .decode_payload::<prost_types::Timestamp>()
            .expect_err("a Duration is not a Timestamp");
        assert!(matches!(error, EventError::PayloadType { .. }), "{error}");
    }

    #[test]
    fn type_urls_with_a_domain_match_the_bare_name() {
        let mut payload = Event::new(
            "t.a.b",
            "1",
            "s",
            &prost_types::Duration {
                seconds: 1,
                nanos: 0,
            },
        )
        .payload;
        payload.type_url = "type.googleapis.com/google.protobuf.Duration".into();
        let decoded: prost_types::Duration =
            envelope_with(payload).decode_payload().expect("decodes");
        assert_eq!(decoded.seconds, 1);
    }

    #[test]
    fn missing_payload_is_an_error() {
        let envelope = EventEnvelope {
            id: uuid::Uuid::now_v7().to_string(),
            ..Default::default()
        };
        assert!(matches!(
            envelope.decode_payload::<prost_types::Duration>(),
            Err(EventError::InvalidEnvelope(_))
        ));
    }

    #[test]
    fn event_id_parses_uuids_only() {
        let id = uuid::Uuid::now_v7();
        let mut envelope = EventEnvelope {
            id: id.to_string(),
            ..Default::default()
        };
        assert_eq!(envelope.event_id().expect("valid id"), id);
        envelope.id = "not-a-uuid".into();
        assert!(envelope.event_id().is_err());
    }

    #[test]
    fn decode_rejects_garbage_and_incomplete_envelopes() {
        assert!(decode(b"\xff\xff\xff not protobuf").is_err());
        let without_type = EventEnvelope {
            id: uuid::Uuid::now_v7().to_string(),
            ..Default::default()
        };
        assert!(decode(&encode(&without_type)).is_err());
        let good =
            envelope_with(Event::new("t.a.b", "1", "s", &prost_types::Duration::default()).payload);
        assert_eq!(decode(&encode(&good)).expect("decodes"), good);
    }
}
