//! The after-confirm failpoint (feature `test-hooks`): lets a test stop a
//! relay exactly between "the broker confirmed the batch" and "the batch is
//! marked sent", the window in which a crash causes re-publication.

use std::sync::Arc;

use zhongtai_contracts::events::v1::EventEnvelope;

/// What the relay does after the failpoint ran.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AfterConfirm {
    /// Mark the batch sent as usual.
    Continue,
    /// Behave like a crash: drop the batch's transaction without marking and
    /// end [`Relay::run`](crate::Relay::run).
    Crash,
}

/// Called with the confirmed envelopes of a batch before they are marked.
pub type AfterConfirmHook = Arc<dyn Fn(&[EventEnvelope]) -> AfterConfirm + Send + Sync>;
