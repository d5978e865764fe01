//! Exchange lines in the database: creation, changes by operators, reads.
//! Every change writes its event (and audit record) in its transaction.

use std::sync::Arc;

use chrono::Utc;
use sea_orm::sea_query::{Expr, ExprTrait, Query};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, EntityTrait, IntoActiveModel,
    QueryFilter, QueryOrder, QuerySelect,
};
use tokio::sync::Notify;
use uuid::Uuid;
use zhongtai_audit::AuditRecord;
use zhongtai_events::Event;
use zhongtai_kit::{
    Actor, Caller, Page, PageQuery, ScopedEntity, SystemPurpose, TenantId, TenantScope,
};

use super::entities::{line, line_runtime, subscription};
use super::rows::{
    department, is_unique_violation, line_from_row, line_row, new_runtime_row, runtime_from_row,
    storage, subscription_from_row,
};
use crate::domain::ports::LineRuntime;
use crate::domain::{
    ExchangeError, Line, LineFilter, LineRepository, LineState, SnapshotProgress, SubscriptionState,
};
use crate::lines::published;

/// The service name events and audit records carry.
pub(super) const SOURCE: &str = "exchange";

/// Lines, subscriptions, runtimes and grants on sea-orm (PostgreSQL and
/// SQLite).
#[derive(Clone)]
pub struct SeaLines {
    pub(super) db: DatabaseConnection,
    pub(super) outbox: Arc<Notify>,
}

/// States a subscription holds its line in (not final).
pub(super) fn live_subscription_states() -> [&'static str; 3] {
    [
        SubscriptionState::Active.as_str(),
        SubscriptionState::Paused.as_str(),
        SubscriptionState::Degraded.as_str(),
    ]
}

impl SeaLines {
    /// A store whose events wake nobody; see [`SeaLines::with_outbox`].
    pub fn new(db: DatabaseConnection) -> Self {
        Self::with_outbox(db, Arc::new(Notify::new()))
    }

    /// `outbox` is notified after every commit that wrote events.
    pub fn with_outbox(db: DatabaseConnection, outbox: Arc<Notify>) -> Self {
        Self { db, outbox }
    }

    pub fn db(&self) -> &DatabaseConnection {
        &self.db
    }

    pub(super) fn notify(&self) {
        self.outbox.notify_one();
    }

    /// Creates `line` with its runtime row, or returns the line an earlier
    /// request with the same `request_id` (per owner) created.
    /// With `queue_delivery`, grants in force on the line's resource get
    /// their subscriptions in the same transaction.
    pub async fn create_line(
        &self,
        line: Line,
        request_id: Option<String>,
        caller: &Caller,
        queue_delivery: bool,
    ) -> Result<Line, ExchangeError> {
        if let Some(request_id) = &request_id
            && let Some(existing) = self.line_by_request(&line.owner, request_id).await?
        {
            return Ok(existing);
        }
        let txn = zhongtai_store::begin_write(&self.db)
            .await
            .map_err(storage)?;
        let inserted =
            line::Entity::insert(line_row(&line, request_id.clone())?.into_active_model())
                .exec_without_returning(&txn)
                .await;
        if let Err(error) = inserted {
            drop(txn);
            if is_unique_violation(&error) {
                if let Some(request_id) = &request_id
                    && let Some(existing) = self.line_by_request(&line.owner, request_id).await?
                {
                    return Ok(existing);
                }
                return Err(ExchangeError::AlreadyExists {
                    kind: "line",
                    key: line.name.clone(),
                });
            }
            return Err(storage(error));
        }
        line_runtime::Entity::insert(
            new_runtime_row(line.id, &line.snapshot, line.created_at)?.into_active_model(),
        )
        .exec_without_returning(&txn)
        .await
        .map_err(storage)?;
        let actor = Actor::of(caller);
        publish(
            &txn,
            vec![published::line_created(&line, &actor)],
            Some(zhongtai_kit::audit_trail::allowed(
                caller,
                "exchange.line.create",
                line.id.to_string(),
            )),
        )
        .await?;
        if line.resource_id.is_some() {
            super::grants::link_line_grants_in(&txn, &line, queue_delivery).await?;
        }
        txn.commit().await.map_err(storage)?;
        self.notify();
        Ok(line)
    }

    async fn line_by_request(
        &self,
        owner: &TenantId,
        request_id: &str,
    ) -> Result<Option<Line>, ExchangeError> {
        let row = line::Entity::find_in(&TenantScope::tenant(owner.clone()))
            .filter(line::Column::OwnerDivision.eq(owner.division.as_str()))
            .filter(line::Column::OwnerDepartment.eq(department(owner)))
            .filter(line::Column::RequestId.eq(request_id))
            .one(&self.db)
            .await
            .map_err(storage)?;
        match row {
            Some(row) => self.with_progress(line_from_row(row)?).await.map(Some),
            None => Ok(None),
        }
    }

    /// The line with its snapshot progress, whoever owns it (the caller
    /// decides what may be shown).
    pub async fn find_line(&self, id: Uuid) -> Result<Option<Line>, ExchangeError> {
        let row = line::Entity::find_for_system(SystemPurpose("a line by id"))
            .filter(line::Column::Id.eq(id.to_string()))
            .one(&self.db)
            .await
            .map_err(storage)?;
        match row {
            Some(row) => self.with_progress(line_from_row(row)?).await.map(Some),
            None => Ok(None),
        }
    }

    async fn with_progress(&self, mut line: Line) -> Result<Line, ExchangeError> {
        line.snapshot = self.line_runtime(line.id).await?.snapshot;
        Ok(line)
    }

    /// The runtime row of a line; defaults when it has none yet.
    pub async fn line_runtime(&self, line_id: Uuid) -> Result<LineRuntime, ExchangeError> {
        let row = super::platform::runtimes()
            .filter(line_runtime::Column::LineId.eq(line_id.to_string()))
            .one(&self.db)
            .await
            .map_err(storage)?;
        match row {
            Some(row) => runtime_from_row(&row),
            None => Ok(LineRuntime {
                snapshot: SnapshotProgress::default(),
                ..LineRuntime::default()
            }),
        }
    }

    /// Whether `tenant` holds a live subscription to the line.
    pub async fn subscribes(
        &self,
        line_id: Uuid,
        tenant: &TenantId,
    ) -> Result<bool, ExchangeError> {
        let found = subscription::Entity::find_in(&TenantScope::tenant(tenant.clone()))
            .filter(subscription::Column::LineId.eq(line_id.to_string()))
            .filter(subscription::Column::State.is_in(live_subscription_states()))
            .one(&self.db)
            .await
            .map_err(storage)?;
        Ok(found.is_some())
    }

    /// Lines in `scope`, plus lines `subscriber` holds a live subscription
    /// to, in id order.
    pub async fn list_visible(
        &self,
        scope: &TenantScope,
        subscriber: &TenantId,
        filter: &LineFilter,
        page: &PageQuery,
    ) -> Result<Page<Line>, ExchangeError> {
        let subscribed = Query::select()
            .column(subscription::Column::LineId)
            .from(subscription::Entity)
            .and_where(
                Expr::col(subscription::Column::SubscriberDivision)
                    .eq(subscriber.division.as_str()),
            )
            .and_where(
                Expr::col(subscription::Column::SubscriberDepartment).eq(department(subscriber)),
            )
            .and_where(Expr::col(subscription::Column::State).is_in(live_subscription_states()))
            .to_owned();
        let shared = Condition::all().add(line::Column::Id.in_subquery(subscribed));
        list_lines(
            &self.db,
            line::Entity::find_in_or_shared(scope, shared),
            filter,
            page,
        )
        .await
    }

    /// Writes `line` (new description, resource, source) over the stored
    /// one if it is still at `line.version`, bumping the version.
    /// A changed resource brings the line's grant subscriptions in step
    /// (see [`super::grants::link_line_grants_in`]).
    pub async fn update_line(
        &self,
        line: Line,
        changed_fields: &[String],
        caller: &Caller,
        queue_delivery: bool,
    ) -> Result<Line, ExchangeError> {
        let now = Utc::now();
        let updated = Line {
            version: line.version + 1,
            updated_at: now,
            ..line.clone()
        };
        let txn = zhongtai_store::begin_write(&self.db)
            .await
            .map_err(storage)?;
        let result = line::Entity::update_many_for_system(SystemPurpose("line state"))
            .col_expr(
                line::Column::Description,
                Expr::value(updated.description.clone()),
            )
            .col_expr(
                line::Column::ResourceId,
                Expr::value(updated.resource_id.map(|id| id.to_string())),
            )
            .col_expr(
                line::Column::SourceSpec,
                Expr::value(serde_json::to_string(&updated.source).map_err(storage)?),
            )
            .col_expr(line::Column::Version, Expr::value(updated.version))
            .col_expr(line::Column::UpdatedAt, Expr::value(now))
            .filter(line::Column::Id.eq(line.id.to_string()))
            .filter(line::Column::Version.eq(line.version))
            .filter(line::Column::State.ne(LineState::Deleted.as_str()))
            .exec(&txn)
            .await
            .map_err(storage)?;
        if result.rows_affected != 1 {
            return Err(ExchangeError::Conflict {
                kind: "line",
                id: line.id.to_string(),
            });
        }
        publish(
            &txn,
            vec![published::line_updated(
                &updated,
                changed_fields,
                &Actor::of(caller),
            )],
            Some(zhongtai_kit::audit_trail::allowed(
                caller,
                "exchange.line.update",
                line.id.to_string(),
            )),
        )
        .await?;
        if changed_fields.iter().any(|field| field == "resource_id") {
            super::grants::link_line_grants_in(&txn, &updated, queue_delivery).await?;
        }
        txn.commit().await.map_err(storage)?;
        self.notify();
        Ok(updated)
    }

    /// Moves `line` (as read, at its version) to `state` for an operator;
    /// with `retire_subscriptions`, its live subscriptions are deleted in
    /// the same transaction.
    pub async fn change_line_state(
        &self,
        line: &Line,
        state: LineState,
        reason: &str,
        caller: &Caller,
        retire_subscriptions: bool,
    ) -> Result<Line, ExchangeError> {
        let actor = Actor::of(caller);
        let txn = zhongtai_store::begin_write(&self.db)
            .await
            .map_err(storage)?;
        let changed = set_state_in(&txn, line, state, reason, Some(&actor), true).await?;
        let Some(changed) = changed else {
            return Err(ExchangeError::Conflict {
                kind: "line",
                id: line.id.to_string(),
            });
        };
        if retire_subscriptions {
            super::subscriptions::retire_line_subscriptions_in(
                &txn,
                line.id,
                "line deleted",
                Some(&actor),
            )
            .await?;
        }
        let action = format!("exchange.line.{}", state.as_str());
        zhongtai_audit::append(
            &txn,
            SOURCE,
            &zhongtai_kit::audit_trail::allowed(caller, &action, line.id.to_string())
                .with_reason(reason.to_string()),
        )
        .await
        .map_err(storage)?;
        txn.commit().await.map_err(storage)?;
        self.notify();
        Ok(changed)
    }
}

/// Moves `line` to `state` if the stored line is still at `line.version`
/// (or, when `exact_version` is false, still in `line.state`), publishing
/// `state_changed`. `None` when the stored line moved meanwhile.
pub(super) async fn set_state_in<C: ConnectionTrait>(
    conn: &C,
    line: &Line,
    state: LineState,
    reason: &str,
    actor: Option<&Actor>,
    exact_version: bool,
) -> Result<Option<Line>, ExchangeError> {
    let now = Utc::now();
    let mut update = line::Entity::update_many_for_system(SystemPurpose("line state"))
        .col_expr(line::Column::State, Expr::value(state.as_str()))
        .col_expr(line::Column::StateReason, Expr::value(reason.to_string()))
        .col_expr(line::Column::Version, Expr::value(line.version + 1))
        .col_expr(line::Column::UpdatedAt, Expr::value(now))
        .filter(line::Column::Id.eq(line.id.to_string()))
        .filter(line::Column::Version.eq(line.version));
    if !exact_version {
        update = update.filter(line::Column::State.eq(line.state.as_str()));
    }
    let result = update.exec(conn).await.map_err(storage)?;
    if result.rows_affected != 1 {
        return Ok(None);
    }
    let changed = Line {
        state,
        state_reason: reason.to_string(),
        version: line.version + 1,
        updated_at: now,
        ..line.clone()
    };
    publish(
        conn,
        vec![published::line_state_changed(&changed, line.state, actor)],
        None,
    )
    .await?;
    Ok(Some(changed))
}

/// Appends events and an audit record through `conn`.
pub(super) async fn publish<C: ConnectionTrait>(
    conn: &C,
    events: Vec<Event>,
    audit: Option<AuditRecord>,
) -> Result<(), ExchangeError> {
    zhongtai_events::outbox::append(conn, SOURCE, events)
        .await
        .map_err(storage)?;
    if let Some(record) = audit {
        zhongtai_audit::append(conn, SOURCE, &record)
            .await
            .map_err(storage)?;
    }
    Ok(())
}

pub(super) async fn list_lines<C: ConnectionTrait>(
    conn: &C,
    query: sea_orm::Select<line::Entity>,
    filter: &LineFilter,
    page: &PageQuery,
) -> Result<Page<Line>, ExchangeError> {
    let state_names = filter.wanted_states().into_iter().map(LineState::as_str);
    let mut query = query
        .filter(line::Column::State.is_in(state_names))
        .order_by_asc(line::Column::Id);
    if let Some(resource_id) = filter.resource_id {
        query = query.filter(line::Column::ResourceId.eq(resource_id.to_string()));
    }
    if let Some(after) = &page.after {
        query = query.filter(line::Column::Id.gt(after.as_str()));
    }
    let rows = query
        .limit(page.fetch_limit())
        .all(conn)
        .await
        .map_err(storage)?;
    let lines = rows
        .into_iter()
        .map(line_from_row)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Page::from_rows(lines, page, |line| line.id.to_string()))
}

#[async_trait::async_trait]
impl LineRepository for SeaLines {
    async fn list(
        &self,
        scope: &TenantScope,
        filter: &LineFilter,
        page: &PageQuery,
    ) -> Result<Page<Line>, ExchangeError> {
        list_lines(&self.db, line::Entity::find_in(scope), filter, page).await
    }
}

/// Reads subscriptions through `conn`, for the parts of this store.
pub(super) async fn subscriptions_where<C: ConnectionTrait>(
    conn: &C,
    condition: Condition,
) -> Result<Vec<crate::domain::Subscription>, ExchangeError> {
    subscription::Entity::find_for_system(SystemPurpose("subscriptions of a line or grant"))
        .filter(condition)
        .order_by_asc(subscription::Column::Id)
        .all(conn)
        .await
        .map_err(storage)?
        .into_iter()
        .map(subscription_from_row)
        .collect()
}
