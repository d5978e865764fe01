//! Periodic reconciliation: every closed window of every line with
//! activity is reported once, with its events, and old journal entries are
//! pruned.
//!
//! A window is reported once its end lies `late_threshold` in the past.
//! While a report says IN_PROGRESS (a subscription is behind) the window is
//! retried at the next round, for up to [`GIVE_UP_AFTER`]; after that it is
//! stored as it stands, so one paused subscriber does not hold every later
//! report of its line back.
// Platform-wide work over the journal's tables, which belong to lines,
// not tenants.
#![allow(clippy::disallowed_methods)]

use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict, Query};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect};
use uuid::Uuid;
use zhongtai_contracts::events::v1 as events;
use zhongtai_events::Event;
use zhongtai_kit::config::ExchangeConfig;
use zhongtai_kit::proto::{tenant_message, timestamp};

use super::Journals;
use super::entities::{journal_change, journal_delivery, reconciliation_report};
use super::queries::{self, LineInfo, SubscriptionInfo};
use super::report_message::report_message;
use crate::domain::ExchangeError;
use crate::domain::reconciliation::{Hop, Report, Verdict, Window};

/// How long an unsettled window is retried before it is stored as it is.
pub const GIVE_UP_AFTER: Duration = Duration::from_secs(3600);

/// Most windows one line reports per round, so a long backlog does not
/// hold the others up.
const WINDOWS_PER_ROUND: usize = 20;

const SOURCE: &str = "exchange";
const COMPLETED: &str = "exchange.reconciliation.completed";
const MISMATCHED: &str = "exchange.reconciliation.mismatched";
const BATCH_DELIVERED: &str = "exchange.subscription.batch_delivered";

fn storage(error: impl std::fmt::Display + 'static) -> ExchangeError {
    ExchangeError::storage(error)
}

/// A quarter of a window, between one second and a minute.
pub fn tick_interval(config: &ExchangeConfig) -> Duration {
    (config.reconcile_window() / 4).clamp(Duration::from_secs(1), Duration::from_secs(60))
}

fn delta(length: Duration) -> TimeDelta {
    TimeDelta::from_std(length).unwrap_or(TimeDelta::MAX)
}

pub async fn reconcile_due(journals: &Journals) -> Result<usize, ExchangeError> {
    let db = &journals.db;
    let line_ids: Vec<String> = journal_change::Entity::find()
        .select_only()
        .column(journal_change::Column::LineId)
        .distinct()
        .into_tuple()
        .all(db)
        .await
        .map_err(storage)?;
    let mut stored = 0;
    for line_id in line_ids {
        let Ok(line_id) = Uuid::parse_str(&line_id) else {
            continue;
        };
        stored += reconcile_line(journals, line_id).await?;
        prune(journals, line_id).await?;
    }
    Ok(stored)
}

async fn reconcile_line(journals: &Journals, line_id: Uuid) -> Result<usize, ExchangeError> {
    let db = &journals.db;
    let Some(line) = queries::line(db, line_id).await? else {
        return Ok(0);
    };
    let length = journals.config.reconcile_window();
    let mut after: Option<DateTime<Utc>> = reconciliation_report::Entity::find()
        .select_only()
        .column_as(
            Expr::col(reconciliation_report::Column::WindowEnd).max(),
            "last_end",
        )
        .filter(reconciliation_report::Column::LineId.eq(line_id.to_string()))
        .into_tuple::<Option<DateTime<Utc>>>()
        .one(db)
        .await
        .map_err(storage)?
        .flatten();
    let mut stored = 0;
    for _ in 0..WINDOWS_PER_ROUND {
        let mut next = journal_change::Entity::find()
            .select_only()
            .column_as(
                Expr::col(journal_change::Column::CommitAt).min(),
                "next_commit",
            )
            .filter(journal_change::Column::LineId.eq(line_id.to_string()));
        if let Some(after) = after {
            next = next.filter(journal_change::Column::CommitAt.gte(after));
        }
        let Some(next) = next
            .into_tuple::<Option<DateTime<Utc>>>()
            .one(db)
            .await
            .map_err(storage)?
            .flatten()
        else {
            break;
        };
        let Some(window) = Window::aligned(next, length) else {
            break;
        };
        let now = Utc::now();
        if window.end + delta(journals.config.late_threshold()) > now {
            break;
        }
        let subscriptions = queries::subscriptions(db, line_id).await?;
        let report = journals.compute(line_id, window, &subscriptions).await?;
        if report.verdict == Verdict::InProgress && window.end + delta(GIVE_UP_AFTER) > now {
            break;
        }
        if store(journals, &line, &subscriptions, &report).await? {
            stored += 1;
        }
        after = Some(window.end);
    }
    Ok(stored)
}

/// Stores the report with its events; `false` when another instance
/// stored this window first.
async fn store(
    journals: &Journals,
    line: &LineInfo,
    subscriptions: &[SubscriptionInfo],
    report: &Report,
) -> Result<bool, ExchangeError> {
    use prost::Message;
    use reconciliation_report::Column;
    let message = report_message(report);
    let txn = zhongtai_store::begin_write(&journals.db)
        .await
        .map_err(storage)?;
    let mut insert = Query::insert();
    insert
        .into_table(reconciliation_report::Entity)
        .columns([
            Column::Id,
            Column::LineId,
            Column::WindowStart,
            Column::WindowEnd,
            Column::GeneratedAt,
            Column::Verdict,
            Column::Report,
        ])
        .values([
            Expr::value(report.id.to_string()),
            Expr::value(line.id.to_string()),
            Expr::value(report.window.start),
            Expr::value(report.window.end),
            Expr::value(report.generated_at),
            Expr::value(report.verdict.as_str()),
            Expr::value(message.encode_to_vec()),
        ])
        .map_err(storage)?
        .on_conflict(
            OnConflict::columns([Column::LineId, Column::WindowStart])
                .do_nothing()
                .to_owned(),
        );
    let inserted = txn.execute(&insert).await.map_err(storage)?;
    if inserted.rows_affected() == 0 {
        return Ok(false);
    }
    let owner = line.owner.key();
    let subject = line.id.to_string();
    let mut published = vec![Event::new(
        COMPLETED,
        owner.clone(),
        subject.clone(),
        &events::ReconciliationCompleted {
            report: Some(message.clone()),
        },
    )];
    if report.verdict == Verdict::Discrepant {
        published.push(Event::new(
            MISMATCHED,
            owner,
            subject,
            &events::ReconciliationMismatched {
                report: Some(message),
            },
        ));
    }
    for subscription in subscriptions {
        let Some(tally) = report.tally(Hop::Published, Some(subscription.id)) else {
            continue;
        };
        published.push(Event::new(
            BATCH_DELIVERED,
            subscription.subscriber.key(),
            subscription.id.to_string(),
            &events::SubscriptionBatchDelivered {
                subscription_id: subscription.id.to_string(),
                line_id: line.id.to_string(),
                subscriber: Some(tenant_message(&subscription.subscriber)),
                window_start_time: Some(timestamp(report.window.start)),
                window_end_time: Some(timestamp(report.window.end)),
                count: i64::try_from(tally.count).unwrap_or(i64::MAX),
                filtered_count: i64::try_from(tally.filtered_count).unwrap_or(i64::MAX),
                checksum: tally.checksum.clone(),
                min_position: tally.min_position,
                max_position: tally.max_position,
                delivered_position: subscription.delivered_position,
            },
        ));
    }
    zhongtai_events::outbox::append(&txn, SOURCE, published)
        .await
        .map_err(storage)?;
    txn.commit().await.map_err(storage)?;
    journals.outbox.notify_one();
    // Counted once per window: only the instance whose report was stored.
    if report.verdict == Verdict::Discrepant {
        super::metrics::mismatched(line.id);
    }
    Ok(true)
}

async fn prune(journals: &Journals, line_id: Uuid) -> Result<(), ExchangeError> {
    let cutoff = Utc::now() - delta(journals.config.journal_retention());
    let line = line_id.to_string();
    journal_delivery::Entity::delete_many()
        .filter(journal_delivery::Column::LineId.eq(line.as_str()))
        .filter(journal_delivery::Column::CommitAt.lt(cutoff))
        .exec(&journals.db)
        .await
        .map_err(storage)?;
    journal_change::Entity::delete_many()
        .filter(journal_change::Column::LineId.eq(line.as_str()))
        .filter(journal_change::Column::CommitAt.lt(cutoff))
        .exec(&journals.db)
        .await
        .map_err(storage)?;
    Ok(())
}
