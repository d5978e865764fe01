//! The SLA timer: finds applications whose persisted reminder or deadline
//! came due and fires them. Deadlines live in the database, so restarts
//! lose nothing; each firing is saved with a version check in the
//! transaction of its events, so when several instances look at once
//! exactly one of them acts and the others skip.

use std::sync::Arc;

use chrono::{SubsecRound, Utc};
use zhongtai_audit::{AuditRecord, Outcome};

use super::application::Acting;
use super::error::ApprovalError;
use super::ports::{ApplicationRepository, Saved};

/// How the timer appears in histories, events and the audit log.
pub const TIMER_ACTOR: &str = "approval.sla-timer";
/// Applications looked at per tick.
const BATCH: u64 = 100;

/// Fires due SLA moments.
#[derive(Clone)]
pub struct SlaTimer {
    repository: Arc<dyn ApplicationRepository>,
}

impl SlaTimer {
    pub fn new(repository: Arc<dyn ApplicationRepository>) -> Self {
        Self { repository }
    }

    /// One look at what is due; returns how many applications it changed.
    pub async fn tick(&self) -> Result<usize, ApprovalError> {
        let now = Utc::now().trunc_subsecs(6);
        let due = self.repository.due(now, BATCH).await?;
        let mut handled = 0;
        for current in due {
            let mut next = current.clone();
            let acting = Acting::system(TIMER_ACTOR, now);
            let transitions = next.fire_due_timers(&acting);
            if transitions.is_empty() {
                continue;
            }
            let audit = AuditRecord::new(
                TIMER_ACTOR,
                current.tenant.key(),
                "approval.application.sla",
                format!("application/{}", current.id),
                Outcome::Allowed,
            );
            match self
                .repository
                .save_for_timer(&next, current.version, &transitions, &audit)
                .await
            {
                Ok(Saved::Saved) => {
                    handled += 1;
                    for transition in &transitions {
                        tracing::info!(
                            application = %current.id,
                            stage = %transition.entry.stage_key,
                            action = ?transition.kind,
                            "sla moment fired"
                        );
                    }
                }
                Ok(Saved::Conflict) => {
                    tracing::debug!(application = %current.id, "changed meanwhile; looked at again at the next tick");
                }
                Err(error) => {
                    tracing::warn!(application = %current.id, %error, "cannot fire an sla moment; retrying at the next tick");
                }
            }
        }
        Ok(handled)
    }
}
