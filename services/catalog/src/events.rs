//! Events the catalog consumes: the approval center's outcomes of the
//! applications reviewing access requests. Each is decoded from its
//! contract payload, decided by pure domain logic, and written in the
//! consumer's transaction, so the change, its events and the inbox record
//! of the event commit together.

use std::sync::Arc;

use sea_orm::DatabaseTransaction;
use uuid::Uuid;
use zhongtai_contracts::approval::v1 as approval;
use zhongtai_contracts::common::v1 as common;
use zhongtai_contracts::events::v1 as events;
use zhongtai_events::{EnvelopeExt, EventEnvelope, EventHandler, HandlerError, Subscription};
use zhongtai_kit::{Actor, ActorKind, TenantId};

use crate::domain::decisions::{ReviewOutcome, decide};
use crate::domain::now;
use crate::store;

/// Durable queue (and inbox consumer) name.
pub const SUBSCRIPTION: &str = "catalog.access-decisions";
const APPROVED: &str = "approval.application.approved";
const REJECTED: &str = "approval.application.rejected";
const RECALLED: &str = "approval.application.recalled";

/// The subscription and its handler.
pub fn subscription() -> (Subscription, Arc<dyn EventHandler>) {
    (
        Subscription::new(SUBSCRIPTION, [APPROVED, REJECTED, RECALLED]),
        Arc::new(AccessDecisions),
    )
}

/// Applies approval outcomes to the access requests they reviewed.
pub struct AccessDecisions;

#[async_trait::async_trait]
impl EventHandler for AccessDecisions {
    async fn handle(
        &self,
        txn: &DatabaseTransaction,
        event: &EventEnvelope,
    ) -> Result<(), HandlerError> {
        let (application, entry) = match event.r#type.as_str() {
            APPROVED => {
                let payload: events::ApplicationApproved =
                    event.decode_payload().map_err(HandlerError::permanent)?;
                (payload.application, payload.entry)
            }
            REJECTED => {
                let payload: events::ApplicationRejected =
                    event.decode_payload().map_err(HandlerError::permanent)?;
                (payload.application, payload.entry)
            }
            RECALLED => {
                let payload: events::ApplicationRecalled =
                    event.decode_payload().map_err(HandlerError::permanent)?;
                (payload.application, payload.entry)
            }
            // Bound only to the three above; anything else is not ours.
            _ => return Ok(()),
        };
        let Some(application) = application else {
            return Err(HandlerError::permanent(format!(
                "event {} carries no application",
                event.id
            )));
        };
        let Some(request_id) = access_request_of(&application) else {
            return Ok(());
        };
        let comment = entry
            .as_ref()
            .map(|entry| entry.comment.clone())
            .unwrap_or_default();
        let outcome = match event.r#type.as_str() {
            APPROVED => ReviewOutcome::Approved,
            REJECTED => ReviewOutcome::Rejected { comment },
            _ => ReviewOutcome::Recalled {
                actor: entry
                    .and_then(|entry| entry.actor)
                    .map(actor_of)
                    .unwrap_or_else(|| Actor::system("approval")),
                comment,
            },
        };
        let Some(request) = store::request_for_event(txn, request_id)
            .await
            .map_err(HandlerError::transient)?
        else {
            tracing::warn!(access_request = %request_id, application = %application.id, "decision for an unknown access request");
            return Ok(());
        };
        let Some(changes) = decide(&request, &application.id, &outcome, Uuid::now_v7(), now())
        else {
            tracing::info!(
                access_request = %request_id,
                application = %application.id,
                state = request.state.as_str(),
                "decision changes nothing"
            );
            return Ok(());
        };
        store::commit_in(txn, &changes)
            .await
            .map_err(HandlerError::transient)?;
        tracing::info!(access_request = %request_id, application = %application.id, event = %event.r#type, "access request decided");
        Ok(())
    }
}

/// The access request an application reviews, when the catalog raised it.
fn access_request_of(application: &approval::Application) -> Option<Uuid> {
    let origin = application.origin.as_ref()?;
    if origin.service != "catalog" || origin.kind != "access_request" {
        return None;
    }
    Uuid::parse_str(&origin.id).ok()
}

fn actor_of(actor: common::Actor) -> Actor {
    Actor {
        kind: match common::ActorKind::try_from(actor.kind) {
            Ok(common::ActorKind::Service) => ActorKind::Service,
            Ok(common::ActorKind::App) => ActorKind::App,
            Ok(common::ActorKind::System) => ActorKind::System,
            _ => ActorKind::User,
        },
        tenant: actor
            .tenant
            .and_then(|tenant| TenantId::parse(&tenant.division_code, &tenant.department).ok()),
        subject: actor.subject,
        roles: actor.roles,
    }
}
