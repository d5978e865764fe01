//! What line runners read and record ([`RunnerStore`]), and what other
//! parts provision ([`LineProvisioner`]).

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, Condition, EntityTrait, IntoActiveModel, QueryFilter, QueryOrder};
use uuid::Uuid;
use zhongtai_kit::{ScopedEntity, SystemPurpose};

use super::SeaLines;
use super::entities::{line, line_runtime, subscription};
use super::grants::provisioning_actor;
use super::lines::{publish, set_state_in};
use super::rows::{
    is_unique_violation, line_from_row, line_row, new_runtime_row, position_column,
    runtime_from_row, snapshot_text, storage, subscription_from_row,
};
use super::subscriptions::{
    live_subscriptions_in, provision_subscription_in, retire_line_subscriptions_in,
    set_subscription_state_in,
};
use crate::domain::ports::{DeliveredUpdate, LineProvisioner, LineRuntime, RunnerStore};
use crate::domain::{
    ExchangeError, Line, LineState, SnapshotState, Subscription, SubscriptionState,
};
use crate::lines::published;

const RUNNABLE: [LineState; 4] = [
    LineState::Provisioning,
    LineState::Snapshotting,
    LineState::Streaming,
    LineState::Degraded,
];

#[async_trait]
impl RunnerStore for SeaLines {
    async fn runnable_lines(&self) -> Result<Vec<Line>, ExchangeError> {
        line::Entity::find_for_system(SystemPurpose("runnable lines"))
            .filter(line::Column::State.is_in(RUNNABLE.map(LineState::as_str)))
            .order_by_asc(line::Column::Id)
            .all(&self.db)
            .await
            .map_err(storage)?
            .into_iter()
            .map(line_from_row)
            .collect()
    }

    async fn line(&self, id: Uuid) -> Result<Option<Line>, ExchangeError> {
        self.find_line(id).await
    }

    async fn acquire_lease(
        &self,
        line_id: Uuid,
        owner: &str,
        until: DateTime<Utc>,
    ) -> Result<bool, ExchangeError> {
        let now = Utc::now();
        let taken = super::platform::update_runtimes()
            .col_expr(
                line_runtime::Column::LeaseOwner,
                Expr::value(owner.to_string()),
            )
            .col_expr(line_runtime::Column::LeaseUntil, Expr::value(until))
            .filter(line_runtime::Column::LineId.eq(line_id.to_string()))
            .filter(
                Condition::any()
                    .add(line_runtime::Column::LeaseOwner.is_null())
                    .add(line_runtime::Column::LeaseUntil.is_null())
                    .add(line_runtime::Column::LeaseUntil.lt(now))
                    .add(line_runtime::Column::LeaseOwner.eq(owner)),
            )
            .exec(&self.db)
            .await
            .map_err(storage)?;
        if taken.rows_affected == 1 {
            return Ok(true);
        }
        let exists = super::platform::runtimes()
            .filter(line_runtime::Column::LineId.eq(line_id.to_string()))
            .one(&self.db)
            .await
            .map_err(storage)?
            .is_some();
        if exists {
            return Ok(false);
        }
        // A line stored without its runtime row: the first taker creates it.
        let mut row = new_runtime_row(line_id, &Default::default(), now)?;
        row.lease_owner = Some(owner.to_string());
        row.lease_until = Some(until);
        match line_runtime::Entity::insert(row.into_active_model())
            .exec_without_returning(&self.db)
            .await
        {
            Ok(_) => Ok(true),
            Err(error) if is_unique_violation(&error) => Ok(false),
            Err(error) => Err(storage(error)),
        }
    }

    async fn release_lease(&self, line_id: Uuid, owner: &str) -> Result<(), ExchangeError> {
        super::platform::update_runtimes()
            .col_expr(
                line_runtime::Column::LeaseOwner,
                Expr::value(Option::<String>::None),
            )
            .col_expr(
                line_runtime::Column::LeaseUntil,
                Expr::value(Option::<DateTime<Utc>>::None),
            )
            .filter(line_runtime::Column::LineId.eq(line_id.to_string()))
            .filter(line_runtime::Column::LeaseOwner.eq(owner))
            .exec(&self.db)
            .await
            .map_err(storage)?;
        Ok(())
    }

    async fn runtime(&self, line_id: Uuid) -> Result<LineRuntime, ExchangeError> {
        self.line_runtime(line_id).await
    }

    async fn save_runtime(
        &self,
        line_id: Uuid,
        runtime: &LineRuntime,
    ) -> Result<(), ExchangeError> {
        let now = Utc::now();
        let txn = zhongtai_store::begin_write(&self.db)
            .await
            .map_err(storage)?;
        let stored = super::platform::runtimes()
            .filter(line_runtime::Column::LineId.eq(line_id.to_string()))
            .one(&txn)
            .await
            .map_err(storage)?;
        let previous = match &stored {
            Some(row) => runtime_from_row(row)?,
            None => LineRuntime::default(),
        };
        let confirmed = runtime.confirmed_position.max(previous.confirmed_position);
        let confirmed_column = position_column(confirmed);
        let source_column = position_column(runtime.source_position.max(confirmed));
        let snapshot = snapshot_text(&runtime.snapshot)?;
        if stored.is_some() {
            // Progress columns only: the lease is another writer's business.
            super::platform::update_runtimes()
                .col_expr(
                    line_runtime::Column::ConfirmedPosition,
                    Expr::value(confirmed_column),
                )
                .col_expr(
                    line_runtime::Column::SourcePosition,
                    Expr::value(source_column),
                )
                .col_expr(
                    line_runtime::Column::CapturedTotal,
                    Expr::value(runtime.captured_total),
                )
                .col_expr(line_runtime::Column::Snapshot, Expr::value(snapshot))
                .col_expr(
                    line_runtime::Column::LastActivityAt,
                    Expr::value(runtime.last_activity_at),
                )
                .col_expr(
                    line_runtime::Column::LastCommitAt,
                    Expr::value(runtime.last_commit_at),
                )
                .col_expr(
                    line_runtime::Column::LastCaptureAt,
                    Expr::value(runtime.last_capture_at),
                )
                .col_expr(line_runtime::Column::UpdatedAt, Expr::value(now))
                .filter(line_runtime::Column::LineId.eq(line_id.to_string()))
                .exec(&txn)
                .await
                .map_err(storage)?;
        } else {
            let mut row = new_runtime_row(line_id, &runtime.snapshot, now)?;
            row.confirmed_position = confirmed_column;
            row.source_position = source_column;
            row.captured_total = runtime.captured_total;
            row.last_activity_at = runtime.last_activity_at;
            row.last_commit_at = runtime.last_commit_at;
            row.last_capture_at = runtime.last_capture_at;
            line_runtime::Entity::insert(row.into_active_model())
                .exec_without_returning(&txn)
                .await
                .map_err(storage)?;
        }
        let completed_now = runtime.snapshot.state == SnapshotState::Completed
            && previous.snapshot.state != SnapshotState::Completed;
        if completed_now
            && let Some(line_row) = line::Entity::find_for_system(SystemPurpose("a line by id"))
                .filter(line::Column::Id.eq(line_id.to_string()))
                .one(&txn)
                .await
                .map_err(storage)?
        {
            let line = line_from_row(line_row)?;
            publish(
                &txn,
                vec![published::line_snapshot_completed(&line, &runtime.snapshot)],
                None,
            )
            .await?;
        }
        txn.commit().await.map_err(storage)?;
        if completed_now {
            self.notify();
        }
        Ok(())
    }

    async fn set_line_state(
        &self,
        line_id: Uuid,
        state: LineState,
        reason: &str,
    ) -> Result<Line, ExchangeError> {
        // A few tries: operators and runners may move the line at once.
        for _ in 0..5 {
            let line = self
                .find_line(line_id)
                .await?
                .ok_or_else(|| ExchangeError::not_found("line", line_id))?;
            if !line.is_runnable() || (line.state == state && line.state_reason == reason) {
                return Ok(line);
            }
            let txn = zhongtai_store::begin_write(&self.db)
                .await
                .map_err(storage)?;
            if let Some(changed) = set_state_in(&txn, &line, state, reason, None, false).await? {
                txn.commit().await.map_err(storage)?;
                self.notify();
                return Ok(changed);
            }
        }
        Err(ExchangeError::Conflict {
            kind: "line",
            id: line_id.to_string(),
        })
    }

    async fn live_subscriptions(&self, line_id: Uuid) -> Result<Vec<Subscription>, ExchangeError> {
        live_subscriptions_in(&self.db, line_id).await
    }

    async fn record_delivered(&self, updates: &[DeliveredUpdate]) -> Result<(), ExchangeError> {
        if updates.is_empty() {
            return Ok(());
        }
        let now = Utc::now();
        let txn = zhongtai_store::begin_write(&self.db)
            .await
            .map_err(storage)?;
        for update in updates {
            let position = position_column(update.position);
            subscription::Entity::update_many_for_system(SystemPurpose("subscription state"))
                .col_expr(
                    subscription::Column::DeliveredPosition,
                    Expr::value(position),
                )
                .col_expr(
                    subscription::Column::LastDeliveredCommitAt,
                    Expr::value(update.commit_time),
                )
                .col_expr(subscription::Column::LastLagMs, Expr::value(update.lag_ms))
                .col_expr(subscription::Column::UpdatedAt, Expr::value(now))
                .filter(subscription::Column::Id.eq(update.subscription_id.to_string()))
                .filter(subscription::Column::DeliveredPosition.lte(position))
                .exec(&txn)
                .await
                .map_err(storage)?;
        }
        txn.commit().await.map_err(storage)
    }

    async fn set_subscription_health(
        &self,
        subscription_id: Uuid,
        state: SubscriptionState,
        reason: &str,
    ) -> Result<(), ExchangeError> {
        if !matches!(
            state,
            SubscriptionState::Active | SubscriptionState::Degraded
        ) {
            return Err(ExchangeError::precondition(format!(
                "a runner sets subscriptions active or degraded, not {}",
                state.as_str()
            )));
        }
        let Some(row) =
            subscription::Entity::find_for_system(SystemPurpose("a subscription by id"))
                .filter(subscription::Column::Id.eq(subscription_id.to_string()))
                .one(&self.db)
                .await
                .map_err(storage)?
        else {
            return Err(ExchangeError::not_found("subscription", subscription_id));
        };
        let subscription = subscription_from_row(row)?;
        // Paused, revoked and deleted subscriptions are the operator's or the
        // grant's to move, not the runner's.
        if !subscription.state.receives()
            || (subscription.state == state && subscription.state_reason == reason)
        {
            return Ok(());
        }
        let txn = zhongtai_store::begin_write(&self.db)
            .await
            .map_err(storage)?;
        let changed = set_subscription_state_in(&txn, &subscription, state, reason, None).await?;
        txn.commit().await.map_err(storage)?;
        if changed.is_some() {
            self.notify();
        }
        Ok(())
    }
}

#[async_trait]
impl LineProvisioner for SeaLines {
    async fn provision_line(&self, line: Line) -> Result<Line, ExchangeError> {
        if let Some(existing) = self.find_line(line.id).await? {
            return Ok(existing);
        }
        let txn = zhongtai_store::begin_write(&self.db)
            .await
            .map_err(storage)?;
        match line::Entity::insert(line_row(&line, None)?.into_active_model())
            .exec_without_returning(&txn)
            .await
        {
            Ok(_) => {}
            Err(error) if is_unique_violation(&error) => {
                drop(txn);
                return self
                    .find_line(line.id)
                    .await?
                    .ok_or(ExchangeError::AlreadyExists {
                        kind: "line",
                        key: line.name.clone(),
                    });
            }
            Err(error) => return Err(storage(error)),
        }
        line_runtime::Entity::insert(
            new_runtime_row(line.id, &line.snapshot, line.created_at)?.into_active_model(),
        )
        .exec_without_returning(&txn)
        .await
        .map_err(storage)?;
        publish(
            &txn,
            vec![published::line_created(&line, &provisioning_actor())],
            None,
        )
        .await?;
        txn.commit().await.map_err(storage)?;
        self.notify();
        Ok(line)
    }

    async fn provision_subscription(
        &self,
        subscription: Subscription,
    ) -> Result<Subscription, ExchangeError> {
        let txn = zhongtai_store::begin_write(&self.db)
            .await
            .map_err(storage)?;
        let (stored, created) =
            provision_subscription_in(&txn, &subscription, &provisioning_actor()).await?;
        txn.commit().await.map_err(storage)?;
        if created {
            self.notify();
        }
        Ok(stored)
    }

    async fn retire_line(&self, line_id: Uuid, reason: &str) -> Result<(), ExchangeError> {
        for _ in 0..5 {
            let Some(line) = self.find_line(line_id).await? else {
                return Ok(());
            };
            let txn = zhongtai_store::begin_write(&self.db)
                .await
                .map_err(storage)?;
            retire_line_subscriptions_in(&txn, line_id, reason, None).await?;
            if line.state != LineState::Deleted
                && set_state_in(&txn, &line, LineState::Deleted, reason, None, true)
                    .await?
                    .is_none()
            {
                continue;
            }
            txn.commit().await.map_err(storage)?;
            self.notify();
            return Ok(());
        }
        Err(ExchangeError::Conflict {
            kind: "line",
            id: line_id.to_string(),
        })
    }
}
