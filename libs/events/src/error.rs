//! Errors of the events library: [`EventError`] for the machinery (encoding,
//! database, broker), [`HandlerError`] for what an event handler reports so
//! the bus knows whether to retry or dead-letter.

use std::time::Duration;

/// A boxed error from a handler or a lower layer.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Failure of the event machinery.
#[derive(Debug, thiserror::Error)]
pub enum EventError {
    /// Bytes that should hold an `EventEnvelope` do not decode as one.
    #[error("event envelope does not decode: {0}")]
    Decode(#[from] prost::DecodeError),
    /// The envelope decoded but is not usable (bad id, missing payload, ...).
    #[error("invalid event envelope: {0}")]
    InvalidEnvelope(String),
    /// The payload holds another message type than the one asked for.
    #[error("event payload is {actual}, expected {expected}")]
    PayloadType {
        /// Type URL the caller asked for.
        expected: String,
        /// Type URL the envelope carries.
        actual: String,
    },
    /// The database refused or failed a statement.
    #[error("database error: {0}")]
    Database(#[from] sea_orm::DbErr),
    /// The broker connection or channel failed.
    #[error("broker error: {0}")]
    Broker(#[from] lapin::Error),
    /// The broker answered a publish with a negative confirm: it did not take
    /// responsibility for the message.
    #[error("broker refused event {event_id} (negative publisher confirm)")]
    Nacked {
        /// Id of the refused event.
        event_id: String,
    },
    /// A message published with `mandatory` had no queue to go to.
    #[error("broker returned the message as unroutable: {0}")]
    Unroutable(String),
    /// The broker could not be reached (or did not confirm) in time.
    #[error("broker unavailable after {waited:?}: {last_error}")]
    Unavailable {
        /// How long the operation waited before giving up.
        waited: Duration,
        /// The last failure seen while waiting.
        last_error: String,
    },
    /// A configuration value cannot work.
    #[error("invalid configuration: {0}")]
    Config(String),
    /// A consumer lost its delivery stream (the broker cancelled it or the
    /// channel closed); it reconnects by itself.
    #[error("consumer interrupted: {0}")]
    Interrupted(String),
    /// The bus was shut down.
    #[error("event bus is closed")]
    Closed,
}

impl EventError {
    /// The database error behind this one, if a statement failed.
    pub fn database(&self) -> Option<&sea_orm::DbErr> {
        match self {
            Self::Database(error) => Some(error),
            _ => None,
        }
    }
}

/// What a handler reports when it cannot process an event. The bus retries
/// transient failures (with a delay, up to the subscription's
/// `max_attempts`) and sends permanent ones straight to the dead-letter
/// queue.
#[derive(Debug, thiserror::Error)]
pub enum HandlerError {
    /// May succeed later (a dependency is down, a lock timed out, ...).
    #[error("transient handler failure: {0}")]
    Transient(#[source] BoxError),
    /// Will never succeed for this event (bad payload, rule violation, ...).
    #[error("permanent handler failure: {0}")]
    Permanent(#[source] BoxError),
}

impl HandlerError {
    /// A failure worth retrying.
    pub fn transient(error: impl Into<BoxError>) -> Self {
        Self::Transient(error.into())
    }

    /// A failure no retry can fix.
    pub fn permanent(error: impl Into<BoxError>) -> Self {
        Self::Permanent(error.into())
    }

    /// True for [`HandlerError::Permanent`].
    pub fn is_permanent(&self) -> bool {
        matches!(self, Self::Permanent(_))
    }
}

impl From<sea_orm::DbErr> for HandlerError {
    /// Database failures inside a handler are treated as transient: the
    /// transaction rolled back, and the next attempt may well succeed.
    fn from(error: sea_orm::DbErr) -> Self {
        Self::Transient(Box::new(error))
    }
}
