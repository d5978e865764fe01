//! The audit writer: the front door hands each call's record over without
//! waiting, and one background task writes them in batches.
//!
//! ```text
//! record() ──try_send──▶ bounded queue ──▶ AuditTask: batch of ≤ batch_size,
//!   (full: dropped, counted)               or what came within `flush`
//!                                          ──▶ one INSERT, retried until it
//!                                              succeeds
//! ```
//!
//! A batch that fails stays in memory and is retried with backoff, so
//! nothing accepted is lost while the process lives; meanwhile the queue
//! fills and further records are dropped and counted rather than slowing
//! calls down. When every [`AuditWriter`] is dropped, or one calls
//! [`AuditWriter::close`], the task writes everything still queued and
//! ends: graceful shutdown loses nothing.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use sea_orm::DatabaseConnection;
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;

use super::record::CallRecord;
use super::store::{AuditStore, MAX_ROWS_PER_INSERT};

/// Wait before the first retry of a failed batch; doubled for each further
/// one up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_millis(50);
/// Longest wait between retries of a failed batch.
const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// What the writer has done so far, for metrics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AuditStats {
    /// Records stored.
    pub written: u64,
    /// Records refused because the queue was full or the writer closed.
    pub dropped: u64,
    /// Records accepted and not yet stored.
    pub pending: u64,
    /// Batch writes that failed and were retried.
    pub failed_writes: u64,
}

#[derive(Default)]
struct Counters {
    written: AtomicU64,
    dropped: AtomicU64,
    pending: AtomicU64,
    failed_writes: AtomicU64,
}

/// Hands call records to the background task; cheap to clone, never waits.
#[derive(Clone)]
pub struct AuditWriter {
    queue: mpsc::Sender<CallRecord>,
    counters: Arc<Counters>,
    closing: Arc<watch::Sender<bool>>,
}

/// The background task writing the records; run it with [`AuditTask::run`].
pub struct AuditTask {
    store: AuditStore,
    queue: mpsc::Receiver<CallRecord>,
    counters: Arc<Counters>,
    closing: watch::Receiver<bool>,
    batch_size: usize,
    flush: Duration,
}

impl AuditWriter {
    /// A writer holding at most `capacity` queued records, and the task
    /// that writes them to `db` in batches of at most `batch_size`
    /// (capped at [`MAX_ROWS_PER_INSERT`]), each waiting at most `flush`.
    pub fn start(
        db: DatabaseConnection,
        batch_size: usize,
        flush: Duration,
        capacity: usize,
    ) -> (AuditWriter, AuditTask) {
        let (sender, receiver) = mpsc::channel(capacity.max(1));
        let (closing, closing_seen) = watch::channel(false);
        let counters = Arc::new(Counters::default());
        let writer = AuditWriter {
            queue: sender,
            counters: counters.clone(),
            closing: Arc::new(closing),
        };
        let task = AuditTask {
            store: AuditStore::new(db),
            queue: receiver,
            counters,
            closing: closing_seen,
            batch_size: batch_size.clamp(1, MAX_ROWS_PER_INSERT),
            flush,
        };
        (writer, task)
    }

    /// Queues `record` for writing, or counts it as dropped when the queue
    /// is full or the writer is closed. Never waits.
    pub fn record(&self, record: CallRecord) {
        // Counted before the send so the task never sees pending below zero.
        self.counters.pending.fetch_add(1, Ordering::AcqRel);
        if *self.closing.borrow() || self.queue.try_send(record).is_err() {
            self.counters.pending.fetch_sub(1, Ordering::AcqRel);
            self.counters.dropped.fetch_add(1, Ordering::AcqRel);
        }
    }

    /// Stops taking records: the task writes what is queued and ends, even
    /// while clones of this writer are still held.
    pub fn close(&self) {
        self.closing.send_replace(true);
    }

    /// Records stored so far.
    pub fn written(&self) -> u64 {
        self.counters.written.load(Ordering::Acquire)
    }

    /// Records refused so far (queue full, or closed).
    pub fn dropped(&self) -> u64 {
        self.counters.dropped.load(Ordering::Acquire)
    }

    /// Records accepted and not yet stored.
    pub fn pending(&self) -> u64 {
        self.counters.pending.load(Ordering::Acquire)
    }

    /// Every counter at once.
    pub fn stats(&self) -> AuditStats {
        let c = &self.counters;
        AuditStats {
            written: c.written.load(Ordering::Acquire),
            dropped: c.dropped.load(Ordering::Acquire),
            pending: c.pending.load(Ordering::Acquire),
            failed_writes: c.failed_writes.load(Ordering::Acquire),
        }
    }
}

impl AuditTask {
    /// Writes batches until the writers are gone or closed, then writes
    /// everything still queued and ends.
    pub fn run(self) -> impl Future<Output = ()> + Send + 'static {
        self.write_until_closed()
    }

    async fn write_until_closed(mut self) {
        let mut batch = Vec::with_capacity(self.batch_size);
        loop {
            let open = self.gather(&mut batch).await;
            if !batch.is_empty() {
                self.write(&mut batch).await;
            }
            if !open {
                break;
            }
        }
        // Nothing new is accepted from here; what is buffered still arrives.
        self.queue.close();
        let mut drained = 0usize;
        loop {
            while batch.len() < self.batch_size {
                match self.queue.try_recv() {
                    Ok(record) => batch.push(record),
                    Err(_) => break,
                }
            }
            if batch.is_empty() {
                break;
            }
            drained += batch.len();
            self.write(&mut batch).await;
        }
        tracing::debug!(drained, "audit writer stopped");
    }

    /// Fills `batch` with the first record to arrive, then whatever comes
    /// within the flush interval, up to the batch size. False once the
    /// writers are gone or closed.
    async fn gather(&mut self, batch: &mut Vec<CallRecord>) -> bool {
        if *self.closing.borrow() {
            return false;
        }
        if batch.is_empty() {
            let first = tokio::select! {
                biased;
                record = self.queue.recv() => record,
                _ = self.closing.wait_for(|closed| *closed) => return false,
            };
            let Some(first) = first else { return false };
            batch.push(first);
        }
        let deadline = Instant::now() + self.flush;
        while batch.len() < self.batch_size {
            let next = tokio::select! {
                biased;
                record = self.queue.recv() => record,
                () = tokio::time::sleep_until(deadline) => return true,
                _ = self.closing.wait_for(|closed| *closed) => return false,
            };
            match next {
                Some(record) => batch.push(record),
                None => return false,
            }
        }
        true
    }

    /// Writes `batch`, retrying with backoff until the database takes it,
    /// then empties it.
    async fn write(&mut self, batch: &mut Vec<CallRecord>) {
        let mut backoff = FIRST_BACKOFF;
        loop {
            match self.store.insert_batch(batch).await {
                Ok(()) => break,
                Err(error) => {
                    self.counters.failed_writes.fetch_add(1, Ordering::AcqRel);
                    tracing::warn!(
                        records = batch.len(),
                        retry_in_ms = backoff.as_millis() as u64,
                        %error,
                        "audit batch not written; retrying"
                    );
                    tokio::time::sleep(backoff).await;
                    backoff = backoff.saturating_mul(2).min(MAX_BACKOFF);
                }
            }
        }
        let count = batch.len() as u64;
        self.counters.written.fetch_add(count, Ordering::AcqRel);
        self.counters.pending.fetch_sub(count, Ordering::AcqRel);
        batch.clear();
    }
}
