//! Idempotent event handling shared by both buses: every event runs in one
//! database transaction that records it in the inbox and carries the
//! handler's state changes, so a redelivered event has no second effect.

mod inbox;
pub(crate) mod metrics;

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use futures::FutureExt;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, DatabaseTransaction, EntityTrait,
    QueryFilter, Set, TryInsertResult,
};
use tracing::Instrument;
use zhongtai_contracts::events::v1::EventEnvelope;

use tokio_util::sync::CancellationToken;

use crate::backoff::{Backoff, sleep_unless_cancelled};
use crate::error::{EventError, HandlerError};
use metrics::{EventOutcome, METRICS};

/// Application code that reacts to events.
#[async_trait::async_trait]
pub trait EventHandler: Send + Sync + 'static {
    /// Runs inside the consumer's transaction: state changes made through `txn`
    /// commit together with the inbox record.
    async fn handle(
        &self,
        txn: &DatabaseTransaction,
        event: &EventEnvelope,
    ) -> Result<(), HandlerError>;
}

/// What [`Consumer::process`] did with an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The handler ran and its transaction committed.
    Processed,
    /// The inbox already held the event; nothing ran, nothing changed.
    Duplicate,
}

/// Counters of one [`Consumer`] since it was created (all its clones share
/// them), for metrics and tests.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ConsumerStats {
    /// Events whose handler committed.
    pub processed: u64,
    /// Redelivered events the inbox dropped.
    pub duplicates: u64,
    /// Handler runs that failed (each attempt counts).
    pub failed: u64,
    /// Events sent for another attempt after a transient failure.
    pub retried: u64,
    /// Events given up on and dead-lettered.
    pub dead_lettered: u64,
}

/// Why [`Consumer::attempt`] did not finish an event.
#[derive(Debug)]
enum Failure {
    /// The handler failed; its verdict decides between retry and dead letter.
    Handler(HandlerError),
    /// The consumer's own statements failed (database down, connection
    /// lost): no attempt was spent, the event should wait for the database.
    Database(sea_orm::DbErr),
}

impl Failure {
    fn into_handler_error(self) -> HandlerError {
        match self {
            Self::Handler(error) => error,
            Self::Database(error) => HandlerError::from(error),
        }
    }
}

#[derive(Default)]
struct Counters {
    processed: AtomicU64,
    duplicates: AtomicU64,
    failed: AtomicU64,
    retried: AtomicU64,
    dead_lettered: AtomicU64,
}

struct Inner {
    db: DatabaseConnection,
    handler: Arc<dyn EventHandler>,
    counters: Counters,
    /// Poked after a handler's transaction commits, so the events it wrote
    /// to the outbox are relayed now rather than at the relay's next poll.
    outbox: Option<Arc<tokio::sync::Notify>>,
}

/// Inbox-deduplicating runner shared by both buses: begin txn → insert inbox
/// row (consumer name, event id) → if already there: duplicate, commit nothing
/// → else handler → commit. Returns what happened.
///
/// Cheap to clone; clones share the database pool, the handler and the
/// counters.
#[derive(Clone)]
pub struct Consumer {
    inner: Arc<Inner>,
    /// The `service` label of this consumer's metrics.
    service: Arc<str>,
}

impl std::fmt::Debug for Consumer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Consumer")
            .field("service", &self.service)
            .field("stats", &self.stats())
            .finish()
    }
}

impl Consumer {
    /// A consumer that handles events with `handler` in transactions on `db`
    /// (which must hold the `event_inbox` table, see
    /// [`CreateInbox`](crate::migration::CreateInbox)).
    pub fn new(db: DatabaseConnection, handler: Arc<dyn EventHandler>) -> Self {
        Self::build(db, handler, None)
    }

    /// Like [`Consumer::new`], for handlers that write events: `outbox` (the
    /// relay's [`notifier`](crate::Relay::notifier)) is poked after each
    /// commit.
    pub fn notifying(
        db: DatabaseConnection,
        handler: Arc<dyn EventHandler>,
        outbox: Arc<tokio::sync::Notify>,
    ) -> Self {
        Self::build(db, handler, Some(outbox))
    }

    fn build(
        db: DatabaseConnection,
        handler: Arc<dyn EventHandler>,
        outbox: Option<Arc<tokio::sync::Notify>>,
    ) -> Self {
        metrics::register();
        Self {
            inner: Arc::new(Inner {
                db,
                handler,
                counters: Counters::default(),
                outbox,
            }),
            service: Arc::from(""),
        }
    }

    /// Names the service this consumer belongs to, for its metrics
    /// (`zhongtai_consumer_*{service}`; empty until named). The
    /// subscription label is the consumer name each event is handled under.
    pub fn with_service(mut self, service: &str) -> Self {
        self.service = Arc::from(service);
        self
    }

    /// Handles `envelope` once per `consumer_name`: a second call with the same
    /// event id is a [`Outcome::Duplicate`] and runs nothing. The handler's
    /// span is a child of the trace that produced the event.
    ///
    /// A failing handler rolls back everything, inbox record included, so
    /// the event can be tried again. Database failures are transient; a
    /// panicking handler is a permanent failure.
    pub async fn process(
        &self,
        consumer_name: &str,
        envelope: &EventEnvelope,
    ) -> Result<Outcome, HandlerError> {
        self.attempt(consumer_name, envelope)
            .await
            .map_err(Failure::into_handler_error)
    }

    /// Runs the event until the handler has a verdict. While the consumer's
    /// own database statements fail, the event waits with `backoff` (every
    /// event behind it would fail the same way) instead of spending its
    /// attempts on the outage. `None` when `cancel` fires meanwhile.
    pub(crate) async fn attempt_until_database_answers(
        &self,
        consumer_name: &str,
        envelope: &EventEnvelope,
        mut backoff: Backoff,
        cancel: &CancellationToken,
    ) -> Option<Result<Outcome, HandlerError>> {
        loop {
            match self.attempt(consumer_name, envelope).await {
                Ok(outcome) => return Some(Ok(outcome)),
                Err(Failure::Handler(error)) => return Some(Err(error)),
                Err(Failure::Database(error)) => {
                    let delay = backoff.next_delay();
                    tracing::warn!(
                        subscription = %consumer_name,
                        event.id = %envelope.id,
                        error = %error,
                        attempt = backoff.attempt(),
                        retry_in_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
                        "event waits for the consumer database"
                    );
                    if !sleep_unless_cancelled(delay, cancel).await {
                        return None;
                    }
                }
            }
        }
    }

    /// Like [`process`](Self::process), but tells the consumer's own
    /// database failures (begin, inbox, commit) apart from the handler's, so
    /// the buses can wait for the database instead of spending the event's
    /// attempts on an outage.
    async fn attempt(
        &self,
        consumer_name: &str,
        envelope: &EventEnvelope,
    ) -> Result<Outcome, Failure> {
        let span = handling_span(consumer_name, envelope);
        let result = self
            .process_in_transaction(consumer_name, envelope)
            .instrument(span)
            .await;
        let counters = &self.inner.counters;
        let outcome = match &result {
            Ok(Outcome::Processed) => EventOutcome::Handled,
            Ok(Outcome::Duplicate) => EventOutcome::Duplicate,
            Err(_) => EventOutcome::Failed,
        };
        METRICS.observe(&self.service, consumer_name, envelope, outcome);
        match &result {
            Ok(Outcome::Processed) => {
                counters.processed.fetch_add(1, Ordering::Relaxed);
            }
            Ok(Outcome::Duplicate) => {
                counters.duplicates.fetch_add(1, Ordering::Relaxed);
                tracing::info!(
                    consumer = %consumer_name,
                    event.id = %envelope.id,
                    event.r#type = %envelope.r#type,
                    "duplicate event dropped"
                );
            }
            Err(Failure::Handler(error)) => {
                counters.failed.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(
                    consumer = %consumer_name,
                    event.id = %envelope.id,
                    event.r#type = %envelope.r#type,
                    permanent = error.is_permanent(),
                    error = %error,
                    "event handler failed"
                );
            }
            Err(Failure::Database(error)) => {
                tracing::warn!(
                    consumer = %consumer_name,
                    event.id = %envelope.id,
                    event.r#type = %envelope.r#type,
                    error = %error,
                    "consumer database unavailable"
                );
            }
        }
        result
    }

    async fn process_in_transaction(
        &self,
        consumer_name: &str,
        envelope: &EventEnvelope,
    ) -> Result<Outcome, Failure> {
        let txn = zhongtai_store::begin_write(&self.inner.db)
            .await
            .map_err(Failure::Database)?;
        let record = inbox::ActiveModel {
            consumer: Set(consumer_name.to_owned()),
            event_id: Set(envelope.id.clone()),
            processed_at: Set(chrono::Utc::now()),
        };
        // On PostgreSQL a concurrent duplicate blocks here until the first
        // transaction ends, then sees the conflict: never two effects.
        let inserted = inbox::Entity::insert(record)
            .on_conflict_do_nothing()
            .exec_without_returning(&txn)
            .await
            .map_err(Failure::Database)?;
        if !matches!(inserted, TryInsertResult::Inserted(n) if n > 0) {
            txn.rollback().await.map_err(Failure::Database)?;
            return Ok(Outcome::Duplicate);
        }
        // A panicking handler must not take the consumer loop down with it.
        let handled = AssertUnwindSafe(self.inner.handler.handle(&txn, envelope))
            .catch_unwind()
            .await
            .unwrap_or_else(|_| Err(HandlerError::permanent("event handler panicked")));
        match handled {
            Ok(()) => {
                txn.commit().await.map_err(Failure::Database)?;
                if let Some(outbox) = &self.inner.outbox {
                    outbox.notify_one();
                }
                Ok(Outcome::Processed)
            }
            Err(error) => {
                if let Err(rollback) = txn.rollback().await {
                    tracing::warn!(error = %rollback, "rollback after handler failure failed");
                }
                Err(Failure::Handler(error))
            }
        }
    }

    /// Counters since this consumer was created.
    pub fn stats(&self) -> ConsumerStats {
        let c = &self.inner.counters;
        ConsumerStats {
            processed: c.processed.load(Ordering::Relaxed),
            duplicates: c.duplicates.load(Ordering::Relaxed),
            failed: c.failed.load(Ordering::Relaxed),
            retried: c.retried.load(Ordering::Relaxed),
            dead_lettered: c.dead_lettered.load(Ordering::Relaxed),
        }
    }

    pub(crate) fn record_retry(&self) {
        self.inner.counters.retried.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn record_dead_letter(&self) {
        self.inner
            .counters
            .dead_lettered
            .fetch_add(1, Ordering::Relaxed);
    }
}

/// The span the handler runs in. A bus that traces its deliveries (RabbitMQ's
/// `consume` span) is current here and already continues the event's trace:
/// the handling is its child. Otherwise (the in-process bus, direct calls)
/// the handling is the consumer-side span and continues the trace recorded
/// in the envelope.
fn handling_span(consumer_name: &str, envelope: &EventEnvelope) -> tracing::Span {
    use zhongtai_telemetry::propagation;

    let in_delivery_span = propagation::current_trace_id().is_some_and(|current| {
        propagation::trace_id_from_map(&envelope.trace_context)
            .is_none_or(|recorded| recorded == current)
    });
    let name = format!("handle {}", envelope.r#type);
    let span = tracing::info_span!(
        "event.handle",
        otel.name = name.as_str(),
        otel.kind = if in_delivery_span { "internal" } else { "consumer" },
        consumer = %consumer_name,
        event.id = %envelope.id,
        event.r#type = %envelope.r#type,
        event.subject = %envelope.subject,
    );
    if !in_delivery_span {
        propagation::set_parent_from_map(&span, &envelope.trace_context);
    }
    span
}

/// Deletes inbox records older than `older_than` (all consumers) and returns
/// how many. Keep the window far longer than any redelivery can take
/// (retries, broker outages, relay re-publishes): an event redelivered after
/// its record is gone would be processed again.
pub async fn purge_inbox<C: ConnectionTrait>(
    conn: &C,
    older_than: Duration,
) -> Result<u64, EventError> {
    let age = chrono::TimeDelta::from_std(older_than)
        .map_err(|e| EventError::Config(format!("inbox retention out of range: {e}")))?;
    let Some(cutoff) = chrono::Utc::now().checked_sub_signed(age) else {
        return Ok(0);
    };
    let result = inbox::Entity::delete_many()
        .filter(inbox::Column::ProcessedAt.lt(cutoff))
        .exec(conn)
        .await?;
    Ok(result.rows_affected)
}
