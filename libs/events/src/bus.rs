//! The bus abstraction both transports implement ([`EventBus`]), what a
//! consumer subscribes with ([`Subscription`]) and the handle that stops it.

use std::time::Duration;

use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use zhongtai_contracts::events::v1::EventEnvelope;

use crate::consumer::Consumer;
use crate::error::EventError;

/// Publishes events and runs consumers; RabbitMQ in production
/// ([`RabbitBus`](crate::RabbitBus)), memory in the embedded mode
/// ([`InProcessBus`](crate::InProcessBus)). Used as `Arc<dyn EventBus>`.
#[async_trait::async_trait]
pub trait EventBus: Send + Sync + 'static {
    /// Resolves only once the broker has durably accepted the event (publisher
    /// confirm); a Nack or a closed channel is an error.
    async fn publish(&self, envelope: &EventEnvelope) -> Result<(), EventError>;

    /// Starts consuming; returns a handle that stops the consumer when asked.
    async fn subscribe(
        &self,
        subscription: Subscription,
        consumer: Consumer,
    ) -> Result<ConsumerHandle, EventError>;
}

/// A named, durable consumer group: its queue receives every event whose
/// type matches one of the bindings, and survives consumer restarts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscription {
    /// Durable queue name and inbox consumer name, e.g.
    /// `certificate.issue-on-approval`. `<name>.retry` and `<name>.dlq` are
    /// derived from it.
    pub name: String,
    /// Routing-key patterns (`*` one word, `#` zero or more), e.g.
    /// `approval.application.*`.
    pub bindings: Vec<String>,
    /// Deliveries the broker may push ahead of acknowledgement.
    pub prefetch: u16,
    /// Handler attempts (first delivery included) before a transiently
    /// failing event is dead-lettered.
    pub max_attempts: u32,
    /// Wait before a transiently failed event is delivered again.
    pub retry_delay: Duration,
}

/// Longest queue name AMQP accepts.
const MAX_QUEUE_NAME_BYTES: usize = 255;

impl Subscription {
    /// A subscription with the default prefetch (16), attempts (5) and retry
    /// delay (5 s).
    pub fn new<I, S>(name: impl Into<String>, bindings: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Self {
            name: name.into(),
            bindings: bindings.into_iter().map(Into::into).collect(),
            prefetch: 16,
            max_attempts: 5,
            retry_delay: Duration::from_secs(5),
        }
    }

    /// Name of the queue transiently failed events wait in.
    pub fn retry_queue(&self) -> String {
        format!("{}.retry", self.name)
    }

    /// Name of the dead-letter queue.
    pub fn dead_letter_queue(&self) -> String {
        format!("{}.dlq", self.name)
    }

    /// Checks the values before anything is declared.
    pub fn validate(&self) -> Result<(), EventError> {
        let fail = |problem: &str| {
            Err(EventError::Config(format!(
                "subscription {:?}: {problem}",
                self.name
            )))
        };
        if self.name.is_empty() {
            return fail("name is empty");
        }
        if self.name.starts_with("amq.") {
            return fail("names starting with \"amq.\" are reserved by the broker");
        }
        if self.dead_letter_queue().len().max(self.retry_queue().len()) > MAX_QUEUE_NAME_BYTES {
            return fail("name is too long");
        }
        if self.bindings.is_empty() {
            return fail("has no bindings");
        }
        if let Some(binding) = self
            .bindings
            .iter()
            .find(|b| b.is_empty() || b.len() > MAX_QUEUE_NAME_BYTES)
        {
            return fail(&format!("binding {binding:?} is empty or too long"));
        }
        if self.prefetch == 0 {
            return fail("prefetch must be at least 1 (0 means unbounded)");
        }
        if self.max_attempts == 0 {
            return fail("max_attempts must be at least 1");
        }
        if self.retry_delay.as_millis() > u128::from(u32::MAX) {
            return fail("retry_delay is too long");
        }
        Ok(())
    }
}

/// A running consumer. [`stop`](ConsumerHandle::stop) lets the event in
/// hand finish (its transaction commits and it is acknowledged), then
/// stops. Dropping the handle leaves the consumer running.
#[must_use = "dropping the handle leaves the consumer running with no way to stop it"]
#[derive(Debug)]
pub struct ConsumerHandle {
    cancel: CancellationToken,
    task: JoinHandle<()>,
}

impl ConsumerHandle {
    pub(crate) fn new(cancel: CancellationToken, task: JoinHandle<()>) -> Self {
        Self { cancel, task }
    }

    /// Stops consuming and waits until the consumer has let go of its
    /// deliveries.
    pub async fn stop(self) {
        self.cancel.cancel();
        if let Err(error) = self.task.await {
            tracing::error!(error = %error, "event consumer task ended abnormally");
        }
    }

    /// True once the consumer task has ended.
    pub fn is_finished(&self) -> bool {
        self.task.is_finished()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subscriptions_are_validated() {
        let good = Subscription::new("certificate.issue-on-approval", ["approval.application.*"]);
        assert!(good.validate().is_ok());
        assert_eq!(good.retry_queue(), "certificate.issue-on-approval.retry");
        assert_eq!(
            good.dead_letter_queue(),
            "certificate.issue-on-approval.dlq"
        );

        let no_bindings = Subscription::new("x", Vec::<String>::new());
        assert!(no_bindings.validate().is_err());
        let mut zero_prefetch = good.clone();
        zero_prefetch.prefetch = 0;
        assert!(zero_prefetch.validate().is_err());
        let mut zero_attempts = good.clone();
        zero_attempts.max_attempts = 0;
        assert!(zero_attempts.validate().is_err());
        let reserved = Subscription::new("amq.gen", ["a.b"]);
        assert!(reserved.validate().is_err());
        let too_long = Subscription::new("q".repeat(252), ["a.b"]);
        assert!(too_long.validate().is_err());
    }
}
