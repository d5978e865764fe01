//! The real RabbitMQ broker, seen by one test: an exchange and queue names
//! of its own (so parallel tests and reruns never share anything), a
//! configuration with test-sized timeouts, direct lapin access for
//! inspecting queues, and removal of everything the test declared.

use std::sync::Mutex;
use std::time::Duration;

use lapin::options::{BasicGetOptions, QueueBindOptions, QueueDeclareOptions};
use lapin::types::{AMQPValue, FieldTable};
use lapin::{BasicProperties, Channel, Connection, ConnectionProperties};
use zhongtai_events::{EventBus, EventEnvelope, RabbitBus, RabbitConfig, Subscription};
use zhongtai_testkit::amqp_url;

pub struct Broker {
    prefix: String,
    exchange: String,
    queues: Mutex<Vec<String>>,
}

impl Broker {
    /// A bus connected to the real broker with this test's exchange.
    pub async fn bus(&self) -> std::sync::Arc<dyn EventBus> {
        std::sync::Arc::new(
            RabbitBus::connect(self.config())
                .await
                .expect("broker reachable"),
        )
    }

    /// Names for `test`, unique to this run.
    pub fn new(test: &str) -> Self {
        let prefix = format!("zt-test.{test}.{}", uuid::Uuid::new_v4().simple());
        Self {
            exchange: format!("{prefix}.events"),
            prefix,
            queues: Mutex::new(Vec::new()),
        }
    }

    /// Configuration of a bus on this test's exchange at the test broker.
    pub fn config(&self) -> RabbitConfig {
        self.config_at(&amqp_url())
    }

    /// Configuration of a bus on this test's exchange at `url`.
    pub fn config_at(&self, url: &str) -> RabbitConfig {
        RabbitConfig {
            url: url.to_owned(),
            exchange: self.exchange.clone(),
            queue_prefix: String::new(),
            connection_name: self.prefix.clone(),
            connect_timeout: Duration::from_secs(5),
            publish_timeout: Duration::from_secs(20),
            reconnect_backoff_initial: Duration::from_millis(50),
            reconnect_backoff_max: Duration::from_millis(500),
        }
    }

    /// A subscription named after the test, with quick retries; its queues
    /// are removed when the broker fixture is dropped.
    pub fn subscription(&self, name: &str, bindings: &[&str]) -> Subscription {
        let mut subscription =
            Subscription::new(format!("{}.{name}", self.prefix), bindings.iter().copied());
        subscription.retry_delay = Duration::from_millis(200);
        let mut queues = self.queues.lock().expect("queue list lock");
        queues.push(subscription.name.clone());
        queues.push(subscription.retry_queue());
        queues.push(subscription.dead_letter_queue());
        subscription
    }

    /// A direct channel to the broker, for inspecting queues.
    pub async fn channel(&self) -> (Connection, Channel) {
        let connection = Connection::connect(&amqp_url(), ConnectionProperties::default())
            .await
            .expect("RabbitMQ at ZT_TEST_AMQP_URL is required for this test");
        let channel = connection.create_channel().await.expect("channel opens");
        (connection, channel)
    }

    /// Declares a queue of the test that receives a copy of every event on
    /// the exchange (the exchange must exist).
    pub async fn tap(&self, channel: &Channel, name: &str) -> String {
        let queue = format!("{}.{name}", self.prefix);
        self.queues
            .lock()
            .expect("queue list lock")
            .push(queue.clone());
        channel
            .queue_declare(
                queue.as_str().into(),
                QueueDeclareOptions::default(),
                FieldTable::default(),
            )
            .await
            .expect("tap queue is declared");
        channel
            .queue_bind(
                queue.as_str().into(),
                self.exchange.as_str().into(),
                "#".into(),
                QueueBindOptions::default(),
                FieldTable::default(),
            )
            .await
            .expect("tap queue is bound");
        queue
    }

    /// Messages currently ready in `queue`.
    pub async fn ready_count(&self, channel: &Channel, queue: &str) -> u32 {
        channel
            .queue_declare(
                queue.into(),
                QueueDeclareOptions {
                    passive: true,
                    ..QueueDeclareOptions::default()
                },
                FieldTable::default(),
            )
            .await
            .expect("queue exists")
            .message_count()
    }

    /// Takes every message ready in `queue` (acknowledging them).
    pub async fn drain(&self, channel: &Channel, queue: &str) -> Vec<Taken> {
        let mut taken = Vec::new();
        while let Some(message) = channel
            .basic_get(queue.into(), BasicGetOptions { no_ack: true })
            .await
            .expect("basic_get succeeds")
        {
            let envelope =
                <EventEnvelope as prost::Message>::decode(message.delivery.data.as_slice())
                    .expect("message body is an event envelope");
            taken.push(Taken {
                envelope,
                properties: message.delivery.properties.clone(),
            });
        }
        taken
    }
}

/// A message taken from a queue.
pub struct Taken {
    pub envelope: EventEnvelope,
    pub properties: BasicProperties,
}

impl Taken {
    /// A header as text (string headers) or number (integer headers).
    pub fn header(&self, key: &str) -> Option<HeaderValue> {
        let headers = self.properties.headers().as_ref()?;
        match headers.inner().get(key)? {
            AMQPValue::LongString(value) => Some(HeaderValue::Text(
                String::from_utf8_lossy(value.as_bytes()).into_owned(),
            )),
            AMQPValue::ShortString(value) => Some(HeaderValue::Text(value.as_str().to_owned())),
            AMQPValue::LongLongInt(value) => Some(HeaderValue::Number(*value)),
            AMQPValue::LongInt(value) => Some(HeaderValue::Number(i64::from(*value))),
            other => panic!("header {key} has an unexpected type: {other:?}"),
        }
    }

    pub fn text_header(&self, key: &str) -> String {
        match self.header(key) {
            Some(HeaderValue::Text(text)) => text,
            other => panic!("header {key} is not text: {other:?}"),
        }
    }

    pub fn number_header(&self, key: &str) -> i64 {
        match self.header(key) {
            Some(HeaderValue::Number(number)) => number,
            other => panic!("header {key} is not a number: {other:?}"),
        }
    }
}

#[derive(Debug, PartialEq, Eq)]
pub enum HeaderValue {
    Text(String),
    Number(i64),
}

impl Drop for Broker {
    fn drop(&mut self) {
        // Removal needs async I/O; run it on a throwaway runtime in its own
        // thread so it works from inside or outside the test's runtime.
        let queues = std::mem::take(&mut *self.queues.lock().unwrap_or_else(|e| e.into_inner()));
        let exchange = self.exchange.clone();
        let remover = std::thread::spawn(move || {
            let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            runtime.block_on(remove(queues, exchange));
        });
        let _ = remover.join();
    }
}

async fn remove(queues: Vec<String>, exchange: String) {
    let Ok(connection) = Connection::connect(&amqp_url(), ConnectionProperties::default()).await
    else {
        return;
    };
    for queue in queues {
        // A failed delete closes the channel, so each gets a fresh one.
        if let Ok(channel) = connection.create_channel().await {
            let _ = channel
                .queue_delete(queue.as_str().into(), Default::default())
                .await;
            let _ = channel.close(200, "done".into()).await;
        }
    }
    if let Ok(channel) = connection.create_channel().await {
        let _ = channel
            .exchange_delete(exchange.as_str().into(), Default::default())
            .await;
    }
    let _ = connection.close(200, "test cleanup".into()).await;
}
