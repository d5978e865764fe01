//! The reconciliation and trace RPCs of `zhongtai.exchange.v1.ExchangeService`,
//! which the lines API delegates to.
//!
//! Who sees what: the line's owner (within the caller's read scope) sees
//! every subscription; a subscriber sees the line only through its own
//! subscriptions (their tallies, findings and deliveries; no line-level
//! tally). Anyone else is told the line does not exist.
//!
//! A trace carries what the journal keeps: identity, key, operation,
//! position and hop times, never row values (`before`/`after` are empty).
//! A subscriber sees only the key columns its policy grants unmasked.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use prost::Message;
use tonic::{Request, Response, Status};
use uuid::Uuid;
use zhongtai_contracts::exchange::v1 as pb;
use zhongtai_kit::auth::caller;
use zhongtai_kit::proto::{instant, page_query, page_response, timestamp};
use zhongtai_kit::{ApiError, Caller, Validator};

use super::Journals;
use super::entities::{journal_change, journal_delivery};
use super::keys::{key_columns, key_json};
use super::queries::{self, Locator, SubscriptionInfo};
use super::report_message::{duration, hop_message, restricted_to};
use crate::convert::{self, PositionStyle};
use crate::domain::ExchangeError;
use crate::domain::change::{Change, Column, HopTimes, Operation};
use crate::domain::policy::MaskingKind;
use crate::domain::reconciliation::{Hop, Window, WindowError};

/// Most subscriptions one report request may name.
const MAX_SUBSCRIPTION_IDS: usize = 100;
/// Most key columns a trace by key may give.
const MAX_KEY_COLUMNS: usize = 32;
const MAX_TABLE_CHARS: usize = 255;
const MAX_CHANGE_ID_CHARS: usize = 100;

/// The handlers; built by [`Journals::handlers`].
pub struct JournalHandlers {
    journals: Arc<Journals>,
}

/// The line as one caller may see it.
struct Visible {
    owner: bool,
    reads_log: bool,
    subscriptions: Vec<SubscriptionInfo>,
}

fn api(error: ExchangeError) -> ApiError {
    ApiError::from(error)
}

fn line_id(v: &mut Validator, text: &str) -> Option<Uuid> {
    if text.is_empty() {
        v.violation("line_id", "is required");
        return None;
    }
    let id = Uuid::parse_str(text).ok();
    if id.is_none() {
        v.violation("line_id", "must be a UUID");
    }
    id
}

impl JournalHandlers {
    pub(super) fn new(journals: Arc<Journals>) -> Self {
        Self { journals }
    }

    /// The line and the subscriptions `caller` may see, or NOT_FOUND.
    async fn visible(&self, caller: &Caller, line_id: Uuid) -> Result<Visible, ApiError> {
        let db = &self.journals.db;
        let not_found = || ApiError::not_found("line", &line_id.to_string());
        let Some(line) = queries::line(db, line_id).await.map_err(api)? else {
            return Err(not_found());
        };
        let scope = caller.read_scope();
        let owner = scope.permits(&line.owner);
        let subscriptions: Vec<SubscriptionInfo> = queries::subscriptions(db, line_id)
            .await
            .map_err(api)?
            .into_iter()
            .filter(|s| owner || scope.permits(&s.subscriber))
            .collect();
        if !owner && subscriptions.is_empty() {
            return Err(not_found());
        }
        Ok(Visible {
            owner,
            reads_log: line.reads_log,
            subscriptions,
        })
    }

    pub async fn get_reconciliation_report(
        &self,
        request: Request<pb::GetReconciliationReportRequest>,
    ) -> Result<Response<pb::GetReconciliationReportResponse>, Status> {
        let caller = caller(&request)?;
        let request = request.into_inner();
        let (line_id, window, wanted) = report_request(&request, Utc::now())?;
        let visible = self.visible(&caller, line_id).await?;
        let subscriptions: Vec<SubscriptionInfo> = if wanted.is_empty() {
            visible.subscriptions.clone()
        } else {
            let mut chosen = Vec::new();
            for id in &wanted {
                let Some(found) = visible.subscriptions.iter().find(|s| s.id == *id) else {
                    return Err(ApiError::not_found("subscription", &id.to_string()).into());
                };
                chosen.push(found.clone());
            }
            chosen
        };
        let report = self
            .journals
            .compute(line_id, window, &subscriptions)
            .await
            .map_err(api)?;
        let mut message = super::report_message::report_message(&report);
        if !visible.owner {
            restricted_to(&mut message, &ids(&subscriptions));
        }
        Ok(Response::new(pb::GetReconciliationReportResponse {
            report: Some(message),
        }))
    }

    pub async fn list_reconciliation_reports(
        &self,
        request: Request<pb::ListReconciliationReportsRequest>,
    ) -> Result<Response<pb::ListReconciliationReportsResponse>, Status> {
        let caller = caller(&request)?;
        let request = request.into_inner();
        let mut v = Validator::new();
        let line_id = line_id(&mut v, &request.line_id);
        let verdict = match pb::ReconciliationVerdict::try_from(request.verdict) {
            Ok(pb::ReconciliationVerdict::Unspecified) => None,
            Ok(pb::ReconciliationVerdict::Balanced) => Some("balanced"),
            Ok(pb::ReconciliationVerdict::Discrepant) => Some("discrepant"),
            Ok(pb::ReconciliationVerdict::InProgress) => Some("in_progress"),
            Err(_) => {
                v.violation("verdict", format!("{} is not a verdict", request.verdict));
                None
            }
        };
        let page = page_query(request.page.as_ref());
        v.finish()?;
        let page = page?;
        let Some(line_id) = line_id else {
            return Err(ApiError::invalid_field("line_id", "is required").into());
        };
        let after = match &page.after {
            None => None,
            Some(token) => Some(
                DateTime::parse_from_rfc3339(token)
                    .map_err(|_| {
                        ApiError::invalid_field("page.page_token", "is not a token this API issued")
                    })?
                    .to_utc(),
            ),
        };
        let visible = self.visible(&caller, line_id).await?;
        let rows = queries::reports(
            &self.journals.db,
            line_id,
            verdict,
            after,
            page.fetch_limit(),
        )
        .await
        .map_err(api)?;
        let own = ids(&visible.subscriptions);
        let page = zhongtai_kit::Page::from_rows(rows, &page, |row| {
            row.window_start
                .to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
        });
        let mut reports = Vec::with_capacity(page.items.len());
        for row in page.items {
            let mut report = pb::ReconciliationReport::decode(row.report.as_slice())
                .map_err(|e| api(ExchangeError::storage(format!("report {}: {e}", row.id))))?;
            if !visible.owner {
                restricted_to(&mut report, &own);
            }
            reports.push(report);
        }
        Ok(Response::new(pb::ListReconciliationReportsResponse {
            page: Some(page_response(page.next_page_token)),
            reports,
        }))
    }

    pub async fn trace_record(
        &self,
        request: Request<pb::TraceRecordRequest>,
    ) -> Result<Response<pb::TraceRecordResponse>, Status> {
        let caller = caller(&request)?;
        let request = request.into_inner();
        let (line_id, locator) = trace_request(&request)?;
        let visible = self.visible(&caller, line_id).await?;
        let db = &self.journals.db;
        let changes = queries::traced_changes(db, line_id, &locator)
            .await
            .map_err(api)?;
        let change_ids: Vec<String> = changes.iter().map(|c| c.change_id.clone()).collect();
        let subscription_ids: Vec<Uuid> = visible.subscriptions.iter().map(|s| s.id).collect();
        let deliveries = queries::deliveries_of(db, &change_ids, &subscription_ids)
            .await
            .map_err(api)?;
        let style = if visible.reads_log {
            PositionStyle::Lsn
        } else {
            PositionStyle::Sequence
        };
        let traces = changes
            .into_iter()
            .map(|change| {
                let mine: Vec<&journal_delivery::Model> = deliveries
                    .iter()
                    .filter(|d| d.change_id == change.change_id)
                    .collect();
                trace(line_id, &visible, change, &mine, style)
            })
            .collect::<Result<Vec<_>, ApiError>>()?;
        Ok(Response::new(pb::TraceRecordResponse { traces }))
    }
}

fn ids(subscriptions: &[SubscriptionInfo]) -> Vec<String> {
    subscriptions.iter().map(|s| s.id.to_string()).collect()
}

fn report_request(
    request: &pb::GetReconciliationReportRequest,
    now: DateTime<Utc>,
) -> Result<(Uuid, Window, Vec<Uuid>), ApiError> {
    let mut v = Validator::new();
    let line_id = line_id(&mut v, &request.line_id);
    let start = match &request.window_start_time {
        None => {
            v.violation("window_start_time", "is required");
            None
        }
        Some(at) => v.parse("window_start_time", instant("window_start_time", at)),
    };
    let end = match &request.window_end_time {
        None => Some(now),
        Some(at) => v.parse("window_end_time", instant("window_end_time", at)),
    };
    v.max_items(
        "subscription_ids",
        request.subscription_ids.len(),
        MAX_SUBSCRIPTION_IDS,
    );
    let wanted: Vec<Uuid> = request
        .subscription_ids
        .iter()
        .enumerate()
        .filter_map(|(i, id)| {
            let parsed = Uuid::parse_str(id).ok();
            if parsed.is_none() {
                v.violation(format!("subscription_ids[{i}]"), "must be a UUID");
            }
            parsed
        })
        .collect();
    let window = match (start, end) {
        (Some(start), Some(end)) => match Window::new(start, end, now) {
            Ok(window) => Some(window),
            Err(error) => {
                let field = match error {
                    WindowError::EndNotAfterStart
                    | WindowError::TooLong
                    | WindowError::InFuture => "window_end_time",
                };
                v.violation(field, error.to_string());
                None
            }
        },
        _ => None,
    };
    v.finish()?;
    match (line_id, window) {
        (Some(line_id), Some(window)) => Ok((line_id, window, wanted)),
        _ => Err(ApiError::invalid_field("window_start_time", "is required")),
    }
}

fn trace_request(request: &pb::TraceRecordRequest) -> Result<(Uuid, Locator), ApiError> {
    use pb::trace_record_request::Locator as Wanted;
    let mut v = Validator::new();
    let line_id = line_id(&mut v, &request.line_id);
    let locator = match &request.locator {
        None => {
            v.violation("locator", "give exactly one of key, position or change_id");
            None
        }
        Some(Wanted::Position(position)) => Some(Locator::Position(*position)),
        Some(Wanted::ChangeId(change_id)) => {
            v.text("change_id", change_id, MAX_CHANGE_ID_CHARS);
            Some(Locator::ChangeId(change_id.clone()))
        }
        Some(Wanted::Key(key)) => {
            v.text("key.table", &key.table, MAX_TABLE_CHARS);
            if key.columns.is_empty() {
                v.violation("key.columns", "give at least one key column");
            }
            v.max_items("key.columns", key.columns.len(), MAX_KEY_COLUMNS);
            let mut columns = Vec::with_capacity(key.columns.len());
            for (i, column) in key.columns.iter().enumerate() {
                if column.name.is_empty() {
                    v.violation(format!("key.columns[{i}].name"), "is required");
                }
                match convert::column(column) {
                    Ok(column) => columns.push(column),
                    Err(problem) => v.violation(format!("key.columns[{i}]"), problem),
                }
            }
            Some(Locator::Key {
                table: key.table.clone(),
                key_json: key_json(&columns),
            })
        }
    };
    v.finish()?;
    match (line_id, locator) {
        (Some(line_id), Some(locator)) => Ok((line_id, locator)),
        _ => Err(ApiError::invalid_field("locator", "is required")),
    }
}

/// Key columns a subscriber may see: those one of its policies grants
/// unmasked (every column when a policy grants all).
fn visible_key(visible: &Visible, key: Vec<Column>) -> Vec<Column> {
    if visible.owner {
        return key;
    }
    key.into_iter()
        .filter(|column| {
            visible.subscriptions.iter().any(|s| {
                s.policy.fields.is_empty()
                    || s.policy
                        .fields
                        .iter()
                        .any(|f| f.field == column.name && f.masking.kind == MaskingKind::None)
            })
        })
        .collect()
}

fn trace(
    line_id: Uuid,
    visible: &Visible,
    row: journal_change::Model,
    deliveries: &[&journal_delivery::Model],
    style: PositionStyle,
) -> Result<pb::RecordTrace, ApiError> {
    let corrupt = |what: &str| {
        api(ExchangeError::storage(format!(
            "journal {}: bad {what}",
            row.change_id
        )))
    };
    let key = key_columns(&row.key_json).ok_or_else(|| corrupt("key"))?;
    let operation = Operation::from_name(&row.operation).ok_or_else(|| corrupt("operation"))?;
    let earliest = |pick: fn(&journal_delivery::Model) -> Option<DateTime<Utc>>| {
        deliveries.iter().filter_map(|d| pick(d)).min()
    };
    let change = Change {
        line_id,
        position: u64::try_from(row.position).unwrap_or(0),
        index: u32::try_from(row.idx).unwrap_or(0),
        transaction_id: None,
        table: row.table_name.clone(),
        operation,
        key: visible_key(visible, key),
        before: Vec::new(),
        after: Vec::new(),
        hops: HopTimes {
            commit: Some(row.commit_at),
            capture: Some(row.capture_at),
            publish: earliest(|d| d.published_at),
            deliver: earliest(|d| d.delivered_at),
            apply: earliest(|d| d.applied_at),
        },
        subscription_id: None,
        grant_id: None,
    };
    let deliveries = deliveries
        .iter()
        .filter_map(|d| {
            let subscription = visible
                .subscriptions
                .iter()
                .find(|s| s.id.to_string() == d.subscription_id)?;
            Some(delivery_trace(subscription, &row, d))
        })
        .collect();
    Ok(pb::RecordTrace {
        change: Some(convert::change_record(&change, style)),
        deliveries,
    })
}

fn delivery_trace(
    subscription: &SubscriptionInfo,
    change: &journal_change::Model,
    delivery: &journal_delivery::Model,
) -> pb::DeliveryTrace {
    let last_hop = if delivery.applied_at.is_some() {
        Hop::Applied
    } else if delivery.delivered_at.is_some() {
        Hop::Delivered
    } else if delivery.published_at.is_some() {
        Hop::Published
    } else {
        Hop::Captured
    };
    let latency = delivery
        .applied_at
        .and_then(|applied| (applied - change.commit_at).to_std().ok())
        .map(duration);
    pb::DeliveryTrace {
        subscription_id: subscription.id.to_string(),
        subscriber: subscription.subscriber.key(),
        hops: Some(pb::HopTimestamps {
            commit_time: Some(timestamp(change.commit_at)),
            capture_time: Some(timestamp(change.capture_at)),
            publish_time: delivery.published_at.map(timestamp),
            deliver_time: delivery.delivered_at.map(timestamp),
            apply_time: delivery.applied_at.map(timestamp),
        }),
        last_hop: hop_message(last_hop) as i32,
        filtered_out: delivery.filtered_out,
        end_to_end_latency: latency,
    }
}
