//! GetLineStatus: where a line stands, with positions, lag and progress.

use chrono::Utc;
use tonic::{Request, Response, Status};
use zhongtai_contracts::exchange::v1 as pb;
use zhongtai_kit::auth::caller;
use zhongtai_kit::proto::{tenant_message, timestamp};

use super::{LineHandlers, id_of};
use crate::convert::PositionStyle;
use crate::domain::SourceSpec;
use crate::lines::convert::{line_message, millis_message, subscription_state_message};

impl LineHandlers {
    pub async fn get_line_status(
        &self,
        request: Request<pb::GetLineStatusRequest>,
    ) -> Result<Response<pb::GetLineStatusResponse>, Status> {
        let caller = caller(&request)?;
        let id = id_of("id", &request.get_ref().id)?;
        let mut line = self.visible_line(&caller, id).await?;
        let runtime = self.store.line_runtime(line.id).await?;
        line.snapshot = runtime.snapshot.clone();
        let style = match line.source {
            SourceSpec::Log(_) => PositionStyle::Lsn,
            SourceSpec::Push(_) | SourceSpec::Enclave(_) => PositionStyle::Sequence,
        };
        let now = Utc::now();
        let capture_lag_ms = match runtime.last_commit_at {
            Some(commit) if runtime.source_position > runtime.confirmed_position => {
                (now - commit).num_milliseconds().max(0)
            }
            _ => 0,
        };
        let owner_view = caller.read_scope().permits(&line.owner);
        let subscriptions = self
            .store
            .subscription_progress(line.id)
            .await?
            .into_iter()
            // A subscriber sees its own delivery, the owner everyone's.
            .filter(|p| owner_view || p.subscription.subscriber == caller.tenant)
            .map(|progress| {
                let subscription = &progress.subscription;
                let caught_up = subscription.delivered_position >= runtime.confirmed_position;
                let lag_ms = if caught_up {
                    0
                } else {
                    progress
                        .last_delivered_commit_at
                        .map(|at| (now - at).num_milliseconds().max(0))
                        .unwrap_or(progress.last_lag_ms)
                };
                pb::SubscriptionLag {
                    subscription_id: subscription.id.to_string(),
                    subscriber: Some(tenant_message(&subscription.subscriber)),
                    state: subscription_state_message(subscription.state) as i32,
                    lag: Some(millis_message(lag_ms)),
                    // Positions are not counts, so what lies between them is
                    // unknown without reading the journal.
                    backlog: if caught_up { 0 } else { -1 },
                }
            })
            .collect();
        Ok(Response::new(pb::GetLineStatusResponse {
            line: Some(line_message(&line)),
            source_position: style.text(runtime.source_position),
            confirmed_position: style.text(runtime.confirmed_position),
            capture_lag: Some(millis_message(capture_lag_ms)),
            subscriptions,
            last_activity_time: runtime.last_activity_at.map(timestamp),
            captured_total: runtime.captured_total,
        }))
    }
}
