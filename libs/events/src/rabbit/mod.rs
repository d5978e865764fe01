//! The RabbitMQ bus: one connection per bus (re-established with backoff
//! when it breaks), a durable topic exchange, publisher confirms on every
//! publish, and per-subscription queues with retry and dead-letter queues.

mod link;
mod message;
mod queues;
mod subscriber;
mod trace;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tracing::Instrument;
use zhongtai_contracts::events::v1::EventEnvelope;

use crate::backoff::Backoff;
use crate::bus::{ConsumerHandle, EventBus, Subscription};
use crate::consumer::Consumer;
use crate::envelope;
use crate::error::EventError;
use link::Link;

pub use message::{ATTEMPT_HEADER, ERROR_HEADER, ORIGINAL_ROUTING_KEY_HEADER, TENANT_HEADER};
pub use queues::{QUEUE_CONTENT_TYPE, QUEUE_MESSAGE_TYPE, QueueMessage, QueuePublisher};

/// Where the broker is and how patiently to talk to it.
#[derive(Clone)]
pub struct RabbitConfig {
    /// `amqp://user:password@host:port/vhost` (vhost URL-encoded, `%2f` for `/`).
    pub url: String,
    /// The durable topic exchange events are published to.
    pub exchange: String,
    /// Prefix of every consumer queue (`<prefix>.<subscription>`), so two
    /// platforms sharing one vhost (staging beside production, test meshes)
    /// never consume each other's events from a queue both declared. Empty
    /// keeps plain subscription names.
    pub queue_prefix: String,
    /// Connection name shown in the broker's management UI.
    pub connection_name: String,
    /// Longest wait for one connection attempt.
    pub connect_timeout: Duration,
    /// Longest a publish waits for a connection and the broker's confirm
    /// (reconnect attempts included) before it fails.
    pub publish_timeout: Duration,
    /// First delay between reconnect attempts.
    pub reconnect_backoff_initial: Duration,
    /// Longest delay between reconnect attempts.
    pub reconnect_backoff_max: Duration,
}

impl Default for RabbitConfig {
    fn default() -> Self {
        Self {
            url: "amqp://guest:guest@127.0.0.1:5672/%2f".into(),
            exchange: "zhongtai.events".into(),
            queue_prefix: String::new(),
            connection_name: "zhongtai".into(),
            connect_timeout: Duration::from_secs(10),
            publish_timeout: Duration::from_secs(15),
            reconnect_backoff_initial: Duration::from_millis(200),
            reconnect_backoff_max: Duration::from_secs(30),
        }
    }
}

impl std::fmt::Debug for RabbitConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RabbitConfig")
            .field("url", &redact_password(&self.url))
            .field("exchange", &self.exchange)
            .field("connection_name", &self.connection_name)
            .field("connect_timeout", &self.connect_timeout)
            .field("publish_timeout", &self.publish_timeout)
            .field("reconnect_backoff_initial", &self.reconnect_backoff_initial)
            .field("reconnect_backoff_max", &self.reconnect_backoff_max)
            .finish()
    }
}

impl RabbitConfig {
    fn validate(&self) -> Result<(), EventError> {
        self.url.parse::<lapin::uri::AMQPUri>().map_err(|e| {
            EventError::Config(format!("AMQP url {}: {e}", redact_password(&self.url)))
        })?;
        if self.exchange.is_empty()
            || self.exchange.len() > 255
            || self.exchange.starts_with("amq.")
        {
            return Err(EventError::Config(format!(
                "exchange name {:?} must be 1..=255 bytes and not start with \"amq.\"",
                self.exchange
            )));
        }
        if self.connect_timeout.is_zero() || self.publish_timeout.is_zero() {
            return Err(EventError::Config("timeouts must be positive".into()));
        }
        Ok(())
    }
}

/// `amqp://user:secret@host` → `amqp://user:***@host`, for logs.
fn redact_password(url: &str) -> String {
    let Some(scheme_end) = url.find("://").map(|i| i + 3) else {
        return url.to_owned();
    };
    let authority_end = url[scheme_end..]
        .find('/')
        .map_or(url.len(), |i| scheme_end + i);
    let authority = &url[scheme_end..authority_end];
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, _)) => format!(
                "{}{user}:***@{host}{}",
                &url[..scheme_end],
                &url[authority_end..]
            ),
            None => url.to_owned(),
        },
        None => url.to_owned(),
    }
}

/// The production [`EventBus`] on RabbitMQ. Cheap to clone; clones share
/// the connection.
#[derive(Clone)]
pub struct RabbitBus {
    link: Arc<Link>,
}

impl std::fmt::Debug for RabbitBus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RabbitBus")
            .field("config", &self.link.config)
            .finish()
    }
}

impl RabbitBus {
    /// Connects and declares the exchange. An unreachable broker is
    /// [`EventError::Unavailable`] after at most `connect_timeout`; callers
    /// retry, or use [`RabbitBus::new`] to start without the broker.
    pub async fn connect(config: RabbitConfig) -> Result<Self, EventError> {
        let bus = Self::new(config)?;
        bus.link.session().await?;
        Ok(bus)
    }

    /// A bus that connects on first use: a service can start while the
    /// broker is down, its relay keeps the events until it is back.
    pub fn new(config: RabbitConfig) -> Result<Self, EventError> {
        config.validate()?;
        Ok(Self {
            link: Arc::new(Link::new(config)),
        })
    }

    /// The configuration the bus runs with.
    pub fn config(&self) -> &RabbitConfig {
        &self.link.config
    }

    /// Stops every consumer of this bus and closes the connection; later
    /// publishes fail with [`EventError::Closed`].
    pub async fn close(&self) {
        self.link.close().await;
    }
}

#[async_trait::async_trait]
impl EventBus for RabbitBus {
    async fn publish(&self, envelope: &EventEnvelope) -> Result<(), EventError> {
        let span = trace::publish_span(&self.link.config.exchange, envelope);
        // The consumer continues from the publish span, so the trace shows
        // the hop through the broker (and how long the confirm took).
        let trace_context = zhongtai_telemetry::propagation::context_map(&span);
        let published = self
            .publish_with_retries(envelope, &trace_context)
            .instrument(span.clone())
            .await;
        if published.is_err() {
            trace::record_failure(&span);
        }
        published
    }

    async fn subscribe(
        &self,
        subscription: Subscription,
        consumer: Consumer,
    ) -> Result<ConsumerHandle, EventError> {
        let subscription = namespaced(subscription, &self.link.config.queue_prefix);
        subscriber::start(self.link.clone(), subscription, consumer).await
    }
}

impl RabbitBus {
    /// Publishes with a confirm, reconnecting and retrying transport
    /// failures until `publish_timeout`.
    async fn publish_with_retries(
        &self,
        envelope: &EventEnvelope,
        trace_context: &HashMap<String, String>,
    ) -> Result<(), EventError> {
        let properties = message::event_properties(envelope, trace_context)?;
        let body = envelope::encode(envelope);
        let config = &self.link.config;
        let started = Instant::now();
        let mut last_error = String::from("no attempt finished");
        let mut backoff = Backoff::new(
            config.reconnect_backoff_initial,
            config.reconnect_backoff_max,
        );
        let attempts = async {
            loop {
                let error = match self.link.session().await {
                    Ok(session) => match message::publish_confirmed(
                        &session.publisher,
                        &config.exchange,
                        &envelope.r#type,
                        &body,
                        properties.clone(),
                        false,
                        &envelope.id,
                    )
                    .await
                    {
                        Ok(()) => return Ok(()),
                        // The broker answered: it will not take this message.
                        Err(error @ (EventError::Nacked { .. } | EventError::Config(_))) => {
                            return Err(error);
                        }
                        Err(error) => error,
                    },
                    Err(error @ (EventError::Closed | EventError::Config(_))) => return Err(error),
                    Err(error) => error,
                };
                last_error = error.to_string();
                let delay = backoff.next_delay();
                tracing::warn!(
                    event.id = %envelope.id,
                    error = %error,
                    attempt = backoff.attempt(),
                    retry_in_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
                    "event publish failed, retrying"
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
}

/// The subscription with its queues under `prefix` (see
/// [`RabbitConfig::queue_prefix`]).
fn namespaced(mut subscription: Subscription, prefix: &str) -> Subscription {
    if !prefix.is_empty() {
        subscription.name = format!("{prefix}.{}", subscription.name);
    }
    subscription
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_never_reach_debug_output() {
        let config = RabbitConfig {
            url: "amqp://svc:s3cret@mq.internal:5672/%2f".into(),
            ..RabbitConfig::default()
        };
        let printed = format!("{config:?}");
        assert!(!printed.contains("s3cret"), "{printed}");
        assert!(
            printed.contains("amqp://svc:***@mq.internal:5672/%2f"),
            "{printed}"
        );
        assert_eq!(redact_password("amqp://localhost"), "amqp://localhost");
    }

    #[test]
    fn queues_take_the_prefix() {
        let subscription = Subscription::new("certificate.issue-on-approval", ["approval.#"]);
        assert_eq!(
            namespaced(subscription.clone(), "").name,
            "certificate.issue-on-approval"
        );
        assert_eq!(
            namespaced(subscription, "zt-scenario-1").name,
            "zt-scenario-1.certificate.issue-on-approval"
        );
    }

    #[test]
    fn configuration_is_validated() {
        assert!(RabbitBus::new(RabbitConfig::default()).is_ok());
        let bad_exchange = RabbitConfig {
            exchange: String::new(),
            ..RabbitConfig::default()
        };
        assert!(RabbitBus::new(bad_exchange).is_err());
        let bad_url = RabbitConfig {
            url: "not a url".into(),
            ..RabbitConfig::default()
        };
        assert!(RabbitBus::new(bad_url).is_err());
    }
}
