//! Domain events: envelope, transactional outbox, relay to RabbitMQ with publisher confirms, consumers with inbox deduplication and dead-lettering, and an in-process bus.
//!
//! The promise is "nothing lost, nothing done twice":
//! - a service appends events with [`outbox::append`] in the transaction of
//!   its state change, so both commit or neither does;
//! - a [`Relay`] publishes committed events in order through an
//!   [`EventBus`] and marks them sent only after the broker confirmed them;
//!   a crash in between publishes them again;
//! - a [`Consumer`] runs each event's [`EventHandler`] in a transaction that
//!   also records the event id in an inbox, and the bus acknowledges only
//!   after that commit, so a redelivered event has no second effect;
//! - events that keep failing end in a dead-letter queue after bounded
//!   retries.
//!
//! [`RabbitBus`] is the production transport, [`InProcessBus`] the embedded
//! one. [`migration`] holds the tables both need.

#![forbid(unsafe_code)]

mod backoff;
mod bus;
mod consumer;
mod envelope;
mod error;
mod in_process;
pub mod migration;
pub mod outbox;
mod rabbit;
mod relay;

pub use bus::{ConsumerHandle, EventBus, Subscription};
pub use consumer::{Consumer, ConsumerStats, EventHandler, Outcome, purge_inbox};
pub use envelope::{EnvelopeExt, Event};
pub use error::{BoxError, EventError, HandlerError};
pub use in_process::{DeadLetter, InProcessBus};
pub use rabbit::{
    ATTEMPT_HEADER, ERROR_HEADER, ORIGINAL_ROUTING_KEY_HEADER, QUEUE_CONTENT_TYPE,
    QUEUE_MESSAGE_TYPE, QueueMessage, QueuePublisher, RabbitBus, RabbitConfig, TENANT_HEADER,
};
#[cfg(feature = "test-hooks")]
pub use relay::{AfterConfirm, AfterConfirmHook};
pub use relay::{Relay, RelayConfig};
pub use zhongtai_contracts::events::v1::EventEnvelope;
