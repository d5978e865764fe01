//! Events the tests publish: a `google.protobuf.Duration` payload whose
//! seconds number the event, so a test can tell them apart.

use zhongtai_events::{Event, EventEnvelope};

/// The type (routing key) of every test event.
pub const EVENT_TYPE: &str = "test.thing.happened";
/// The binding that matches it.
pub const BINDING: &str = "test.thing.*";

/// Events numbered `first..first + count` about `subject`.
pub fn numbered(subject: &str, first: i64, count: i64) -> Vec<Event> {
    (first..first + count)
        .map(|number| {
            Event::new(
                EVENT_TYPE,
                "330000",
                subject,
                &prost_types::Duration {
                    seconds: number,
                    nanos: 0,
                },
            )
        })
        .collect()
}

/// A complete envelope of event `number`, for publishing straight to a bus
/// without an outbox.
pub fn envelope(subject: &str, number: i64) -> EventEnvelope {
    let event = numbered(subject, number, 1).remove(0);
    EventEnvelope {
        id: uuid::Uuid::now_v7().to_string(),
        r#type: event.event_type,
        tenant: event.tenant,
        source: "events-test".into(),
        subject: event.subject,
        occurred_at: Some(prost_types::Timestamp::from(std::time::SystemTime::now())),
        trace_context: Default::default(),
        payload: Some(event.payload),
    }
}
