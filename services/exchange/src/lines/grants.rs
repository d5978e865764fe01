//! Catalog grant events (`catalog.grant.*`): the grants table follows the
//! catalog, an approved grant gets a queue subscription on every line that
//! feeds its resource, and a revoked or expired one stops them all. Runs in
//! the consumer's transaction with its inbox record, and provisioned ids
//! are derived from the grant and the line, so a redelivered event creates
//! nothing new.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use sea_orm::DatabaseTransaction;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;
use zhongtai_contracts::catalog::v1 as catalog;
use zhongtai_contracts::events::v1 as events;
use zhongtai_events::{EnvelopeExt, EventEnvelope, EventHandler, HandlerError, Subscription};
use zhongtai_kit::BackgroundTask;

use crate::convert::policy::delivery_policy;
use crate::domain::{ExchangeError, Grant, GrantState};
use crate::lines::domain::subscribing::{feeds_grants_of, grant_subscription};
use crate::store::SeaLines;
use crate::store::grants::{
    REASON_EXPIRED, REASON_REVOKED, live_lines_for_resource_in, provision_subscription_in,
    provisioning_actor, revoke_grant_subscriptions_in, upsert_grant_in,
};

/// Durable queue (and inbox consumer) name.
pub const SUBSCRIPTION: &str = "exchange.catalog-grants";
pub const GRANT_EVENTS: &str = "catalog.grant.*";
/// How often grants past their validity are looked for.
pub const EXPIRY_INTERVAL: Duration = Duration::from_secs(5);

/// Keeps grants and their subscriptions in step with the catalog.
pub struct GrantEvents {
    queue_delivery_available: bool,
}

impl GrantEvents {
    /// Without a broker (`queue_delivery_available` false) approved grants
    /// are recorded but get no queue subscription; the grantee subscribes
    /// an enclave itself.
    pub fn new(queue_delivery_available: bool) -> Self {
        Self {
            queue_delivery_available,
        }
    }

    async fn apply(&self, txn: &DatabaseTransaction, grant: &Grant) -> Result<(), ExchangeError> {
        if !upsert_grant_in(txn, grant).await? {
            tracing::debug!(grant = %grant.id, version = grant.version, "older grant announcement ignored");
            return Ok(());
        }
        match grant.state {
            GrantState::Approved | GrantState::Provisioned => self.provision(txn, grant).await,
            GrantState::Revoked => revoke(txn, grant, REASON_REVOKED).await,
            GrantState::Expired => revoke(txn, grant, REASON_EXPIRED).await,
            GrantState::Pending => Ok(()),
        }
    }

    async fn provision(
        &self,
        txn: &DatabaseTransaction,
        grant: &Grant,
    ) -> Result<(), ExchangeError> {
        if !grant.allows_delivery_at(Utc::now()) {
            return Ok(());
        }
        if !self.queue_delivery_available {
            tracing::info!(grant = %grant.id, "grant recorded; no broker, so no queue subscription");
            return Ok(());
        }
        for line in live_lines_for_resource_in(txn, grant.resource_id).await? {
            if !feeds_grants_of(&line, grant) {
                tracing::warn!(grant = %grant.id, line = %line.id, "line of another division linked to a granted resource; not provisioned");
                continue;
            }
            let subscription = grant_subscription(grant, line.id, Utc::now());
            let (_, created) =
                provision_subscription_in(txn, &subscription, &provisioning_actor()).await?;
            if created {
                tracing::info!(grant = %grant.id, line = %line.id, subscription = %subscription.id, "subscription provisioned for grant");
            }
        }
        Ok(())
    }
}

async fn revoke(
    txn: &DatabaseTransaction,
    grant: &Grant,
    reason: &str,
) -> Result<(), ExchangeError> {
    let revoked = revoke_grant_subscriptions_in(txn, grant.id, reason).await?;
    if revoked > 0 {
        tracing::info!(grant = %grant.id, revoked, reason, "subscriptions stopped with their grant");
    }
    Ok(())
}

#[async_trait::async_trait]
impl EventHandler for GrantEvents {
    async fn handle(
        &self,
        txn: &DatabaseTransaction,
        event: &EventEnvelope,
    ) -> Result<(), HandlerError> {
        let Some(message) = grant_payload(event)? else {
            return Ok(());
        };
        let grant = grant_from_message(&message)
            .map_err(|problem| HandlerError::permanent(format!("event {}: {problem}", event.id)))?;
        self.apply(txn, &grant).await.map_err(|error| match error {
            ExchangeError::Storage(_) | ExchangeError::Conflict { .. } => {
                HandlerError::transient(error.to_string())
            }
            other => HandlerError::permanent(other.to_string()),
        })
    }
}

/// The grant an event carries; `None` for event types that carry none.
fn grant_payload(event: &EventEnvelope) -> Result<Option<catalog::Grant>, HandlerError> {
    let decode = HandlerError::permanent;
    let grant = match event.r#type.as_str() {
        "catalog.grant.created" => {
            event
                .decode_payload::<events::GrantCreated>()
                .map_err(decode)?
                .grant
        }
        "catalog.grant.approved" => {
            event
                .decode_payload::<events::GrantApproved>()
                .map_err(decode)?
                .grant
        }
        "catalog.grant.provisioned" => {
            event
                .decode_payload::<events::GrantProvisioned>()
                .map_err(decode)?
                .grant
        }
        "catalog.grant.revoked" => {
            event
                .decode_payload::<events::GrantRevoked>()
                .map_err(decode)?
                .grant
        }
        "catalog.grant.expired" => {
            event
                .decode_payload::<events::GrantExpired>()
                .map_err(decode)?
                .grant
        }
        _ => return Ok(None),
    };
    grant
        .map(Some)
        .ok_or_else(|| HandlerError::permanent(format!("event {} carries no grant", event.id)))
}

/// The domain grant of a catalog grant; `Err` says what is unreadable.
pub fn grant_from_message(grant: &catalog::Grant) -> Result<Grant, String> {
    let id = |field: &str, value: &str| {
        Uuid::parse_str(value).map_err(|_| format!("grant {field} {value:?} is not a UUID"))
    };
    let tenant = |field: &str, tenant: Option<&zhongtai_contracts::common::v1::Tenant>| {
        zhongtai_kit::proto::tenant(field, tenant).map_err(|e| e.message().to_string())
    };
    let state = match catalog::GrantState::try_from(grant.state) {
        Ok(catalog::GrantState::Pending) => GrantState::Pending,
        Ok(catalog::GrantState::Approved) => GrantState::Approved,
        Ok(catalog::GrantState::Provisioned) => GrantState::Provisioned,
        Ok(catalog::GrantState::Revoked) => GrantState::Revoked,
        Ok(catalog::GrantState::Expired) => GrantState::Expired,
        Ok(catalog::GrantState::Unspecified) | Err(_) => {
            return Err(format!("grant state {} is not known", grant.state));
        }
    };
    let valid_until = match grant.period.as_ref().and_then(|p| p.end_time.as_ref()) {
        Some(end) => Some(crate::convert::time(end).ok_or("grant period end is out of range")?),
        None => None,
    };
    Ok(Grant {
        id: id("id", &grant.id)?,
        resource_id: id("resource_id", &grant.resource_id)?,
        owner: tenant("owner", grant.owner.as_ref())?,
        grantee: tenant("grantee", grant.grantee.as_ref())?,
        policy: delivery_policy(&grant.fields, grant.row_filter.as_ref())
            .map_err(|problem| format!("grant policy: {problem}"))?,
        state,
        valid_until,
        version: grant.version,
    })
}

/// The consumer of catalog grant events.
pub fn subscriptions(queue_delivery_available: bool) -> Vec<(Subscription, Arc<dyn EventHandler>)> {
    vec![(
        Subscription::new(SUBSCRIPTION, [GRANT_EVENTS]),
        Arc::new(GrantEvents::new(queue_delivery_available)) as Arc<dyn EventHandler>,
    )]
}

/// Expires grants past their validity (and their subscriptions), whether
/// or not the catalog's expiry event has arrived yet.
pub fn background(store: Arc<SeaLines>, stop: CancellationToken) -> Vec<BackgroundTask> {
    vec![Box::pin(zhongtai_kit::timers::every(
        "exchange.grant-expiry",
        EXPIRY_INTERVAL,
        stop,
        move || {
            let store = store.clone();
            async move { store.expire_due_grants(Utc::now()).await }
        },
    ))]
}
