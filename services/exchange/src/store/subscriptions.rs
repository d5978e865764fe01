//! Subscriptions in the database: creation (by a caller, or provisioned
//! for a grant), state changes, reads and delivery progress.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, Query};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, EntityTrait, IntoActiveModel, QueryFilter, QueryOrder,
    QuerySelect,
};
use uuid::Uuid;
use zhongtai_kit::{
    Actor, Caller, Page, PageQuery, ScopedEntity, SystemPurpose, TenantId, TenantScope,
};

use super::SeaLines;
use super::entities::{line, subscription};
use super::lines::{live_subscription_states, publish, subscriptions_where};
use super::rows::{
    department, is_unique_violation, storage, subscription_from_row, subscription_row,
};
use crate::domain::{ExchangeError, Subscription, SubscriptionState};
use crate::lines::published;

/// Which subscriptions a list returns.
#[derive(Debug, Clone, Default)]
pub struct SubscriptionFilter {
    pub line_id: Option<Uuid>,
    pub grant_id: Option<Uuid>,
}

/// A subscription with how far behind it is.
#[derive(Debug, Clone, PartialEq)]
pub struct SubscriptionProgress {
    pub subscription: Subscription,
    pub last_lag_ms: i64,
    pub last_delivered_commit_at: Option<DateTime<Utc>>,
}

impl SeaLines {
    /// Creates `subscription`, or returns the one an earlier request with
    /// the same `request_id` (per subscriber) created.
    pub async fn create_subscription(
        &self,
        subscription: Subscription,
        request_id: Option<String>,
        caller: &Caller,
    ) -> Result<Subscription, ExchangeError> {
        if let Some(request_id) = &request_id
            && let Some(existing) = self
                .subscription_by_request(&subscription.subscriber, request_id)
                .await?
        {
            return Ok(existing);
        }
        let txn = zhongtai_store::begin_write(&self.db)
            .await
            .map_err(storage)?;
        let inserted = subscription::Entity::insert(
            subscription_row(&subscription, request_id.clone())?.into_active_model(),
        )
        .exec_without_returning(&txn)
        .await;
        if let Err(error) = inserted {
            drop(txn);
            if is_unique_violation(&error)
                && let Some(request_id) = &request_id
                && let Some(existing) = self
                    .subscription_by_request(&subscription.subscriber, request_id)
                    .await?
            {
                return Ok(existing);
            }
            return Err(storage(error));
        }
        publish(
            &txn,
            vec![published::subscription_created(
                &subscription,
                &Actor::of(caller),
            )],
            Some(zhongtai_kit::audit_trail::allowed(
                caller,
                "exchange.subscription.create",
                subscription.id.to_string(),
            )),
        )
        .await?;
        txn.commit().await.map_err(storage)?;
        self.notify();
        Ok(subscription)
    }

    async fn subscription_by_request(
        &self,
        subscriber: &TenantId,
        request_id: &str,
    ) -> Result<Option<Subscription>, ExchangeError> {
        subscription::Entity::find_in(&TenantScope::tenant(subscriber.clone()))
            .filter(subscription::Column::SubscriberDivision.eq(subscriber.division.as_str()))
            .filter(subscription::Column::SubscriberDepartment.eq(department(subscriber)))
            .filter(subscription::Column::RequestId.eq(request_id))
            .one(&self.db)
            .await
            .map_err(storage)?
            .map(subscription_from_row)
            .transpose()
    }

    /// The subscription, whoever holds it (the caller decides what may be
    /// shown).
    pub async fn find_subscription(&self, id: Uuid) -> Result<Option<Subscription>, ExchangeError> {
        subscription::Entity::find_for_system(SystemPurpose("a subscription by id"))
            .filter(subscription::Column::Id.eq(id.to_string()))
            .one(&self.db)
            .await
            .map_err(storage)?
            .map(subscription_from_row)
            .transpose()
    }

    /// Subscriptions `tenant` holds, and subscriptions to lines `tenant`
    /// owns; deleted ones are left out.
    pub async fn list_subscriptions(
        &self,
        tenant: &TenantId,
        filter: &SubscriptionFilter,
        page: &PageQuery,
    ) -> Result<Page<Subscription>, ExchangeError> {
        let owned_lines = Query::select()
            .column(line::Column::Id)
            .from(line::Entity)
            .and_where(Expr::col(line::Column::OwnerDivision).eq(tenant.division.as_str()))
            .and_where(Expr::col(line::Column::OwnerDepartment).eq(department(tenant)))
            .to_owned();
        let shared = Condition::all().add(subscription::Column::LineId.in_subquery(owned_lines));
        let mut query =
            subscription::Entity::find_in_or_shared(&TenantScope::tenant(tenant.clone()), shared)
                .filter(subscription::Column::State.ne(SubscriptionState::Deleted.as_str()))
                .order_by_asc(subscription::Column::Id);
        if let Some(line_id) = filter.line_id {
            query = query.filter(subscription::Column::LineId.eq(line_id.to_string()));
        }
        if let Some(grant_id) = filter.grant_id {
            query = query.filter(subscription::Column::GrantId.eq(grant_id.to_string()));
        }
        if let Some(after) = &page.after {
            query = query.filter(subscription::Column::Id.gt(after.as_str()));
        }
        let rows = query
            .limit(page.fetch_limit())
            .all(&self.db)
            .await
            .map_err(storage)?;
        let subscriptions = rows
            .into_iter()
            .map(subscription_from_row)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Page::from_rows(subscriptions, page, |s| s.id.to_string()))
    }

    /// Moves `subscription` (as read) to `state` for an operator.
    pub async fn change_subscription_state(
        &self,
        subscription: &Subscription,
        state: SubscriptionState,
        reason: &str,
        caller: &Caller,
    ) -> Result<Subscription, ExchangeError> {
        let txn = zhongtai_store::begin_write(&self.db)
            .await
            .map_err(storage)?;
        let changed =
            set_subscription_state_in(&txn, subscription, state, reason, Some(&Actor::of(caller)))
                .await?
                .ok_or_else(|| ExchangeError::Conflict {
                    kind: "subscription",
                    id: subscription.id.to_string(),
                })?;
        let action = format!("exchange.subscription.{}", state.as_str());
        zhongtai_audit::append(
            &txn,
            super::lines::SOURCE,
            &zhongtai_kit::audit_trail::allowed(caller, &action, subscription.id.to_string()),
        )
        .await
        .map_err(storage)?;
        txn.commit().await.map_err(storage)?;
        self.notify();
        Ok(changed)
    }

    /// The line's subscriptions that are not deleted, with their lag.
    pub async fn subscription_progress(
        &self,
        line_id: Uuid,
    ) -> Result<Vec<SubscriptionProgress>, ExchangeError> {
        subscription::Entity::find_for_system(SystemPurpose("status of a line"))
            .filter(subscription::Column::LineId.eq(line_id.to_string()))
            .filter(subscription::Column::State.ne(SubscriptionState::Deleted.as_str()))
            .order_by_asc(subscription::Column::Id)
            .all(&self.db)
            .await
            .map_err(storage)?
            .into_iter()
            .map(|row| {
                let last_lag_ms = row.last_lag_ms;
                let last_delivered_commit_at = row.last_delivered_commit_at;
                Ok(SubscriptionProgress {
                    subscription: subscription_from_row(row)?,
                    last_lag_ms,
                    last_delivered_commit_at,
                })
            })
            .collect()
    }

    /// How many subscriptions still hold the line (not revoked or deleted).
    pub async fn live_subscription_count(&self, line_id: Uuid) -> Result<usize, ExchangeError> {
        Ok(live_subscriptions_in(&self.db, line_id).await?.len())
    }
}

pub(super) async fn live_subscriptions_in<C: ConnectionTrait>(
    conn: &C,
    line_id: Uuid,
) -> Result<Vec<Subscription>, ExchangeError> {
    subscriptions_where(
        conn,
        Condition::all()
            .add(subscription::Column::LineId.eq(line_id.to_string()))
            .add(subscription::Column::State.is_in(live_subscription_states())),
    )
    .await
}

/// Inserts `subscription` unless one with its id exists; publishes
/// `subscription.created` when it inserted. Returns the stored one and
/// whether it is new.
pub async fn provision_subscription_in<C: ConnectionTrait>(
    conn: &C,
    subscription: &Subscription,
    actor: &Actor,
) -> Result<(Subscription, bool), ExchangeError> {
    let existing = subscription::Entity::find_for_system(SystemPurpose("a subscription by id"))
        .filter(subscription::Column::Id.eq(subscription.id.to_string()))
        .one(conn)
        .await
        .map_err(storage)?;
    if let Some(row) = existing {
        return Ok((subscription_from_row(row)?, false));
    }
    subscription::Entity::insert(subscription_row(subscription, None)?.into_active_model())
        .exec_without_returning(conn)
        .await
        .map_err(storage)?;
    publish(
        conn,
        vec![published::subscription_created(subscription, actor)],
        None,
    )
    .await?;
    Ok((subscription.clone(), true))
}

/// Moves `subscription` to `state` if it is still in the state it was read
/// in, publishing `state_changed`. `None` when it moved meanwhile.
pub(super) async fn set_subscription_state_in<C: ConnectionTrait>(
    conn: &C,
    subscription: &Subscription,
    state: SubscriptionState,
    reason: &str,
    actor: Option<&Actor>,
) -> Result<Option<Subscription>, ExchangeError> {
    let now = Utc::now();
    let result = subscription::Entity::update_many_for_system(SystemPurpose("subscription state"))
        .col_expr(subscription::Column::State, Expr::value(state.as_str()))
        .col_expr(
            subscription::Column::StateReason,
            Expr::value(reason.to_string()),
        )
        .col_expr(subscription::Column::UpdatedAt, Expr::value(now))
        .filter(subscription::Column::Id.eq(subscription.id.to_string()))
        .filter(subscription::Column::State.eq(subscription.state.as_str()))
        .exec(conn)
        .await
        .map_err(storage)?;
    if result.rows_affected != 1 {
        return Ok(None);
    }
    let changed = Subscription {
        state,
        state_reason: reason.to_string(),
        updated_at: now,
        ..subscription.clone()
    };
    publish(
        conn,
        vec![published::subscription_state_changed(
            &changed,
            subscription.state,
            actor,
        )],
        None,
    )
    .await?;
    Ok(Some(changed))
}

/// Deletes every live subscription of a line (the line goes with them).
pub(super) async fn retire_line_subscriptions_in<C: ConnectionTrait>(
    conn: &C,
    line_id: Uuid,
    reason: &str,
    actor: Option<&Actor>,
) -> Result<usize, ExchangeError> {
    let mut retired = 0;
    for subscription in live_subscriptions_in(conn, line_id).await? {
        if set_subscription_state_in(
            conn,
            &subscription,
            SubscriptionState::Deleted,
            reason,
            actor,
        )
        .await?
        .is_some()
        {
            retired += 1;
        }
    }
    Ok(retired)
}
