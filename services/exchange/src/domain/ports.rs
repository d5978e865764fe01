//! What the domain needs from storage. The store module implements it.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;
use zhongtai_kit::{Page, PageQuery, TenantId, TenantScope};

use super::error::ExchangeError;
use super::flow::{ChangeSource, FlowError, SourceBatch};
use super::line::{EnclaveSourceSpec, Line, LineState, SnapshotProgress};
use super::subscription::{Subscription, SubscriptionState};

/// Which lines a list returns.
#[derive(Debug, Clone, Default)]
pub struct LineFilter {
    /// Only lines in one of these states; empty means every state but
    /// [`LineState::Deleted`].
    pub states: Vec<LineState>,
    /// Only lines feeding this catalog resource.
    pub resource_id: Option<Uuid>,
}

impl LineFilter {
    /// The states a line must be in to be listed.
    pub fn wanted_states(&self) -> Vec<LineState> {
        if self.states.is_empty() {
            LineState::ALL
                .into_iter()
                .filter(|state| *state != LineState::Deleted)
                .collect()
        } else {
            self.states.clone()
        }
    }
}

/// Persistence of exchange lines.
#[async_trait]
pub trait LineRepository: Send + Sync + 'static {
    /// Lines in id (creation) order.
    async fn list(
        &self,
        scope: &TenantScope,
        filter: &LineFilter,
        page: &PageQuery,
    ) -> Result<Page<Line>, ExchangeError>;
}

/// Where a running line stands: positions, counters, snapshot progress.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct LineRuntime {
    /// Everything at or below it is durably downstream (the push cursor of
    /// push lines).
    pub confirmed_position: u64,
    /// Latest position seen from the source.
    pub source_position: u64,
    pub captured_total: i64,
    pub snapshot: SnapshotProgress,
    /// Last heartbeat or change.
    pub last_activity_at: Option<DateTime<Utc>>,
    /// Source commit time of the last captured change (capture lag).
    pub last_commit_at: Option<DateTime<Utc>>,
    pub last_capture_at: Option<DateTime<Utc>>,
}

/// A subscription's delivered position after a batch.
#[derive(Debug, Clone, PartialEq)]
pub struct DeliveredUpdate {
    pub subscription_id: Uuid,
    pub position: u64,
    /// Source commit time of the last change delivered.
    pub commit_time: DateTime<Utc>,
    /// Commit-to-accept latency of that change.
    pub lag_ms: i64,
}

/// What line runners read and record. Implemented by the lines store.
#[async_trait]
pub trait RunnerStore: Send + Sync + 'static {
    /// Lines in a runnable state ([`Line::is_runnable`]), whoever runs them.
    async fn runnable_lines(&self) -> Result<Vec<Line>, ExchangeError>;

    async fn line(&self, id: Uuid) -> Result<Option<Line>, ExchangeError>;

    /// Takes or renews the line's lease for `owner` until `until`; false
    /// while another owner's lease has not lapsed.
    async fn acquire_lease(
        &self,
        line_id: Uuid,
        owner: &str,
        until: DateTime<Utc>,
    ) -> Result<bool, ExchangeError>;

    /// Gives the lease up (graceful stop), if `owner` holds it.
    async fn release_lease(&self, line_id: Uuid, owner: &str) -> Result<(), ExchangeError>;

    async fn runtime(&self, line_id: Uuid) -> Result<LineRuntime, ExchangeError>;

    /// Saves progress; never moves the confirmed position backwards.
    async fn save_runtime(&self, line_id: Uuid, runtime: &LineRuntime)
    -> Result<(), ExchangeError>;

    /// Moves a runnable line to `state` with `reason` and publishes
    /// `exchange.line.state_changed` in the same transaction; a line paused
    /// or deleted meanwhile is left alone. Returns the line as it stands.
    async fn set_line_state(
        &self,
        line_id: Uuid,
        state: LineState,
        reason: &str,
    ) -> Result<Line, ExchangeError>;

    /// The line's subscriptions that are not final (REVOKED, DELETED).
    async fn live_subscriptions(&self, line_id: Uuid) -> Result<Vec<Subscription>, ExchangeError>;

    /// Records delivered positions and lag after a batch.
    async fn record_delivered(&self, updates: &[DeliveredUpdate]) -> Result<(), ExchangeError>;

    /// Moves a live subscription to ACTIVE or DEGRADED (delivery trouble)
    /// with `reason`, publishing `exchange.subscription.state_changed`.
    async fn set_subscription_health(
        &self,
        subscription_id: Uuid,
        state: SubscriptionState,
        reason: &str,
    ) -> Result<(), ExchangeError>;
}

/// Delivers a batch through the line's subscriptions, journals it, and
/// advances the line's confirmed position: the pipeline runners use, also
/// used directly by `PushChanges` for push lines.
#[async_trait]
pub trait Delivery: Send + Sync + 'static {
    /// Returns once every change is durably downstream (or filtered out)
    /// and journaled, and the line's confirmed position is
    /// `batch.confirm_position`.
    async fn deliver(&self, line: &Line, batch: SourceBatch) -> Result<(), FlowError>;
}

/// Lines and subscriptions other parts of the center create for
/// themselves (backflow rules, grant provisioning). Implemented by the
/// lines store; creation is idempotent on the given ids.
#[async_trait]
pub trait LineProvisioner: Send + Sync + 'static {
    /// Creates `line` (with its runtime row) unless a line with its id
    /// exists; publishes `exchange.line.created`. Returns the stored line.
    async fn provision_line(&self, line: Line) -> Result<Line, ExchangeError>;

    /// Creates `subscription` unless one with its id exists; publishes
    /// `exchange.subscription.created`.
    async fn provision_subscription(
        &self,
        subscription: Subscription,
    ) -> Result<Subscription, ExchangeError>;

    /// Marks the line and its subscriptions DELETED (publishing their state
    /// changes); its runner stops.
    async fn retire_line(&self, line_id: Uuid, reason: &str) -> Result<(), ExchangeError>;
}

/// What lines and subscriptions need to know of enclaves. Implemented by
/// the enclaves part.
#[async_trait]
pub trait EnclaveDirectory: Send + Sync + 'static {
    /// Whether `enclave_id` is an active enclave of exactly `tenant` (an
    /// enclave source or target must belong to the line owner or the
    /// subscriber).
    async fn belongs_to(&self, enclave_id: Uuid, tenant: &TenantId) -> Result<bool, ExchangeError>;

    /// Opens an enclave line's source: the enclave tables' change log after
    /// `confirmed_position`.
    async fn open_source(
        &self,
        line_id: Uuid,
        spec: &EnclaveSourceSpec,
        confirmed_position: u64,
    ) -> Result<Box<dyn ChangeSource>, FlowError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_states_means_all_but_deleted() {
        let wanted = LineFilter::default().wanted_states();
        assert_eq!(wanted.len(), LineState::ALL.len() - 1);
        assert!(!wanted.contains(&LineState::Deleted));
    }

    #[test]
    fn named_states_are_taken_as_given() {
        let filter = LineFilter {
            states: vec![LineState::Deleted, LineState::Failed],
            resource_id: None,
        };
        assert_eq!(
            filter.wanted_states(),
            [LineState::Deleted, LineState::Failed]
        );
    }
}
