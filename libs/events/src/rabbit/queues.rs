//! Durable point-to-point queues: messages addressed to one named queue
//! through the default exchange, for receivers that each own a queue (the
//! exchange center's subscribers). Separate from the event bus's topic
//! exchange, on a connection of its own so a large delivery batch never
//! queues behind (or in front of) domain events.
//!
//! A batch is pipelined: every message is sent before any confirm is
//! awaited, so a batch costs one round trip rather than one per message.
//! It is all or error: when any message is refused or the connection breaks,
//! the whole batch is reported failed and the caller sends it again;
//! receivers tell the duplicates apart by their unchanged `message_id`.

use std::collections::HashSet;
use std::sync::{Arc, Weak};
use std::time::Instant;

use futures::future::join_all;
use lapin::options::{BasicPublishOptions, QueueDeclareOptions};
use lapin::types::{AMQPValue, FieldTable, ShortString};
use lapin::{BasicProperties, Confirmation, Connection};
use tokio::sync::Mutex;

use super::RabbitConfig;
use super::link::{Link, Session};
use crate::backoff::Backoff;
use crate::error::EventError;

/// MIME type of a queue message body (a prost-encoded message).
pub const QUEUE_CONTENT_TYPE: &str = "application/x-protobuf";
/// AMQP `type` of a queue message: the protobuf message its body holds.
pub const QUEUE_MESSAGE_TYPE: &str = "zhongtai.exchange.v1.ChangeRecord";
/// AMQP delivery mode 2: the broker writes the message to disk.
const PERSISTENT: u8 = 2;
/// Longest short string (queue names, message ids, header names) AMQP
/// carries.
const MAX_SHORT_STRING: usize = 255;

/// One message for a queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueMessage {
    pub body: Vec<u8>,
    /// Identical on every republish of the same content, so receivers
    /// deduplicate on it.
    pub message_id: String,
    /// Text headers (name, value).
    pub headers: Vec<(String, String)>,
}

/// Queues declared on one connection: a new connection (perhaps to a
/// restarted broker) declares them again.
#[derive(Default)]
struct Declared {
    connection: Weak<Connection>,
    queues: HashSet<String>,
}

impl Declared {
    /// Whether `queue` was declared on `connection` (forgetting
    /// declarations made on an earlier one).
    fn has(&mut self, connection: &Arc<Connection>, queue: &str) -> bool {
        if !Weak::ptr_eq(&self.connection, &Arc::downgrade(connection)) {
            self.connection = Arc::downgrade(connection);
            self.queues.clear();
        }
        self.queues.contains(queue)
    }
}

/// Publishes persistent messages to durable queues with publisher
/// confirms, reconnecting (with backoff) when the connection breaks.
pub struct QueuePublisher {
    link: Arc<Link>,
    declared: Mutex<Declared>,
}

impl std::fmt::Debug for QueuePublisher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("QueuePublisher")
            .field("config", &self.link.config)
            .finish()
    }
}

impl QueuePublisher {
    /// A publisher that connects on first use.
    pub fn new(config: RabbitConfig) -> Result<Self, EventError> {
        config.validate()?;
        Ok(Self {
            link: Arc::new(Link::new(config)),
            declared: Mutex::new(Declared::default()),
        })
    }

    /// The configuration the publisher runs with.
    pub fn config(&self) -> &RabbitConfig {
        &self.link.config
    }

    /// Declares `queue` durable (not exclusive, not auto-deleted), once per
    /// connection.
    pub async fn declare(&self, queue: &str) -> Result<(), EventError> {
        check_short("queue name", queue)?;
        let session = self.link.session().await?;
        self.declare_on(&session, queue).await
    }

    async fn declare_on(&self, session: &Session, queue: &str) -> Result<(), EventError> {
        let mut declared = self.declared.lock().await;
        if declared.has(&session.connection, queue) {
            return Ok(());
        }
        session
            .publisher
            .queue_declare(
                ShortString::from(queue),
                QueueDeclareOptions {
                    durable: true,
                    ..QueueDeclareOptions::default()
                },
                FieldTable::default(),
            )
            .await?;
        declared.queues.insert(queue.to_owned());
        Ok(())
    }

    /// Publishes `messages` to `queue` (declaring it first) and returns once
    /// the broker confirmed every one. Broken connections are retried with
    /// backoff, the whole batch again each time, until `publish_timeout`;
    /// a refused or unroutable message fails at once.
    pub async fn publish_batch(
        &self,
        queue: &str,
        messages: &[QueueMessage],
    ) -> Result<(), EventError> {
        check_short("queue name", queue)?;
        let prepared = messages
            .iter()
            .map(properties)
            .collect::<Result<Vec<_>, _>>()?;
        if messages.is_empty() {
            return Ok(());
        }
        let config = &self.link.config;
        let started = Instant::now();
        let mut last_error = String::from("no attempt finished");
        let mut backoff = Backoff::new(
            config.reconnect_backoff_initial,
            config.reconnect_backoff_max,
        );
        let attempts = async {
            loop {
                let error = match self.attempt(queue, messages, &prepared).await {
                    Ok(()) => return Ok(()),
                    Err(
                        error @ (EventError::Nacked { .. }
                        | EventError::Unroutable(_)
                        | EventError::Config(_)
                        | EventError::Closed),
                    ) => return Err(error),
                    Err(error) => error,
                };
                last_error = error.to_string();
                let delay = backoff.next_delay();
                tracing::warn!(
                    queue,
                    messages = messages.len(),
                    error = %error,
                    attempt = backoff.attempt(),
                    retry_in_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
                    "queue publish failed, retrying"
                );
                tokio::time::sleep(delay).await;
            }
        };
        match tokio::time::timeout(config.publish_timeout, attempts).await {
            Ok(result) => result,
            Err(_) => Err(EventError::Unavailable {
                waited: started.elapsed(),
                last_error,
            }),
        }
    }

    /// One pipelined round: send every message, then await every confirm.
    async fn attempt(
        &self,
        queue: &str,
        messages: &[QueueMessage],
        prepared: &[BasicProperties],
    ) -> Result<(), EventError> {
        let session = self.link.session().await?;
        self.declare_on(&session, queue).await?;
        let mut pending = Vec::with_capacity(messages.len());
        for (message, properties) in messages.iter().zip(prepared) {
            let confirm = session
                .publisher
                .basic_publish(
                    ShortString::from(""),
                    ShortString::from(queue),
                    BasicPublishOptions {
                        mandatory: true,
                        ..BasicPublishOptions::default()
                    },
                    &message.body,
                    properties.clone(),
                )
                .await?;
            pending.push(confirm);
        }
        let mut failure = None;
        for (message, confirmation) in messages.iter().zip(join_all(pending).await) {
            let outcome = match confirmation {
                Ok(Confirmation::Ack(None)) => continue,
                Ok(Confirmation::Ack(Some(returned))) => {
                    EventError::Unroutable(format!("{} ({queue})", returned.reply_text))
                }
                Ok(Confirmation::Nack(_)) => EventError::Nacked {
                    event_id: message.message_id.clone(),
                },
                Ok(Confirmation::NotRequested) => {
                    EventError::Config("publishing channel is not in confirm mode".into())
                }
                Err(error) => EventError::Broker(error),
            };
            failure.get_or_insert(outcome);
        }
        if let Some(EventError::Unroutable(_)) = &failure {
            // The queue was deleted behind our back: declare it again on the
            // next attempt instead of trusting the cache forever.
            self.declared.lock().await.queues.remove(queue);
        }
        failure.map_or(Ok(()), Err)
    }

    /// Closes the connection; later publishes fail with
    /// [`EventError::Closed`].
    pub async fn close(&self) {
        self.link.close().await;
    }
}

fn check_short(what: &str, value: &str) -> Result<(), EventError> {
    if value.is_empty() || value.len() > MAX_SHORT_STRING {
        return Err(EventError::Config(format!(
            "{what} must be 1..={MAX_SHORT_STRING} bytes"
        )));
    }
    Ok(())
}

fn properties(message: &QueueMessage) -> Result<BasicProperties, EventError> {
    check_short("message id", &message.message_id)?;
    let mut headers = FieldTable::default();
    for (name, value) in &message.headers {
        check_short("header name", name)?;
        headers.insert(
            ShortString::from(name.as_str()),
            AMQPValue::LongString(value.as_str().into()),
        );
    }
    let mut properties = BasicProperties::default()
        .with_delivery_mode(PERSISTENT)
        .with_content_type(QUEUE_CONTENT_TYPE.into())
        .with_type(QUEUE_MESSAGE_TYPE.into())
        .with_message_id(message.message_id.as_str().into())
        .with_headers(headers);
    if let Ok(seconds) = u64::try_from(chrono::Utc::now().timestamp()) {
        properties = properties.with_timestamp(seconds);
    }
    Ok(properties)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(id: &str) -> QueueMessage {
        QueueMessage {
            body: vec![1, 2],
            message_id: id.into(),
            headers: vec![("x-line".into(), "l".into())],
        }
    }

    #[test]
    fn messages_are_persistent_protobuf_with_their_id() {
        let properties = properties(&message("m-1")).unwrap_or_default();
        assert_eq!(properties.delivery_mode(), &Some(PERSISTENT));
        assert_eq!(
            properties.message_id().as_ref().map(|id| id.as_str()),
            Some("m-1")
        );
        assert_eq!(
            properties.content_type().as_ref().map(|t| t.as_str()),
            Some(QUEUE_CONTENT_TYPE)
        );
    }

    #[test]
    fn oversized_names_are_refused_before_sending() {
        assert!(properties(&message("")).is_err());
        assert!(properties(&message(&"x".repeat(256))).is_err());
        assert!(check_short("queue name", &"q".repeat(256)).is_err());
    }
}
