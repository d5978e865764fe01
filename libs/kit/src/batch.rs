//! Group commit: many callers each hand over one item and wait until it is
//! durable, while a single background task writes the items in batches. A
//! caller never pays for its own round trip to storage; the storage sees a
//! few large writes instead of many small ones.
//!
//! ```text
//! submit(item) ──▶ bounded queue ──▶ run(): batch of ≤ max_batch, or what
//!      ▲            (Full at capacity)        came within `linger`
//!      └──────────── Ok / Failed ◀──── writer(batch), retried with backoff
//! ```
//!
//! An accepted item is answered only once its batch is written (or has
//! finally failed); on stop the task refuses new items and writes everything
//! already accepted before it ends. The writer must be idempotent per item
//! (insert-or-ignore): a retried batch may have been partly applied.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// How batches form and how failed writes are retried.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchConfig {
    /// Items per write, at most.
    pub max_batch: usize,
    /// Longest the first item of a batch waits for others to join it.
    pub linger: Duration,
    /// Items accepted but not yet answered before [`GroupCommit::submit`]
    /// refuses more ([`SubmitError::Full`]).
    pub capacity: usize,
    /// Writes of one batch before its items fail, the first included.
    pub attempts: u32,
    /// Wait before the first retry; doubled for each further one.
    pub first_backoff: Duration,
}

impl BatchConfig {
    /// Batches of `max_batch` or what came within `linger`, at most
    /// `capacity` items waiting; a failed write is tried 4 times in all,
    /// 50 ms apart at first.
    pub fn new(max_batch: usize, linger: Duration, capacity: usize) -> Self {
        Self {
            max_batch,
            linger,
            capacity,
            attempts: 4,
            first_backoff: Duration::from_millis(50),
        }
    }
}

/// Why an item was not written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SubmitError {
    /// `capacity` items are waiting already: refused at once, retry shortly.
    #[error("{name}: {capacity} items are waiting to be written; retry shortly")]
    Full { name: &'static str, capacity: usize },
    /// Its batch could not be written after every attempt.
    #[error("{name}: the batch could not be written: {reason}")]
    Failed { name: &'static str, reason: String },
    /// The writer has stopped (shutdown) and takes nothing new.
    #[error("{name}: the writer has stopped")]
    Closed { name: &'static str },
}

/// What the writer has done so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BatchStats {
    /// Batches written successfully.
    pub batches: u64,
    /// Items in those batches.
    pub items: u64,
    /// Write attempts that failed (each retry counts).
    pub failed_attempts: u64,
    /// Batches whose items were answered with [`SubmitError::Failed`].
    pub failed_batches: u64,
}

#[derive(Default)]
struct Counters {
    /// Accepted and not yet answered.
    pending: AtomicUsize,
    closed: AtomicBool,
    batches: AtomicU64,
    items: AtomicU64,
    failed_attempts: AtomicU64,
    failed_batches: AtomicU64,
}

struct Entry<T> {
    item: T,
    done: oneshot::Sender<Result<(), SubmitError>>,
}

/// The submitting side; cheap to clone.
pub struct GroupCommit<T> {
    name: &'static str,
    capacity: usize,
    queue: mpsc::UnboundedSender<Entry<T>>,
    counters: Arc<Counters>,
}

impl<T> Clone for GroupCommit<T> {
    fn clone(&self) -> Self {
        Self {
            name: self.name,
            capacity: self.capacity,
            queue: self.queue.clone(),
            counters: self.counters.clone(),
        }
    }
}

/// The writing side: [`BatchRunner::run`] is the background task.
pub struct BatchRunner<T, W> {
    name: &'static str,
    config: BatchConfig,
    queue: mpsc::UnboundedReceiver<Entry<T>>,
    counters: Arc<Counters>,
    writer: W,
}

impl<T: Send + Sync + 'static> GroupCommit<T> {
    /// A group commit named `name` (for logs and errors) writing through
    /// `writer`; run the returned runner as a background task.
    pub fn new<W, Fut, E>(
        name: &'static str,
        config: BatchConfig,
        writer: W,
    ) -> (Self, BatchRunner<T, W>)
    where
        W: FnMut(Arc<[T]>) -> Fut + Send + 'static,
        Fut: Future<Output = Result<(), E>> + Send,
        E: std::fmt::Display,
    {
        let config = BatchConfig {
            max_batch: config.max_batch.max(1),
            capacity: config.capacity.max(1),
            attempts: config.attempts.max(1),
            ..config
        };
        let (sender, receiver) = mpsc::unbounded_channel();
        let counters = Arc::new(Counters::default());
        let handle = Self {
            name,
            capacity: config.capacity,
            queue: sender,
            counters: counters.clone(),
        };
        let runner = BatchRunner {
            name,
            config,
            queue: receiver,
            counters,
            writer,
        };
        (handle, runner)
    }

    /// Hands `item` over and waits until its batch is written. Refuses at
    /// once when `capacity` items are waiting or the writer has stopped.
    pub async fn submit(&self, item: T) -> Result<(), SubmitError> {
        if self.counters.closed.load(Ordering::Acquire) {
            return Err(SubmitError::Closed { name: self.name });
        }
        if self.counters.pending.fetch_add(1, Ordering::AcqRel) >= self.capacity {
            self.counters.pending.fetch_sub(1, Ordering::AcqRel);
            return Err(SubmitError::Full {
                name: self.name,
                capacity: self.capacity,
            });
        }
        let (done, answer) = oneshot::channel();
        if self.queue.send(Entry { item, done }).is_err() {
            self.counters.pending.fetch_sub(1, Ordering::AcqRel);
            return Err(SubmitError::Closed { name: self.name });
        }
        // A dropped answer means the runner went away without writing.
        answer
            .await
            .unwrap_or(Err(SubmitError::Closed { name: self.name }))
    }

    /// Items accepted and not yet answered.
    pub fn pending(&self) -> usize {
        self.counters.pending.load(Ordering::Acquire)
    }

    pub fn stats(&self) -> BatchStats {
        let c = &self.counters;
        BatchStats {
            batches: c.batches.load(Ordering::Acquire),
            items: c.items.load(Ordering::Acquire),
            failed_attempts: c.failed_attempts.load(Ordering::Acquire),
            failed_batches: c.failed_batches.load(Ordering::Acquire),
        }
    }
}

impl<T, W, Fut, E> BatchRunner<T, W>
where
    T: Send + Sync + 'static,
    W: FnMut(Arc<[T]>) -> Fut + Send + 'static,
    Fut: Future<Output = Result<(), E>> + Send,
    E: std::fmt::Display,
{
    /// Writes batches until `stop`, then refuses new items, writes every
    /// item already accepted and ends.
    pub async fn run(mut self, stop: CancellationToken) {
        loop {
            let first = tokio::select! {
                biased;
                entry = self.queue.recv() => entry,
                () = stop.cancelled() => break,
            };
            let Some(first) = first else { break };
            let batch = self.gather(first, &stop).await;
            self.write(batch).await;
        }
        self.counters.closed.store(true, Ordering::Release);
        // Senders fail from now on; what is buffered is still received.
        self.queue.close();
        let mut drained = 0usize;
        while let Some(first) = self.queue.recv().await {
            let mut batch = vec![first];
            while batch.len() < self.config.max_batch {
                match self.queue.try_recv() {
                    Ok(entry) => batch.push(entry),
                    Err(_) => break,
                }
            }
            drained += batch.len();
            self.write(batch).await;
        }
        tracing::debug!(batcher = self.name, drained, "batch writer stopped");
    }

    /// The batch `first` opens: what is queued already, then what arrives
    /// within the linger, up to `max_batch`. Stop ends the wait early.
    async fn gather(&mut self, first: Entry<T>, stop: &CancellationToken) -> Vec<Entry<T>> {
        let max = self.config.max_batch;
        let mut batch = Vec::with_capacity(max.min(1024));
        batch.push(first);
        let deadline = Instant::now() + self.config.linger;
        while batch.len() < max {
            match self.queue.try_recv() {
                Ok(entry) => {
                    batch.push(entry);
                    continue;
                }
                Err(mpsc::error::TryRecvError::Disconnected) => break,
                Err(mpsc::error::TryRecvError::Empty) => {}
            }
            let next = tokio::select! {
                biased;
                entry = self.queue.recv() => entry,
                () = tokio::time::sleep_until(deadline) => None,
                () = stop.cancelled() => None,
            };
            match next {
                Some(entry) => batch.push(entry),
                None => break,
            }
        }
        batch
    }

    /// Writes one batch, retrying with backoff, and answers its submitters.
    async fn write(&mut self, batch: Vec<Entry<T>>) {
        let (items, answers): (Vec<T>, Vec<_>) = batch
            .into_iter()
            .map(|entry| (entry.item, entry.done))
            .unzip();
        let count = items.len();
        let result = self.write_with_retries(items.into()).await;
        let counters = &self.counters;
        match &result {
            Ok(()) => {
                counters.batches.fetch_add(1, Ordering::AcqRel);
                counters.items.fetch_add(count as u64, Ordering::AcqRel);
            }
            Err(_) => {
                counters.failed_batches.fetch_add(1, Ordering::AcqRel);
            }
        }
        counters.pending.fetch_sub(count, Ordering::AcqRel);
        for done in answers {
            // A submitter that gave up waiting is no reason to stop.
            let _ = done.send(result.clone());
        }
    }

    async fn write_with_retries(&mut self, items: Arc<[T]>) -> Result<(), SubmitError> {
        let mut backoff = self.config.first_backoff;
        let mut attempt = 1;
        loop {
            let Err(error) = (self.writer)(items.clone()).await else {
                return Ok(());
            };
            self.counters.failed_attempts.fetch_add(1, Ordering::AcqRel);
            let reason = error.to_string();
            if attempt >= self.config.attempts {
                tracing::error!(batcher = self.name, attempts = attempt, error = %reason, "batch write failed; its items are refused");
                return Err(SubmitError::Failed {
                    name: self.name,
                    reason,
                });
            }
            tracing::warn!(batcher = self.name, attempt, retry_in_ms = backoff.as_millis() as u64, error = %reason, "batch write failed; retrying");
            tokio::time::sleep(backoff).await;
            backoff = backoff.saturating_mul(2);
            attempt += 1;
        }
    }
}
