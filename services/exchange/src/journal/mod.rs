//! The journal (per-hop records of every change), reconciliation reports
//! and record traces.
//!
//! The journal keeps the identity of every change (line, position, table,
//! operation, key, content hash, commit and capture times) and of its
//! delivery to each subscription (hop times, attempts, effects), never row
//! values: a trace shows where a change went, not what it said.

pub mod api;
mod entities;
mod keys;
mod metrics;
mod periodic;
mod queries;
mod record;
mod record_pg;
mod report_message;

use std::sync::Arc;

use chrono::Utc;
use sea_orm::DatabaseConnection;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;
use zhongtai_kit::BackgroundTask;
use zhongtai_kit::config::ExchangeConfig;

pub use api::JournalHandlers;
pub use keys::key_json;
pub use record::SeaJournal;

use crate::domain::reconciliation::{self, ReconcileInput, Report, SubscriptionScope, Window};
use crate::domain::{ExchangeError, Journal};
use queries::SubscriptionInfo;

/// The journal, its reports and its background work, over one database.
pub struct Journals {
    db: DatabaseConnection,
    outbox: Arc<tokio::sync::Notify>,
    config: ExchangeConfig,
}

impl Journals {
    /// `outbox` is woken after reports' events are committed.
    pub fn new(
        db: DatabaseConnection,
        outbox: Arc<tokio::sync::Notify>,
        config: ExchangeConfig,
    ) -> Arc<Self> {
        metrics::register();
        Arc::new(Self { db, outbox, config })
    }

    /// The [`Journal`] runners record into.
    pub fn journal(self: &Arc<Self>) -> Arc<dyn Journal> {
        Arc::new(SeaJournal::new(self.db.clone()))
    }

    /// The reconciliation and trace RPCs.
    pub fn handlers(self: &Arc<Self>) -> JournalHandlers {
        JournalHandlers::new(self.clone())
    }

    /// Periodic reconciliation of closed windows and pruning of old
    /// journal entries, until `stop`.
    pub fn background(self: &Arc<Self>, stop: CancellationToken) -> Vec<BackgroundTask> {
        let journals = self.clone();
        let interval = periodic::tick_interval(&self.config);
        vec![Box::pin(async move {
            zhongtai_kit::timers::every("exchange.reconcile", interval, stop, move || {
                let journals = journals.clone();
                async move { journals.reconcile_due().await }
            })
            .await;
        })]
    }

    /// One round of periodic work: reports every closed, settled window
    /// not reported yet (publishing their events) and prunes entries older
    /// than the retention. Returns how many reports it stored.
    pub async fn reconcile_due(&self) -> Result<usize, ExchangeError> {
        periodic::reconcile_due(self).await
    }

    /// The report of `line_id` over `window` for `subscriptions`, computed
    /// now from the journal (not stored).
    async fn compute(
        &self,
        line_id: Uuid,
        window: Window,
        subscriptions: &[SubscriptionInfo],
    ) -> Result<Report, ExchangeError> {
        let ids: Vec<Uuid> = subscriptions.iter().map(|s| s.id).collect();
        let captured = queries::captured_in(&self.db, line_id, &window).await?;
        let deliveries = queries::deliveries_in(&self.db, line_id, &window, &ids).await?;
        let confirmed_position = queries::confirmed_position(&self.db, line_id).await?;
        let input = ReconcileInput {
            line_id,
            window,
            now: Utc::now(),
            late_threshold: self.config.late_threshold(),
            confirmed_position,
            captured,
            deliveries,
            subscriptions: subscriptions
                .iter()
                .map(|s| SubscriptionScope {
                    id: s.id,
                    applies: s.applies,
                    delivered_position: s.delivered_position,
                    created_at: s.created_at,
                    receiving: s.state.holds_line(),
                })
                .collect(),
        };
        Ok(reconciliation::reconcile(&input, Uuid::now_v7()))
    }
}
