//! The in-process bus for the embedded all-in-one mode: the same semantics
//! as the RabbitMQ bus (topic bindings, a queue per subscription that
//! outlives its consumers, retries with a delay, dead letters) in memory.
//! Publishing is durable for this process once the event is enqueued to
//! every matching subscription; a process crash loses what is enqueued but
//! not yet handled, which the embedded mode accepts.

mod topic;

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use zhongtai_contracts::events::v1::EventEnvelope;

use crate::backoff::Backoff;
use crate::bus::{ConsumerHandle, EventBus, Subscription};
use crate::consumer::{Consumer, Outcome};
use crate::error::{EventError, HandlerError};

/// First and longest waits while the consumer's database is unavailable.
const DATABASE_BACKOFF_INITIAL: Duration = Duration::from_millis(200);
const DATABASE_BACKOFF_MAX: Duration = Duration::from_secs(30);

/// A dead-lettered event and why.
#[derive(Debug, Clone, PartialEq)]
pub struct DeadLetter {
    /// The event as published.
    pub envelope: EventEnvelope,
    /// Handler attempts made.
    pub attempts: u32,
    /// The last failure.
    pub reason: String,
}

struct Message {
    envelope: Arc<EventEnvelope>,
    attempt: u32,
}

/// A subscription's queue: bindings, pending messages, dead letters.
#[derive(Default)]
struct Queue {
    bindings: Mutex<Vec<String>>,
    pending: Mutex<VecDeque<Message>>,
    ready: Notify,
    dead_letters: Mutex<Vec<DeadLetter>>,
}

impl Queue {
    fn push(&self, message: Message) {
        lock(&self.pending).push_back(message);
        self.ready.notify_waiters();
    }

    fn pop(&self) -> Option<Message> {
        lock(&self.pending).pop_front()
    }

    fn accepts(&self, routing_key: &str) -> bool {
        lock(&self.bindings)
            .iter()
            .any(|pattern| topic::matches(pattern, routing_key))
    }
}

/// Locks a mutex that guards plain data; a panic elsewhere cannot leave it
/// half-updated, so a poisoned lock is still usable.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The embedded-mode [`EventBus`]. Cheap to clone; clones share the queues.
#[derive(Clone, Default)]
pub struct InProcessBus {
    queues: Arc<Mutex<HashMap<String, Arc<Queue>>>>,
}

impl std::fmt::Debug for InProcessBus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<String> = lock(&self.queues).keys().cloned().collect();
        f.debug_struct("InProcessBus")
            .field("queues", &names)
            .finish()
    }
}

impl InProcessBus {
    /// An empty bus.
    pub fn new() -> Self {
        Self::default()
    }

    /// Events dead-lettered by the subscription so far, oldest first.
    pub fn dead_letters(&self, subscription: &str) -> Vec<EventEnvelope> {
        self.dead_letter_details(subscription)
            .into_iter()
            .map(|dead| dead.envelope)
            .collect()
    }

    /// Dead letters of the subscription with attempts and reasons.
    pub fn dead_letter_details(&self, subscription: &str) -> Vec<DeadLetter> {
        self.queue(subscription)
            .map(|queue| lock(&queue.dead_letters).clone())
            .unwrap_or_default()
    }

    /// Events waiting in the subscription's queue (retries in their delay
    /// not included).
    pub fn queued(&self, subscription: &str) -> usize {
        self.queue(subscription)
            .map(|queue| lock(&queue.pending).len())
            .unwrap_or(0)
    }

    fn queue(&self, name: &str) -> Option<Arc<Queue>> {
        lock(&self.queues).get(name).cloned()
    }

    /// The queue of `subscription`, created on first use; bindings add up
    /// like repeated AMQP bindings do.
    fn declare(&self, subscription: &Subscription) -> Arc<Queue> {
        let queue = lock(&self.queues)
            .entry(subscription.name.clone())
            .or_default()
            .clone();
        let mut bindings = lock(&queue.bindings);
        for binding in &subscription.bindings {
            if !bindings.contains(binding) {
                bindings.push(binding.clone());
            }
        }
        drop(bindings);
        queue
    }
}

#[async_trait::async_trait]
impl EventBus for InProcessBus {
    async fn publish(&self, envelope: &EventEnvelope) -> Result<(), EventError> {
        let envelope = Arc::new(envelope.clone());
        let queues: Vec<Arc<Queue>> = lock(&self.queues).values().cloned().collect();
        for queue in queues
            .iter()
            .filter(|queue| queue.accepts(&envelope.r#type))
        {
            queue.push(Message {
                envelope: envelope.clone(),
                attempt: 1,
            });
        }
        Ok(())
    }

    async fn subscribe(
        &self,
        subscription: Subscription,
        consumer: Consumer,
    ) -> Result<ConsumerHandle, EventError> {
        subscription.validate()?;
        let queue = self.declare(&subscription);
        let cancel = CancellationToken::new();
        let worker = Worker {
            queue,
            subscription,
            consumer,
        };
        let task = tokio::spawn(worker.run(cancel.clone()));
        Ok(ConsumerHandle::new(cancel, task))
    }
}

struct Worker {
    queue: Arc<Queue>,
    subscription: Subscription,
    consumer: Consumer,
}

impl Worker {
    async fn run(self, cancel: CancellationToken) {
        tracing::info!(subscription = %self.subscription.name, "in-process event consumer started");
        loop {
            // Register for the wake-up before looking, so a push between the
            // look and the wait is not missed.
            let ready = self.queue.ready.notified();
            tokio::pin!(ready);
            ready.as_mut().enable();
            if let Some(message) = self.queue.pop() {
                self.handle(message, &cancel).await;
                continue;
            }
            tokio::select! {
                _ = cancel.cancelled() => break,
                _ = &mut ready => {}
            }
        }
        tracing::info!(subscription = %self.subscription.name, "in-process event consumer stopped");
    }

    async fn handle(&self, message: Message, cancel: &CancellationToken) {
        let name = &self.subscription.name;
        let envelope = &message.envelope;
        let error = match self.attempt_until_database_answers(envelope, cancel).await {
            Some(Ok(_)) => return,
            Some(Err(error)) => error,
            None => {
                // Stopped while the database was down: keep the event for
                // whoever consumes this queue next.
                lock(&self.queue.pending).push_front(message);
                return;
            }
        };
        let give_up = match &error {
            HandlerError::Permanent(_) => true,
            HandlerError::Transient(_) => message.attempt >= self.subscription.max_attempts,
        };
        if give_up {
            let reason = error.to_string();
            tracing::warn!(
                subscription = %name,
                event.id = %envelope.id,
                event.r#type = %envelope.r#type,
                attempt = message.attempt,
                reason = %reason,
                "event dead-lettered"
            );
            self.consumer.record_dead_letter();
            lock(&self.queue.dead_letters).push(DeadLetter {
                envelope: envelope.as_ref().clone(),
                attempts: message.attempt,
                reason,
            });
            return;
        }
        let next_attempt = message.attempt + 1;
        let delay = self.subscription.retry_delay;
        tracing::info!(
            subscription = %name,
            event.id = %envelope.id,
            event.r#type = %envelope.r#type,
            attempt = next_attempt,
            retry_in_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
            "event scheduled for retry"
        );
        self.consumer.record_retry();
        // The delay runs beside the queue, like RabbitMQ's retry queue, so
        // other events keep flowing meanwhile.
        let queue = self.queue.clone();
        tokio::spawn(async move {
            tokio::time::sleep(delay).await;
            queue.push(Message {
                envelope: message.envelope,
                attempt: next_attempt,
            });
        });
    }
}

impl Worker {
    /// Runs the event until the handler has a verdict, waiting out outages
    /// of the consumer's database. `None` when stopped meanwhile.
    async fn attempt_until_database_answers(
        &self,
        envelope: &EventEnvelope,
        cancel: &CancellationToken,
    ) -> Option<Result<Outcome, HandlerError>> {
        let backoff = Backoff::new(DATABASE_BACKOFF_INITIAL, DATABASE_BACKOFF_MAX);
        self.consumer
            .attempt_until_database_answers(&self.subscription.name, envelope, backoff, cancel)
            .await
    }
}
