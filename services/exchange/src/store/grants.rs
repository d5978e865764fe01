//! Catalog grants as their events announced them, and what follows from
//! them: subscriptions provisioned for a grantee, revoked with the grant.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, EntityTrait, IntoActiveModel,
    QueryFilter,
};
use uuid::Uuid;
use zhongtai_kit::{Actor, ScopedEntity, SystemPurpose};

use super::SeaLines;
use super::entities::{grant, line, subscription};
use super::lines::{live_subscription_states, subscriptions_where};
use super::rows::{grant_from_row, grant_row, is_unique_violation, line_from_row, storage};
use super::subscriptions::set_subscription_state_in;
use crate::domain::{ExchangeError, Grant, GrantState, Line, LineState, SubscriptionState};
use crate::lines::domain::subscribing::{feeds_grants_of, grant_subscription};

pub use super::subscriptions::provision_subscription_in;

/// Why a subscription stopped with its grant.
pub const REASON_REVOKED: &str = "grant revoked";
pub const REASON_EXPIRED: &str = "grant expired";

impl SeaLines {
    /// The grant as last announced; `None` when the catalog never did.
    pub async fn grant(&self, id: Uuid) -> Result<Option<Grant>, ExchangeError> {
        grant_in(&self.db, id).await
    }

    /// Expires grants whose validity ended before `now` and revokes their
    /// subscriptions; returns how many grants expired.
    pub async fn expire_due_grants(&self, now: DateTime<Utc>) -> Result<usize, ExchangeError> {
        let due = super::platform::grants()
            .filter(grant::Column::State.is_in([
                GrantState::Approved.as_str(),
                GrantState::Provisioned.as_str(),
            ]))
            .filter(grant::Column::ValidUntil.lte(now))
            .all(&self.db)
            .await
            .map_err(storage)?;
        let mut expired = 0;
        for row in due {
            let grant = grant_from_row(row)?;
            let txn = zhongtai_store::begin_write(&self.db)
                .await
                .map_err(storage)?;
            // Conditional on the state read: a newer announcement wins.
            let result = super::platform::update_grants()
                .col_expr(
                    grant::Column::State,
                    Expr::value(GrantState::Expired.as_str()),
                )
                .col_expr(grant::Column::UpdatedAt, Expr::value(now))
                .filter(grant::Column::Id.eq(grant.id.to_string()))
                .filter(grant::Column::Version.eq(grant.version))
                .filter(grant::Column::State.eq(grant.state.as_str()))
                .exec(&txn)
                .await
                .map_err(storage)?;
            if result.rows_affected == 1 {
                revoke_grant_subscriptions_in(&txn, grant.id, REASON_EXPIRED).await?;
                expired += 1;
            }
            txn.commit().await.map_err(storage)?;
        }
        if expired > 0 {
            self.notify();
        }
        Ok(expired)
    }
}

pub async fn grant_in<C: ConnectionTrait>(
    conn: &C,
    id: Uuid,
) -> Result<Option<Grant>, ExchangeError> {
    super::platform::grants()
        .filter(grant::Column::Id.eq(id.to_string()))
        .one(conn)
        .await
        .map_err(storage)?
        .map(grant_from_row)
        .transpose()
}

/// Stores `grant` unless the stored one is at the same or a newer version;
/// true when it stored it.
pub async fn upsert_grant_in<C: ConnectionTrait>(
    conn: &C,
    grant: &Grant,
) -> Result<bool, ExchangeError> {
    let now = Utc::now();
    let row = grant_row(grant, now)?;
    let updated = super::platform::update_grants()
        .set(row.clone().into_active_model().reset_all())
        .filter(grant::Column::Id.eq(grant.id.to_string()))
        .filter(grant::Column::Version.lt(grant.version))
        .exec(conn)
        .await
        .map_err(storage)?;
    if updated.rows_affected == 1 {
        return Ok(true);
    }
    if grant_in(conn, grant.id).await?.is_some() {
        return Ok(false);
    }
    match grant::Entity::insert(row.into_active_model())
        .exec_without_returning(conn)
        .await
    {
        Ok(_) => Ok(true),
        // Another consumer stored it first: try again with its version.
        Err(error) if is_unique_violation(&error) => Err(ExchangeError::Conflict {
            kind: "grant",
            id: grant.id.to_string(),
        }),
        Err(error) => Err(storage(error)),
    }
}

/// Lines that are not deleted and feed `resource_id`.
pub async fn live_lines_for_resource_in<C: ConnectionTrait>(
    conn: &C,
    resource_id: Uuid,
) -> Result<Vec<Line>, ExchangeError> {
    line::Entity::find_for_system(SystemPurpose("lines a grant's resource feeds"))
        .filter(line::Column::ResourceId.eq(resource_id.to_string()))
        .filter(line::Column::State.ne(LineState::Deleted.as_str()))
        .all(conn)
        .await
        .map_err(storage)?
        .into_iter()
        .map(line_from_row)
        .collect()
}

/// Every live subscription under the grant → REVOKED with `reason`; returns
/// how many.
pub async fn revoke_grant_subscriptions_in<C: ConnectionTrait>(
    conn: &C,
    grant_id: Uuid,
    reason: &str,
) -> Result<usize, ExchangeError> {
    let live = subscriptions_where(
        conn,
        Condition::all()
            .add(subscription::Column::GrantId.eq(grant_id.to_string()))
            .add(subscription::Column::State.is_in(live_subscription_states())),
    )
    .await?;
    let mut revoked = 0;
    for subscription in live {
        if set_subscription_state_in(
            conn,
            &subscription,
            SubscriptionState::Revoked,
            reason,
            None,
        )
        .await?
        .is_some()
        {
            revoked += 1;
        }
    }
    Ok(revoked)
}

/// The center itself, as the actor of what it provisions.
pub fn provisioning_actor() -> Actor {
    Actor {
        kind: zhongtai_kit::ActorKind::Service,
        subject: "exchange".into(),
        tenant: None,
        roles: Vec::new(),
    }
}

/// Why a grant subscription stops when its line stops feeding the grant's
/// resource.
pub const REASON_RELINKED: &str = "line no longer feeds the granted resource";

/// Brings a line's grant subscriptions in step with the resource it feeds
/// now: grants in force on that resource get their queue subscription
/// (when `queue_delivery` is available), and subscriptions under grants of
/// another resource are revoked. Returns (provisioned, revoked).
pub async fn link_line_grants_in<C: ConnectionTrait>(
    conn: &C,
    line: &Line,
    queue_delivery: bool,
) -> Result<(usize, usize), ExchangeError> {
    let now = Utc::now();
    let mut revoked = 0;
    let live = subscriptions_where(
        conn,
        Condition::all()
            .add(subscription::Column::LineId.eq(line.id.to_string()))
            .add(subscription::Column::GrantId.is_not_null())
            .add(subscription::Column::State.is_in(live_subscription_states())),
    )
    .await?;
    for subscription in live {
        let Some(grant_id) = subscription.grant_id else {
            continue;
        };
        let covers = grant_in(conn, grant_id)
            .await?
            .is_some_and(|grant| Some(grant.resource_id) == line.resource_id);
        if !covers
            && set_subscription_state_in(
                conn,
                &subscription,
                SubscriptionState::Revoked,
                REASON_RELINKED,
                None,
            )
            .await?
            .is_some()
        {
            revoked += 1;
        }
    }
    let mut provisioned = 0;
    if let (Some(resource_id), true) = (line.resource_id, queue_delivery) {
        let in_force = super::platform::grants()
            .filter(grant::Column::ResourceId.eq(resource_id.to_string()))
            .filter(grant::Column::State.is_in([
                GrantState::Approved.as_str(),
                GrantState::Provisioned.as_str(),
            ]))
            .all(conn)
            .await
            .map_err(storage)?;
        for row in in_force {
            let grant = grant_from_row(row)?;
            if !grant.allows_delivery_at(now) || !feeds_grants_of(line, &grant) {
                continue;
            }
            let subscription = grant_subscription(&grant, line.id, now);
            let (_, created) =
                provision_subscription_in(conn, &subscription, &provisioning_actor()).await?;
            provisioned += usize::from(created);
        }
    }
    Ok((provisioned, revoked))
}
