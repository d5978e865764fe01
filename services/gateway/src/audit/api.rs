//! Audit queries over gRPC: contract messages to domain values and back.
//! No rules and no storage here.

use std::time::Duration;

use sea_orm::DatabaseConnection;
use tonic::{Request, Response, Status};
use uuid::Uuid;
use zhongtai_contracts::common::v1::Period;
use zhongtai_contracts::gateway::v1 as pb;
use zhongtai_kit::auth::caller;
use zhongtai_kit::proto::{instant, page_query, page_response, timestamp};
use zhongtai_kit::{ApiError, Caller, Page, TenantId, Validator};

use super::query::{
    AuditFilter, AuditView, Granularity, TimeRange, UsageBucket, UsageQuery, parse_trace_id,
};
use super::record::{CallOutcome, CallProtocol, CallRecord};
use super::store::AuditStore;
use crate::domain::CapabilityName;

/// Most outcomes one list request may name (there are seven).
const MAX_OUTCOMES: usize = 16;

/// `ListAuditRecords` and `ListUsageBuckets`.
pub struct AuditApi {
    store: AuditStore,
    /// Its callers see every record.
    platform_tenant: TenantId,
}

impl AuditApi {
    /// Audit queries on `db`; callers of `platform_tenant` see every
    /// record, others those of the apps their tenant sponsors.
    pub fn new(db: DatabaseConnection, platform_tenant: TenantId) -> Self {
        Self {
            store: AuditStore::new(db),
            platform_tenant,
        }
    }

    fn view(&self, caller: &Caller) -> AuditView {
        if caller.tenant == self.platform_tenant {
            AuditView::Platform
        } else {
            AuditView::Sponsored(caller.read_scope())
        }
    }

    /// Audit records the caller may see, newest first.
    pub async fn list_audit_records(
        &self,
        request: Request<pb::ListAuditRecordsRequest>,
    ) -> Result<Response<pb::ListAuditRecordsResponse>, Status> {
        let view = self.view(&caller(&request)?);
        let request = request.into_inner();
        let page = page_query(request.page.as_ref())?;
        let filter = audit_filter(&request)?;
        let records = self.store.list(&view, &filter, &page).await?;
        Ok(Response::new(pb::ListAuditRecordsResponse {
            records: records.items.iter().map(record_message).collect(),
            page: Some(page_response(records.next_page_token)),
        }))
    }

    /// Call statistics of one app in time buckets, oldest first.
    pub async fn list_usage_buckets(
        &self,
        request: Request<pb::ListUsageBucketsRequest>,
    ) -> Result<Response<pb::ListUsageBucketsResponse>, Status> {
        let view = self.view(&caller(&request)?);
        let request = request.into_inner();
        let page = page_query(request.page.as_ref())?;
        let query = usage_query(&request)?;
        let buckets = self.store.usage(&view, &query).await?;
        let after = page.after.clone().unwrap_or_default();
        let rows: Vec<UsageBucket> = buckets
            .into_iter()
            .filter(|bucket| bucket.sort_key() > after)
            .take(usize::try_from(page.fetch_limit()).unwrap_or(usize::MAX))
            .collect();
        let buckets = Page::from_rows(rows, &page, UsageBucket::sort_key);
        Ok(Response::new(pb::ListUsageBucketsResponse {
            buckets: buckets.items.iter().map(bucket_message).collect(),
            page: Some(page_response(buckets.next_page_token)),
        }))
    }
}

fn audit_filter(request: &pb::ListAuditRecordsRequest) -> Result<AuditFilter, ApiError> {
    let mut v = Validator::new();
    let app_id = optional(&request.app_id)
        .and_then(|id| v.parse("app_id", Uuid::parse_str(id).map_err(|_| not_uuid(id))));
    let capability = optional(&request.capability)
        .and_then(|name| v.parse("capability", CapabilityName::parse(name)));
    v.max_items("outcomes", request.outcomes.len(), MAX_OUTCOMES);
    let mut outcomes = Vec::new();
    for (i, &value) in request.outcomes.iter().enumerate() {
        match outcome(value) {
            Some(outcome) if !outcomes.contains(&outcome) => outcomes.push(outcome),
            Some(_) => {}
            None => v.violation(
                format!("outcomes[{i}]"),
                format!("{value} is not a call outcome"),
            ),
        }
    }
    let trace_id =
        optional(&request.trace_id).and_then(|trace| v.parse("trace_id", parse_trace_id(trace)));
    let period = time_range(&mut v, request.period.as_ref());
    v.finish()?;
    Ok(AuditFilter {
        app_id,
        capability,
        outcomes,
        period: period.unwrap_or_default(),
        trace_id,
    })
}

fn usage_query(request: &pb::ListUsageBucketsRequest) -> Result<UsageQuery, ApiError> {
    let mut v = Validator::new();
    let app_id = if request.app_id.is_empty() {
        v.violation("app_id", "is required");
        None
    } else {
        v.parse(
            "app_id",
            Uuid::parse_str(&request.app_id).map_err(|_| not_uuid(&request.app_id)),
        )
    };
    let capability = optional(&request.capability)
        .and_then(|name| v.parse("capability", CapabilityName::parse(name)));
    let granularity = match pb::UsageGranularity::try_from(request.granularity) {
        Ok(pb::UsageGranularity::Minute) => Some(Granularity::Minute),
        Ok(pb::UsageGranularity::Hour) => Some(Granularity::Hour),
        Ok(pb::UsageGranularity::Day) => Some(Granularity::Day),
        Ok(pb::UsageGranularity::Unspecified) => {
            v.violation("granularity", "is required: MINUTE, HOUR or DAY");
            None
        }
        Err(_) => {
            v.violation(
                "granularity",
                format!("{} is not a usage granularity", request.granularity),
            );
            None
        }
    };
    if request.period.is_none() {
        v.violation("period", "is required, with start_time and end_time");
    }
    let period = time_range(&mut v, request.period.as_ref());
    v.finish()?;
    match (app_id, granularity, period) {
        (Some(app_id), Some(granularity), Some(period)) => {
            Ok(UsageQuery::new(app_id, capability, period, granularity)?)
        }
        _ => Err(ApiError::invalid_field("period", "is required")),
    }
}

/// The period's ends, checked for validity and order.
fn time_range(v: &mut Validator, period: Option<&Period>) -> Option<TimeRange> {
    let Some(period) = period else {
        return Some(TimeRange::default());
    };
    let start = period
        .start_time
        .as_ref()
        .and_then(|at| v.parse("period.start_time", instant("period.start_time", at)));
    let end = period
        .end_time
        .as_ref()
        .and_then(|at| v.parse("period.end_time", instant("period.end_time", at)));
    let unreadable = (period.start_time.is_some() && start.is_none())
        || (period.end_time.is_some() && end.is_none());
    if unreadable {
        return None;
    }
    match TimeRange::new(start, end) {
        Ok(range) => Some(range),
        Err(crate::domain::GatewayError::Invalid(violations)) => {
            for (field, description) in violations {
                v.violation(field, description);
            }
            None
        }
        Err(other) => {
            v.violation("period", other.to_string());
            None
        }
    }
}

fn optional(value: &str) -> Option<&str> {
    (!value.is_empty()).then_some(value)
}

fn not_uuid(value: &str) -> String {
    format!("must be a UUID, got `{value}`")
}

fn outcome(value: i32) -> Option<CallOutcome> {
    Some(match pb::CallOutcome::try_from(value).ok()? {
        pb::CallOutcome::Unspecified => return None,
        pb::CallOutcome::Forwarded => CallOutcome::Forwarded,
        pb::CallOutcome::RejectedAuth => CallOutcome::RejectedAuth,
        pb::CallOutcome::RejectedPermission => CallOutcome::RejectedPermission,
        pb::CallOutcome::RejectedLimit => CallOutcome::RejectedLimit,
        pb::CallOutcome::Shed => CallOutcome::Shed,
        pb::CallOutcome::RejectedInvalid => CallOutcome::RejectedInvalid,
        pb::CallOutcome::BackendFailed => CallOutcome::BackendFailed,
    })
}

fn outcome_message(outcome: CallOutcome) -> pb::CallOutcome {
    match outcome {
        CallOutcome::Forwarded => pb::CallOutcome::Forwarded,
        CallOutcome::RejectedAuth => pb::CallOutcome::RejectedAuth,
        CallOutcome::RejectedPermission => pb::CallOutcome::RejectedPermission,
        CallOutcome::RejectedLimit => pb::CallOutcome::RejectedLimit,
        CallOutcome::Shed => pb::CallOutcome::Shed,
        CallOutcome::RejectedInvalid => pb::CallOutcome::RejectedInvalid,
        CallOutcome::BackendFailed => pb::CallOutcome::BackendFailed,
    }
}

fn duration_message(duration: Duration) -> prost_types::Duration {
    prost_types::Duration {
        seconds: i64::try_from(duration.as_secs()).unwrap_or(i64::MAX),
        nanos: i32::try_from(duration.subsec_nanos()).unwrap_or(0),
    }
}

fn clamp_i64(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

/// The contract form of an audit record.
pub fn record_message(record: &CallRecord) -> pb::AuditRecord {
    pb::AuditRecord {
        id: record.id.to_string(),
        time: Some(timestamp(record.time)),
        app_id: record.app_id.map(|id| id.to_string()).unwrap_or_default(),
        app_key: record.app_key.clone(),
        capability: record.capability.clone(),
        capability_version: record.capability_version.clone(),
        protocol: match record.protocol {
            CallProtocol::HttpJson => pb::CallProtocol::HttpJson,
            CallProtocol::Grpc => pb::CallProtocol::Grpc,
        } as i32,
        http_method: record.http_method.clone(),
        path: record.path.clone(),
        http_status: i32::from(record.http_status),
        grpc_code: record.grpc_code,
        outcome: outcome_message(record.outcome) as i32,
        error_reason: record.error_reason.clone(),
        latency: Some(duration_message(record.latency)),
        request_bytes: clamp_i64(record.request_bytes),
        response_bytes: clamp_i64(record.response_bytes),
        backend_instance: record.backend_instance.clone(),
        trace_id: record.trace_id.clone(),
        client_ip: record.client_ip.clone(),
    }
}

/// The contract form of a usage bucket.
pub fn bucket_message(bucket: &UsageBucket) -> pb::UsageBucket {
    pb::UsageBucket {
        capability: bucket.capability.clone(),
        start_time: Some(timestamp(bucket.start)),
        calls: clamp_i64(bucket.calls),
        errors: clamp_i64(bucket.errors),
        rejected: clamp_i64(bucket.rejected),
        request_bytes: clamp_i64(bucket.request_bytes),
        response_bytes: clamp_i64(bucket.response_bytes),
        p50_latency: Some(duration_message(bucket.p50_latency)),
        p99_latency: Some(duration_message(bucket.p99_latency)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_contract_outcome_maps_both_ways() {
        for outcome_value in CallOutcome::ALL {
            let message = outcome_message(outcome_value);
            assert_eq!(outcome(message as i32), Some(outcome_value));
        }
        assert_eq!(outcome(0), None);
        assert_eq!(outcome(99), None);
    }
}
