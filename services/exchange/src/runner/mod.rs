//! Runs lines: source → policy → sinks → journal → confirm.
//!
//! A supervisor ([`Runners::background`]) takes a lease on every runnable
//! log or enclave line, so that across all instances exactly one task reads
//! a line's source; it renews the lease at a third of its lifetime and
//! stops the task when the lease is lost, the line leaves a runnable state,
//! or the process shuts down. Push lines have no task: `PushChanges` hands
//! each batch to [`Runners::delivery`] directly.
//!
//! # Why a crash loses nothing
//!
//! A batch goes through the same steps in the same order, and each step
//! only starts when the previous one is durable:
//!
//! 1. every receiving subscription's sinks accept the batch (publisher
//!    confirm of every queue message; committed apply into the enclave);
//! 2. the journal records what was captured and what each subscription
//!    accepted;
//! 3. the line's runtime stores the new confirmed position;
//! 4. only then is the position confirmed to the source (for PostgreSQL,
//!    the replication slot's flush position).
//!
//! A crash (even SIGKILL) between any two steps leaves the source's
//! confirmed position at or below what is durably downstream, so the
//! source replays from there. Replayed changes carry the same
//! `change_id` (`<line>:<position>:<index>`): queue receivers deduplicate
//! on the message id, enclaves apply with a per-key position guard, the
//! journal keeps the first record of a change, and changes at or below the
//! stored confirmed position are skipped before they reach a sink. A sink
//! that fails keeps the batch in place: it is retried with backoff and
//! nothing after it is confirmed, however long that takes.
//!
//! # Paused subscriptions hold the line
//!
//! A paused subscriber must not miss what arrives while it is paused, and
//! the source log is the only place that keeps it. So while any of a
//! line's subscriptions is PAUSED the line takes no further batches (the
//! held one waits in memory, nothing is confirmed), for every subscriber
//! of the line; the line's state and reason stay as they are. Resuming the
//! subscription lets the line go on within a refresh interval.
//!
//! # Queue messages
//!
//! Each change a subscription receives is one persistent message on its
//! durable queue: a prost-encoded `zhongtai.exchange.v1.ChangeRecord`
//! (projected and masked for that subscription), the change id as message
//! id, and the headers [`LINE_HEADER`], [`SUBSCRIPTION_HEADER`] and
//! [`POSITION_HEADER`]. A redelivered change carries the same message id.
//!
//! # Push lines
//!
//! A pushed batch gets one attempt: a failing sink or a paused subscription
//! is reported to the producer (as a transient error), which sends the
//! batch again; what the cursor already holds is skipped then.

mod line_task;
mod log_capture;
mod metrics;
mod pipeline;
mod sinks;
mod supervisor;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

pub use sinks::{LINE_HEADER, POSITION_HEADER, SUBSCRIPTION_HEADER};

use async_trait::async_trait;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;
use zhongtai_events::QueuePublisher;
use zhongtai_kit::config::ExchangeConfig;

use crate::domain::flow::{ChangeSource, DeliverySink, FlowError, Journal};
use crate::domain::line::{LogSourceSpec, SnapshotProgress};
use crate::domain::ports::{Delivery, EnclaveDirectory, RunnerStore};

/// Where a log line's source resumes.
#[derive(Debug, Clone, PartialEq)]
pub struct LogResume {
    /// Everything at or below it is durably downstream.
    pub confirmed_position: u64,
    /// The stored snapshot progress (a snapshot resumes or is skipped).
    pub snapshot: SnapshotProgress,
    pub batch_max_changes: u32,
}

/// Opens log lines' sources (PostgreSQL logical replication in production).
#[async_trait]
pub trait SourceOpener: Send + Sync + 'static {
    async fn open(
        &self,
        line_id: Uuid,
        spec: &LogSourceSpec,
        resume: LogResume,
    ) -> Result<Box<dyn ChangeSource>, FlowError>;
}

/// What runners need, all free of the database.
pub struct RunnerParts {
    pub store: Arc<dyn RunnerStore>,
    pub journal: Arc<dyn Journal>,
    pub enclaves: Arc<dyn EnclaveDirectory>,
    /// Applies changes into enclave tables.
    pub enclave_sink: Arc<dyn DeliverySink>,
    /// `None` without RabbitMQ (embedded mode): queue subscriptions go
    /// DEGRADED.
    pub queues: Option<Arc<QueuePublisher>>,
    pub log_sources: Arc<dyn SourceOpener>,
    pub config: ExchangeConfig,
    /// Names this process in line leases.
    pub instance_id: Uuid,
}

/// The line runners of one process.
pub struct Runners {
    parts: RunnerParts,
    masking_key: Vec<u8>,
    /// One entry per line this process delivers for; its lock serialises
    /// the line's batches.
    lines: Mutex<HashMap<Uuid, Arc<tokio::sync::Mutex<pipeline::LineCache>>>>,
}

impl Runners {
    /// Fails when the configured masking key is not base64.
    pub fn new(parts: RunnerParts) -> Result<Self, FlowError> {
        let masking_key = parts
            .config
            .masking_key_bytes()
            .map_err(FlowError::Permanent)?;
        // The line families are served from start-up, before any line runs.
        std::sync::LazyLock::force(&metrics::METRICS);
        Ok(Self {
            parts,
            masking_key,
            lines: Mutex::new(HashMap::new()),
        })
    }

    /// The pipeline, for `PushChanges`.
    pub fn delivery(self: &Arc<Self>) -> Arc<dyn Delivery> {
        Arc::new(pipeline::PushDelivery(self.clone()))
    }

    /// The supervisor that leases and runs lines until `stop`.
    pub fn background(
        self: &Arc<Self>,
        stop: CancellationToken,
    ) -> Vec<zhongtai_kit::BackgroundTask> {
        vec![Box::pin(supervisor::run(self.clone(), stop))]
    }

    fn owner(&self) -> String {
        self.parts.instance_id.to_string()
    }

    fn line_cache(&self, line_id: Uuid) -> Arc<tokio::sync::Mutex<pipeline::LineCache>> {
        let mut lines = self.lines.lock().unwrap_or_else(|e| e.into_inner());
        lines.entry(line_id).or_default().clone()
    }

    fn forget_line(&self, line_id: Uuid) {
        let mut lines = self.lines.lock().unwrap_or_else(|e| e.into_inner());
        lines.remove(&line_id);
    }
}
