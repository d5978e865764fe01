//! The moving parts of a line, as the runner sees them: a source of changes,
//! sinks that durably accept them, and the journal that accounts for every
//! hop. Implemented by `capture` (log sources), `enclaves` (enclave sinks and
//! sources), `runner` (queue sink, push source) and `journal`.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::change::Change;
use super::line::SnapshotProgress;
use super::subscription::Subscription;

/// Changes read from a source, delivered and confirmed as a unit.
#[derive(Debug, Clone, PartialEq)]
pub struct SourceBatch {
    /// In source order; capture times set.
    pub changes: Vec<Change>,
    /// Confirm this to the source once the batch (and everything before it)
    /// is durably downstream.
    pub confirm_position: u64,
}

/// What a source hands the runner next.
#[derive(Debug, Clone, PartialEq)]
pub enum SourceEvent {
    Batch(SourceBatch),
    /// Nothing to deliver up to `position` (an idle or filtered source):
    /// confirm it once everything before it is confirmed, so the source does
    /// not retain its log for nothing.
    Heartbeat {
        position: u64,
        at: DateTime<Utc>,
    },
    /// The initial snapshot moved on (rows done, rate, ETA).
    Progress(SnapshotProgress),
    /// The snapshot is complete; streaming follows.
    SnapshotCompleted(SnapshotProgress),
}

/// Why a source (or sink) stopped.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FlowError {
    /// It may work again by itself (unreachable source, broker down): the
    /// line goes DEGRADED and the runner retries from the confirmed position.
    #[error("{0}")]
    Transient(String),
    /// An operator must act (no primary key, slot dropped, bad
    /// configuration): the line goes FAILED with this reason.
    #[error("{0}")]
    Permanent(String),
}

impl FlowError {
    pub fn is_permanent(&self) -> bool {
        matches!(self, Self::Permanent(_))
    }
}

/// A line's source, opened at its confirmed position.
#[async_trait]
pub trait ChangeSource: Send {
    /// Waits for the next event.
    async fn next(&mut self) -> Result<SourceEvent, FlowError>;

    /// Everything at or below `position` is durably downstream; the source
    /// may forget it.
    async fn confirm(&mut self, position: u64) -> Result<(), FlowError>;

    /// The position as people read it (`0/16B3748`, or the decimal
    /// sequence).
    fn position_text(&self, position: u64) -> String;

    /// Releases the source (closes connections; keeps slots).
    async fn close(&mut self) {}
}

/// What one sink reports back for one accepted change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Accepted {
    /// Durably accepted (publisher confirm, or the apply transaction began).
    pub published_at: DateTime<Utc>,
    /// Handed to the subscriber (applied sinks only).
    pub delivered_at: Option<DateTime<Utc>>,
    /// Committed into the subscriber's table (applied sinks only).
    pub applied_at: Option<DateTime<Utc>>,
    /// Whether applying changed anything (false for a redelivered change
    /// the position guard skipped).
    pub had_effect: bool,
}

/// A downstream that durably accepts a subscription's changes.
#[async_trait]
pub trait DeliverySink: Send + Sync {
    /// Accepts `changes` (already projected for `subscription`, in source
    /// order) and returns once they are durable, one [`Accepted`] per
    /// change. All or nothing: on error nothing counts as accepted and the
    /// runner redelivers later, which the receiver must tolerate.
    async fn accept(
        &self,
        subscription: &Subscription,
        changes: &[Change],
    ) -> Result<Vec<Accepted>, FlowError>;
}

/// One change's outcome at one subscription, as the journal records it.
#[derive(Debug, Clone, PartialEq)]
pub struct DeliveryRecord {
    pub subscription_id: Uuid,
    pub change_id: String,
    pub position: u64,
    pub index: u32,
    pub commit_time: DateTime<Utc>,
    /// The row filter excluded it; nothing was delivered.
    pub filtered_out: bool,
    /// Content hash of what was delivered (after projection); zero when
    /// filtered out.
    pub content_hash: [u8; 32],
    /// `None` when filtered out.
    pub accepted: Option<Accepted>,
}

/// The per-hop record of every change: what was captured and what each
/// subscription accepted. Written after the sinks accepted and before the
/// source is confirmed, so after a crash the journal holds at least what
/// was confirmed.
#[async_trait]
pub trait Journal: Send + Sync {
    /// Records captured changes and their deliveries in one transaction.
    /// Idempotent: a change or delivery recorded before keeps its first
    /// timestamps (a redelivery counts as an attempt, not a second change).
    async fn record(
        &self,
        line_id: Uuid,
        captured: &[Change],
        deliveries: &[DeliveryRecord],
    ) -> Result<(), FlowError>;
}
