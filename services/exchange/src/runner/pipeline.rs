//! One batch through a line: the live subscriptions, each one's policy,
//! its sinks (all subscriptions at once), the journal, the stored
//! positions. See the module docs of [`super`] for why the order matters.

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use chrono::Utc;
use futures::future::join_all;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use super::Runners;
use super::metrics::{self, METRICS};
use crate::domain::change::Change;
use crate::domain::flow::{Accepted, DeliveryRecord, FlowError, SourceBatch};
use crate::domain::line::{Line, SourceSpec};
use crate::domain::policy::Projected;
use crate::domain::ports::{DeliveredUpdate, Delivery, LineRuntime};
use crate::domain::subscription::{Subscription, SubscriptionState};

/// A live subscription with the key its HASH masking uses.
#[derive(Clone)]
pub(crate) struct Receiver {
    pub subscription: Subscription,
    pub hash_key: [u8; 32],
}

/// What the runner remembers of a line between batches.
#[derive(Default)]
pub(crate) struct LineCache {
    receivers: Vec<Receiver>,
    loaded_at: Option<Instant>,
}

/// How long a batch may wait for a failing sink or a paused subscription.
#[derive(Clone, Copy)]
pub(crate) enum Patience<'a> {
    /// Report the first failure (push lines: the producer sends again).
    Once,
    /// Retry with backoff until the line's task is stopped.
    UntilStopped(&'a CancellationToken),
}

/// Why a batch did not get through.
#[derive(Debug)]
pub(crate) enum BatchError {
    Flow(FlowError),
    /// The line's task was told to stop.
    Stopped,
}

impl From<FlowError> for BatchError {
    fn from(error: FlowError) -> Self {
        Self::Flow(error)
    }
}

fn store_error(what: &str, error: impl std::fmt::Display) -> FlowError {
    FlowError::Transient(format!("{what}: {error}"))
}

/// How positions of `line` read in change records.
pub(crate) fn position_style(line: &Line) -> crate::convert::PositionStyle {
    match line.source {
        SourceSpec::Log(_) => crate::convert::PositionStyle::Lsn,
        SourceSpec::Push(_) | SourceSpec::Enclave(_) => crate::convert::PositionStyle::Sequence,
    }
}

/// One subscription's share of a batch.
struct Share {
    receiver: Receiver,
    /// Per change of the batch, what the policy made of it.
    projected: Vec<Projected>,
    /// One per delivered change, once the sinks accepted them.
    accepted: Option<Vec<Accepted>>,
}

impl Share {
    fn delivered(&self) -> Vec<Change> {
        self.projected
            .iter()
            .filter_map(|p| match p {
                Projected::Deliver(change) => Some(change.clone()),
                Projected::FilteredOut => None,
            })
            .collect()
    }
}

impl Runners {
    /// Delivers a batch read by the line's own task: waits out paused
    /// subscriptions and failing sinks until `stop`.
    pub(crate) async fn deliver_for_task(
        &self,
        line: &Line,
        runtime: &mut LineRuntime,
        batch: SourceBatch,
        stop: &CancellationToken,
    ) -> Result<(), BatchError> {
        let cache = self.line_cache(line.id);
        let mut cache = cache.lock().await;
        self.deliver_locked(
            &mut cache,
            line,
            runtime,
            batch,
            Patience::UntilStopped(stop),
        )
        .await
    }

    async fn deliver_locked(
        &self,
        cache: &mut LineCache,
        line: &Line,
        runtime: &mut LineRuntime,
        batch: SourceBatch,
        patience: Patience<'_>,
    ) -> Result<(), BatchError> {
        let started = Instant::now();
        let now = Utc::now();
        // Replayed by the source after a restart: already downstream.
        let fresh: Vec<Change> = batch
            .changes
            .into_iter()
            .filter(|change| change.position > runtime.confirmed_position)
            .map(|mut change| {
                change.hops.capture.get_or_insert(now);
                change
            })
            .collect();
        if fresh.is_empty() {
            // Only replayed changes: nothing new to deliver or account for.
            advance(runtime, &fresh, batch.confirm_position, Utc::now());
            return self.save(line, runtime, patience).await;
        }
        self.hold_while_paused(cache, line.id, patience).await?;
        let mut shares: Vec<Share> = cache
            .receivers
            .iter()
            .filter(|r| r.subscription.state.receives())
            .map(|receiver| Share {
                projected: fresh
                    .iter()
                    .map(|change| project(receiver, change))
                    .collect(),
                receiver: receiver.clone(),
                accepted: None,
            })
            .collect();
        self.deliver_shares(cache, line, &mut shares, patience)
            .await?;
        let delivered_at = Instant::now();
        let records = delivery_records(&fresh, &shares);
        self.patiently(patience, || async {
            self.parts.journal.record(line.id, &fresh, &records).await
        })
        .await?;
        let journaled_at = Instant::now();
        let updates = delivered_updates(&shares);
        advance(runtime, &fresh, batch.confirm_position, Utc::now());
        // Both only need to be durable before the source is confirmed, not
        // before each other: one round trip instead of two.
        let record_delivered = self.patiently(patience, || async {
            self.parts
                .store
                .record_delivered(&updates)
                .await
                .map_err(|e| store_error("recording delivered positions", e))
        });
        let (delivered, saved) = tokio::join!(record_delivered, self.save(line, runtime, patience));
        delivered?;
        saved?;
        tracing::debug!(
            line.id = %line.id,
            changes = fresh.len(),
            deliver_ms = (delivered_at - started).as_millis(),
            journal_ms = (journaled_at - delivered_at).as_millis(),
            store_ms = journaled_at.elapsed().as_millis(),
            "batch delivered"
        );
        observe(line.id, &fresh, &shares, started);
        Ok(())
    }

    async fn save(
        &self,
        line: &Line,
        runtime: &LineRuntime,
        patience: Patience<'_>,
    ) -> Result<(), BatchError> {
        self.patiently(patience, || async {
            self.parts
                .store
                .save_runtime(line.id, runtime)
                .await
                .map_err(|e| store_error("saving the line's position", e))
        })
        .await
    }

    /// Re-reads the line's subscriptions when the cache is older than the
    /// refresh interval (or `force`).
    async fn refresh(
        &self,
        cache: &mut LineCache,
        line_id: Uuid,
        force: bool,
    ) -> Result<(), FlowError> {
        let fresh_enough = cache
            .loaded_at
            .is_some_and(|at| at.elapsed() < self.parts.config.refresh_interval());
        if fresh_enough && !force {
            return Ok(());
        }
        let subscriptions = self
            .parts
            .store
            .live_subscriptions(line_id)
            .await
            .map_err(|e| store_error("reading the line's subscriptions", e))?;
        cache.receivers = subscriptions
            .into_iter()
            .filter(|s| !s.state.is_final())
            .map(|subscription| Receiver {
                hash_key: hash_key(&self.masking_key, &subscription),
                subscription,
            })
            .collect();
        cache.loaded_at = Some(Instant::now());
        Ok(())
    }

    async fn hold_while_paused(
        &self,
        cache: &mut LineCache,
        line_id: Uuid,
        patience: Patience<'_>,
    ) -> Result<(), BatchError> {
        let mut force = false;
        loop {
            self.refresh(cache, line_id, force).await?;
            let Some(paused) = cache
                .receivers
                .iter()
                .find(|r| r.subscription.state == SubscriptionState::Paused)
            else {
                return Ok(());
            };
            match patience {
                Patience::Once => {
                    return Err(FlowError::Transient(format!(
                        "subscription {} is paused; the line holds its position",
                        paused.subscription.id
                    ))
                    .into());
                }
                Patience::UntilStopped(stop) => {
                    if !sleep_unless_cancelled(self.parts.config.refresh_interval(), stop).await {
                        return Err(BatchError::Stopped);
                    }
                    force = true;
                }
            }
        }
    }

    /// Hands every share to its sinks, all subscriptions at once, retrying
    /// the failed ones until each accepted (or left the line).
    async fn deliver_shares(
        &self,
        cache: &mut LineCache,
        line: &Line,
        shares: &mut Vec<Share>,
        patience: Patience<'_>,
    ) -> Result<(), BatchError> {
        let style = position_style(line);
        let mut backoff = self.retry_backoff();
        loop {
            let pending: Vec<usize> = (0..shares.len())
                .filter(|&i| shares[i].accepted.is_none())
                .collect();
            if pending.is_empty() {
                return Ok(());
            }
            let attempts = pending.iter().map(|&i| {
                let share = &shares[i];
                let delivered = share.delivered();
                async move {
                    let result = self
                        .accept(&share.receiver.subscription, &delivered, style)
                        .await;
                    (i, delivered.len(), result)
                }
            });
            let mut first_failure = None;
            for (i, expected, result) in join_all(attempts).await {
                let result = result.and_then(|accepted| {
                    if accepted.len() == expected {
                        Ok(accepted)
                    } else {
                        Err(FlowError::Transient(format!(
                            "a sink acknowledged {} of {expected} changes",
                            accepted.len()
                        )))
                    }
                });
                let subscription_id = shares[i].receiver.subscription.id;
                match result {
                    Ok(accepted) => {
                        shares[i].accepted = Some(accepted);
                        self.mark_health(cache, subscription_id, None).await;
                    }
                    Err(error) => {
                        tracing::warn!(
                            line.id = %line.id,
                            subscription.id = %subscription_id,
                            error = %error,
                            "delivery failed; the batch will be retried"
                        );
                        self.mark_health(cache, subscription_id, Some(&error)).await;
                        first_failure.get_or_insert(error);
                    }
                }
            }
            let Some(failure) = first_failure else {
                return Ok(());
            };
            let Patience::UntilStopped(stop) = patience else {
                return Err(failure.into());
            };
            if !sleep_unless_cancelled(backoff.next(), stop).await {
                return Err(BatchError::Stopped);
            }
            // A subscription revoked or deleted meanwhile gets nothing more.
            if self.refresh(cache, line.id, true).await.is_ok() {
                shares.retain(|share| {
                    share.accepted.is_some()
                        || cache.receivers.iter().any(|r| {
                            r.subscription.id == share.receiver.subscription.id
                                && r.subscription.state.holds_line()
                        })
                });
            }
        }
    }

    /// Records a subscription's delivery trouble (`Some`) or recovery
    /// (`None`) when it changes what the subscription shows.
    async fn mark_health(
        &self,
        cache: &mut LineCache,
        subscription_id: Uuid,
        failure: Option<&FlowError>,
    ) {
        let Some(receiver) = cache
            .receivers
            .iter_mut()
            .find(|r| r.subscription.id == subscription_id)
        else {
            return;
        };
        let (state, reason) = match failure {
            Some(error) => (SubscriptionState::Degraded, error.to_string()),
            None => (SubscriptionState::Active, String::new()),
        };
        let current = &receiver.subscription;
        if current.state == state && current.state_reason == reason {
            return;
        }
        if failure.is_none() && current.state != SubscriptionState::Degraded {
            return;
        }
        match self
            .parts
            .store
            .set_subscription_health(subscription_id, state, &reason)
            .await
        {
            Ok(()) => {
                receiver.subscription.state = state;
                receiver.subscription.state_reason = reason;
            }
            Err(error) => tracing::warn!(
                subscription.id = %subscription_id,
                error = %error,
                "recording the subscription's delivery health failed"
            ),
        }
    }

    /// Runs `step` until it succeeds, as patient as `patience` allows.
    async fn patiently<F, Fut>(&self, patience: Patience<'_>, mut step: F) -> Result<(), BatchError>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<(), FlowError>>,
    {
        let mut backoff = self.retry_backoff();
        loop {
            let error = match step().await {
                Ok(()) => return Ok(()),
                Err(error) => error,
            };
            let Patience::UntilStopped(stop) = patience else {
                return Err(error.into());
            };
            tracing::warn!(error = %error, "batch step failed; retrying");
            if !sleep_unless_cancelled(backoff.next(), stop).await {
                return Err(BatchError::Stopped);
            }
        }
    }

    fn retry_backoff(&self) -> RetryBackoff {
        RetryBackoff::new(self.parts.config.retry_interval())
    }
}

/// Doubling delays from a tenth of the retry interval up to it.
pub(crate) struct RetryBackoff {
    next: Duration,
    max: Duration,
}

impl RetryBackoff {
    pub(crate) fn new(max: Duration) -> Self {
        Self {
            next: (max / 10).max(Duration::from_millis(10)),
            max,
        }
    }

    pub(crate) fn next(&mut self) -> Duration {
        let delay = self.next.min(self.max);
        self.next = (self.next * 2).min(self.max);
        delay
    }
}

/// Sleeps unless `stop` fires first; false when stopped.
pub(crate) async fn sleep_unless_cancelled(delay: Duration, stop: &CancellationToken) -> bool {
    tokio::select! {
        _ = stop.cancelled() => false,
        _ = tokio::time::sleep(delay) => true,
    }
}

/// The per-subscription key of HASH masking: per grant, so two grantees'
/// hashes of one value cannot be joined.
fn hash_key(masking_key: &[u8], subscription: &Subscription) -> [u8; 32] {
    let id = subscription.grant_id.unwrap_or(subscription.id);
    crate::domain::policy::hash_key(masking_key, &id.to_string())
}

/// What `receiver` gets of `change`, routed to it.
fn project(receiver: &Receiver, change: &Change) -> Projected {
    let subscription = &receiver.subscription;
    match subscription.policy.apply(change, &receiver.hash_key) {
        Projected::Deliver(mut delivered) => {
            delivered.subscription_id = Some(subscription.id);
            delivered.grant_id = subscription.grant_id;
            delivered.hops = change.hops;
            Projected::Deliver(delivered)
        }
        Projected::FilteredOut => Projected::FilteredOut,
    }
}

/// One record per change per receiving subscription: delivered ones with
/// the delivered form's content hash, filtered ones marked so (the journal
/// accounts for them as intentionally not delivered).
fn delivery_records(fresh: &[Change], shares: &[Share]) -> Vec<DeliveryRecord> {
    let mut records = Vec::new();
    for share in shares {
        let subscription_id = share.receiver.subscription.id;
        let mut accepted = share.accepted.iter().flatten();
        for (captured, projected) in fresh.iter().zip(&share.projected) {
            records.push(match projected {
                Projected::Deliver(change) => DeliveryRecord {
                    subscription_id,
                    change_id: change.change_id(),
                    position: change.position,
                    index: change.index,
                    commit_time: change.hops.commit.unwrap_or_default(),
                    filtered_out: false,
                    content_hash: change.content_hash(),
                    accepted: accepted.next().copied(),
                },
                Projected::FilteredOut => DeliveryRecord {
                    subscription_id,
                    change_id: captured.change_id(),
                    position: captured.position,
                    index: captured.index,
                    commit_time: captured.hops.commit.unwrap_or_default(),
                    filtered_out: true,
                    content_hash: [0; 32],
                    accepted: None,
                },
            });
        }
    }
    records
}

fn delivered_updates(shares: &[Share]) -> Vec<DeliveredUpdate> {
    shares
        .iter()
        .filter_map(|share| {
            let accepted = share.accepted.as_ref()?;
            let (change, accepted) = share
                .projected
                .iter()
                .filter_map(|p| match p {
                    Projected::Deliver(change) => Some(change),
                    Projected::FilteredOut => None,
                })
                .zip(accepted)
                .last()?;
            let commit_time = change.hops.commit.unwrap_or(accepted.published_at);
            Some(DeliveredUpdate {
                subscription_id: share.receiver.subscription.id,
                position: change.position,
                commit_time,
                lag_ms: (accepted.published_at - commit_time)
                    .num_milliseconds()
                    .max(0),
            })
        })
        .collect()
}

/// The line's runtime after a batch: confirmed up to the batch's confirm
/// position (when it names one), counters and capture times moved on.
pub(crate) fn advance(
    runtime: &mut LineRuntime,
    fresh: &[Change],
    confirm_position: u64,
    now: chrono::DateTime<Utc>,
) {
    if confirm_position > 0 {
        runtime.confirmed_position = runtime.confirmed_position.max(confirm_position);
    }
    runtime.source_position = runtime.source_position.max(confirm_position);
    if let Some(last) = fresh.last() {
        runtime.source_position = runtime.source_position.max(last.position);
        runtime.captured_total += i64::try_from(fresh.len()).unwrap_or(i64::MAX);
        runtime.last_commit_at = last.hops.commit.or(runtime.last_commit_at);
        runtime.last_capture_at = last.hops.capture.or(runtime.last_capture_at);
    }
    runtime.last_activity_at = Some(now);
}

fn observe(line_id: Uuid, fresh: &[Change], shares: &[Share], started: Instant) {
    METRICS
        .batch_seconds
        .observe(started.elapsed().as_secs_f64());
    let line = metrics::line(line_id);
    METRICS
        .captured
        .get_or_create(&line)
        .inc_by(u64::try_from(fresh.len()).unwrap_or(u64::MAX));
    if let Some(last) = fresh.last()
        && let (Some(commit), Some(capture)) = (last.hops.commit, last.hops.capture)
    {
        METRICS
            .capture_lag_seconds
            .get_or_create(&line)
            .set(metrics::seconds_between(commit, capture));
    }
    for share in shares {
        let labels = metrics::subscription(line_id, share.receiver.subscription.id);
        let filtered = share
            .projected
            .iter()
            .filter(|p| matches!(p, Projected::FilteredOut))
            .count();
        let delivered = share.projected.len() - filtered;
        METRICS
            .delivered
            .get_or_create(&labels)
            .inc_by(u64::try_from(delivered).unwrap_or(u64::MAX));
        METRICS
            .filtered
            .get_or_create(&labels)
            .inc_by(u64::try_from(filtered).unwrap_or(u64::MAX));
        for update in delivered_updates(std::slice::from_ref(share)) {
            METRICS
                .subscription_lag_seconds
                .get_or_create(&labels)
                .set(update.lag_ms as f64 / 1e3);
        }
    }
}

/// [`Delivery`] for push lines: one attempt per batch, the producer sends
/// again on error; a batch at or below the stored cursor is a duplicate
/// and its changes are skipped.
pub(crate) struct PushDelivery(pub Arc<Runners>);

#[async_trait]
impl Delivery for PushDelivery {
    async fn deliver(&self, line: &Line, batch: SourceBatch) -> Result<(), FlowError> {
        let runners = &self.0;
        let cache = runners.line_cache(line.id);
        let mut cache = cache.lock().await;
        let mut runtime = runners
            .parts
            .store
            .runtime(line.id)
            .await
            .map_err(|e| store_error("reading the line's position", e))?;
        match runners
            .deliver_locked(&mut cache, line, &mut runtime, batch, Patience::Once)
            .await
        {
            Ok(()) => Ok(()),
            Err(BatchError::Flow(error)) => Err(error),
            Err(BatchError::Stopped) => Err(FlowError::Transient("delivery stopped".into())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::change::{Column, HopTimes, Operation, Value};

    fn change(position: u64) -> Change {
        Change {
            line_id: Uuid::nil(),
            position,
            index: 0,
            transaction_id: None,
            table: "public.t".into(),
            operation: Operation::Insert,
            key: vec![Column::new("id", Value::Int(1))],
            before: vec![],
            after: vec![],
            hops: HopTimes::default(),
            subscription_id: None,
            grant_id: None,
        }
    }

    #[test]
    fn the_confirmed_position_only_moves_forward() {
        let mut runtime = LineRuntime {
            confirmed_position: 50,
            ..LineRuntime::default()
        };
        advance(&mut runtime, &[change(60), change(70)], 0, Utc::now());
        assert_eq!(runtime.confirmed_position, 50, "no confirm position named");
        assert_eq!(runtime.source_position, 70);
        assert_eq!(runtime.captured_total, 2);
        advance(&mut runtime, &[], 40, Utc::now());
        assert_eq!(runtime.confirmed_position, 50);
        advance(&mut runtime, &[change(80)], 80, Utc::now());
        assert_eq!(runtime.confirmed_position, 80);
    }

    #[test]
    fn retry_delays_grow_to_the_retry_interval() {
        let mut backoff = RetryBackoff::new(Duration::from_millis(1000));
        assert_eq!(backoff.next(), Duration::from_millis(100));
        assert_eq!(backoff.next(), Duration::from_millis(200));
        for _ in 0..5 {
            backoff.next();
        }
        assert_eq!(backoff.next(), Duration::from_millis(1000));
    }
}
