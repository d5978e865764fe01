//! The relay: publishes committed outbox rows to the bus in `seq` order and
//! marks them sent only after the broker confirmed them. A crash at any point
//! leaves unconfirmed (or confirmed but unmarked) rows unpublished, so they
//! are published again: at least once, never lost.

mod backlog;
mod batch;
#[cfg(feature = "test-hooks")]
mod hook;
mod metrics;

use std::sync::Arc;
use std::time::{Duration, Instant};

use sea_orm::DatabaseConnection;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::backoff::{Backoff, sleep_unless_cancelled};
use crate::bus::EventBus;
use crate::outbox;
use metrics::METRICS;

#[cfg(feature = "test-hooks")]
pub use hook::{AfterConfirm, AfterConfirmHook};

/// How the relay batches, polls and cleans up.
#[derive(Clone)]
pub struct RelayConfig {
    /// The service whose outbox this is: the `service` label of the
    /// `zhongtai_outbox_*` metrics.
    pub service: String,
    /// Rows claimed and published per round.
    pub batch_size: u32,
    /// Longest wait between rounds when nobody pokes the
    /// [`notifier`](Relay::notifier).
    pub poll_interval: Duration,
    /// How long published rows are kept before deletion.
    pub retention: Duration,
    /// How often published rows older than `retention` are deleted.
    pub cleanup_interval: Duration,
    /// First delay after a failed round (database or broker down).
    pub backoff_initial: Duration,
    /// Longest delay between failed rounds.
    pub backoff_max: Duration,
    /// Test failpoint run after a batch is confirmed and before it is marked
    /// sent. Only exists with the `test-hooks` feature.
    #[cfg(feature = "test-hooks")]
    pub after_confirm: Option<AfterConfirmHook>,
}

impl Default for RelayConfig {
    fn default() -> Self {
        Self {
            service: String::new(),
            batch_size: 100,
            poll_interval: Duration::from_secs(1),
            retention: Duration::from_secs(24 * 60 * 60),
            cleanup_interval: Duration::from_secs(10 * 60),
            backoff_initial: Duration::from_millis(200),
            backoff_max: Duration::from_secs(30),
            #[cfg(feature = "test-hooks")]
            after_confirm: None,
        }
    }
}

impl std::fmt::Debug for RelayConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RelayConfig")
            .field("service", &self.service)
            .field("batch_size", &self.batch_size)
            .field("poll_interval", &self.poll_interval)
            .field("retention", &self.retention)
            .field("cleanup_interval", &self.cleanup_interval)
            .field("backoff_initial", &self.backoff_initial)
            .field("backoff_max", &self.backoff_max)
            .finish_non_exhaustive()
    }
}

/// Moves events from a service's outbox to the bus. Run one per service
/// process; on PostgreSQL any number may run against one database (only one
/// publishes at a time, which also keeps the order of every subject).
pub struct Relay {
    db: DatabaseConnection,
    bus: Arc<dyn EventBus>,
    config: RelayConfig,
    notify: Arc<Notify>,
}

impl Relay {
    /// A relay for the outbox in `db`, publishing to `bus`.
    pub fn new(db: DatabaseConnection, bus: Arc<dyn EventBus>, config: RelayConfig) -> Self {
        // A service's event families are served from the moment its relay
        // exists, consumers' included (a service may have none).
        METRICS.start(&config.service);
        crate::consumer::metrics::register();
        Self {
            db,
            bus,
            config,
            notify: Arc::new(Notify::new()),
        }
    }

    /// Services call `notify_one()` on it after committing a transaction that
    /// appended events, so the relay publishes at once instead of at the next
    /// poll. A poke while the relay is busy is remembered.
    pub fn notifier(&self) -> Arc<Notify> {
        self.notify.clone()
    }

    /// Publishes until `shutdown` is cancelled. Never returns early on
    /// failure: a down database or broker is retried with backoff, and rows
    /// stay unpublished until the broker confirms them.
    pub async fn run(self, shutdown: CancellationToken) {
        let batch_size = self.config.batch_size.max(1);
        let mut backoff = Backoff::new(self.config.backoff_initial, self.config.backoff_max);
        let mut last_cleanup: Option<Instant> = None;
        let mut last_measured: Option<Instant> = None;
        tracing::info!(batch_size, "outbox relay started");
        while !shutdown.is_cancelled() {
            let drained = self.drain(batch_size, &shutdown).await;
            // Measured after failed rounds too: a broker outage is when the
            // backlog matters. At most once per poll interval, so a burst of
            // pokes does not add two reads to every batch.
            if last_measured.is_none_or(|at| at.elapsed() >= self.config.poll_interval) {
                last_measured = Some(Instant::now());
                self.measure_backlog().await;
            }
            match drained {
                Ok(batch::Drained::Done) => backoff.reset(),
                Ok(batch::Drained::Crashed) => {
                    tracing::warn!("outbox relay stopped by the after-confirm failpoint");
                    return;
                }
                Err(error) => {
                    let delay = backoff.next_delay();
                    tracing::warn!(
                        error = %error,
                        attempt = backoff.attempt(),
                        retry_in_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
                        "outbox relay round failed"
                    );
                    sleep_unless_cancelled(delay, &shutdown).await;
                    continue;
                }
            }
            if last_cleanup.is_none_or(|at| at.elapsed() >= self.config.cleanup_interval) {
                last_cleanup = Some(Instant::now());
                self.cleanup().await;
            }
            tokio::select! {
                _ = shutdown.cancelled() => {}
                _ = self.notify.notified() => {}
                _ = tokio::time::sleep(self.config.poll_interval) => {}
            }
        }
        tracing::info!("outbox relay stopped");
    }

    /// Publishes full batches back to back until the outbox is drained (or
    /// another relay holds the claim).
    async fn drain(
        &self,
        batch_size: u32,
        shutdown: &CancellationToken,
    ) -> Result<batch::Drained, crate::EventError> {
        loop {
            let round = batch::relay_batch(self, batch_size).await?;
            match round {
                batch::Round::Published(count) if count >= batch_size as usize => {
                    if shutdown.is_cancelled() {
                        return Ok(batch::Drained::Done);
                    }
                }
                batch::Round::Published(_) | batch::Round::ClaimedElsewhere => {
                    return Ok(batch::Drained::Done);
                }
                batch::Round::Crashed => return Ok(batch::Drained::Crashed),
            }
        }
    }

    async fn measure_backlog(&self) {
        match backlog::measure(&self.db).await {
            Ok(backlog) => METRICS.backlog(&self.config.service, &backlog),
            Err(error) => tracing::debug!(error = %error, "outbox backlog not measured"),
        }
    }

    async fn cleanup(&self) {
        let Ok(retention) = chrono::TimeDelta::from_std(self.config.retention) else {
            return;
        };
        let Some(cutoff) = chrono::Utc::now().checked_sub_signed(retention) else {
            return;
        };
        match outbox::delete_published_before(&self.db, cutoff).await {
            Ok(0) => {}
            Ok(deleted) => tracing::info!(deleted, "published outbox rows deleted"),
            Err(error) => tracing::warn!(error = %error, "outbox cleanup failed"),
        }
    }
}
