//! What the admin plane asks of the audit: which records a caller sees,
//! filters, and usage statistics folded into calendar buckets.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use uuid::Uuid;
use zhongtai_kit::TenantScope;

use super::record::{CallOutcome, CallRecord};
use crate::domain::{CapabilityName, GatewayError};

/// Most buckets one usage query may span.
pub const MAX_BUCKETS: i64 = 1000;

/// Offset of the platform's civil time (UTC+8) from UTC, in seconds: day
/// buckets start at its midnight.
const PLATFORM_OFFSET_SECS: i64 = 8 * 3600;

/// Whose records a caller sees.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuditView {
    /// The platform operator: every record.
    Platform,
    /// Records of apps sponsored within the scope.
    Sponsored(TenantScope),
}

/// A time range: inclusive start, exclusive end; `None` ends are open.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TimeRange {
    /// Inclusive start.
    pub start: Option<DateTime<Utc>>,
    /// Exclusive end.
    pub end: Option<DateTime<Utc>>,
}

impl TimeRange {
    /// A range whose end, when both are given, lies after its start.
    pub fn new(
        start: Option<DateTime<Utc>>,
        end: Option<DateTime<Utc>>,
    ) -> Result<Self, GatewayError> {
        if let (Some(start), Some(end)) = (start, end)
            && end <= start
        {
            return Err(GatewayError::invalid(
                "period.end_time",
                "must be after period.start_time",
            ));
        }
        Ok(Self { start, end })
    }
}

/// Which records a list returns.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditFilter {
    /// Only this app's calls.
    pub app_id: Option<Uuid>,
    /// Only calls of this capability.
    pub capability: Option<CapabilityName>,
    /// Only these outcomes; empty means all.
    pub outcomes: Vec<CallOutcome>,
    /// Only calls arriving within this range.
    pub period: TimeRange,
    /// Only calls of this W3C trace.
    pub trace_id: Option<String>,
}

/// A W3C trace id: 32 lowercase hex digits, not all zero.
pub fn parse_trace_id(value: &str) -> Result<String, String> {
    let hex = value.len() == 32
        && value
            .bytes()
            .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
    if !hex || value.bytes().all(|b| b == b'0') {
        return Err(format!(
            "must be a W3C trace id (32 lowercase hex digits, not all zero), got `{value}`"
        ));
    }
    Ok(value.to_string())
}

/// Size of a usage bucket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Granularity {
    /// One minute.
    Minute,
    /// One hour.
    Hour,
    /// One calendar day of the platform's civil time (UTC+8).
    Day,
}

impl Granularity {
    fn seconds(self) -> i64 {
        match self {
            Self::Minute => 60,
            Self::Hour => 3600,
            Self::Day => 86_400,
        }
    }

    /// Start of the bucket holding `at`.
    pub fn bucket_start(self, at: DateTime<Utc>) -> DateTime<Utc> {
        let size = self.seconds();
        let local = at.timestamp() + PLATFORM_OFFSET_SECS;
        let start = local.div_euclid(size) * size - PLATFORM_OFFSET_SECS;
        DateTime::from_timestamp(start, 0).unwrap_or(at)
    }
}

/// A validated usage query: one app, a closed period of at most
/// [`MAX_BUCKETS`] buckets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageQuery {
    /// The app.
    pub app_id: Uuid,
    /// Only this capability; `None` means every one.
    pub capability: Option<CapabilityName>,
    /// Inclusive start.
    pub start: DateTime<Utc>,
    /// Exclusive end.
    pub end: DateTime<Utc>,
    /// Bucket size.
    pub granularity: Granularity,
}

impl UsageQuery {
    /// Checks that the period is closed, ordered and short enough.
    pub fn new(
        app_id: Uuid,
        capability: Option<CapabilityName>,
        period: TimeRange,
        granularity: Granularity,
    ) -> Result<Self, GatewayError> {
        let (Some(start), Some(end)) = (period.start, period.end) else {
            return Err(GatewayError::invalid(
                "period",
                "needs both start_time and end_time",
            ));
        };
        let last = end - chrono::Duration::nanoseconds(1);
        let first_bucket = granularity.bucket_start(start).timestamp();
        let last_bucket = granularity.bucket_start(last).timestamp();
        let buckets = (last_bucket - first_bucket) / granularity.seconds() + 1;
        if buckets > MAX_BUCKETS {
            return Err(GatewayError::invalid(
                "period",
                format!(
                    "spans {buckets} buckets; at most {MAX_BUCKETS} are returned, so \
                     shorten the period or choose a coarser granularity"
                ),
            ));
        }
        Ok(Self {
            app_id,
            capability,
            start,
            end,
            granularity,
        })
    }
}

/// Statistics of one capability over one bucket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageBucket {
    /// Capability name (empty for calls no route matched).
    pub capability: String,
    /// Bucket start.
    pub start: DateTime<Utc>,
    /// Calls made.
    pub calls: u64,
    /// Calls that failed after admission.
    pub errors: u64,
    /// Calls refused by the gateway, shedding included.
    pub rejected: u64,
    /// Request bytes.
    pub request_bytes: u64,
    /// Response bytes.
    pub response_bytes: u64,
    /// Median latency.
    pub p50_latency: Duration,
    /// 99th percentile latency.
    pub p99_latency: Duration,
}

impl UsageBucket {
    /// The paging key: start, then capability, so keys sort like buckets.
    pub fn sort_key(&self) -> String {
        format!("{:020}/{}", self.start.timestamp(), self.capability)
    }
}

#[derive(Default)]
struct Tally {
    calls: u64,
    errors: u64,
    rejected: u64,
    request_bytes: u64,
    response_bytes: u64,
    latencies: Vec<Duration>,
}

/// Folds records into buckets, one per (bucket start, capability) that saw
/// a call.
pub struct UsageTally {
    granularity: Granularity,
    buckets: BTreeMap<(DateTime<Utc>, String), Tally>,
}

impl UsageTally {
    /// An empty tally of `granularity` buckets.
    pub fn new(granularity: Granularity) -> Self {
        Self {
            granularity,
            buckets: BTreeMap::new(),
        }
    }

    /// Counts one call.
    pub fn add(&mut self, call: &CallRecord) {
        let key = (
            self.granularity.bucket_start(call.time),
            call.capability.clone(),
        );
        let tally = self.buckets.entry(key).or_default();
        tally.calls += 1;
        tally.errors += u64::from(call.is_error());
        tally.rejected += u64::from(call.outcome.is_refusal());
        tally.request_bytes = tally.request_bytes.saturating_add(call.request_bytes);
        tally.response_bytes = tally.response_bytes.saturating_add(call.response_bytes);
        tally.latencies.push(call.latency);
    }

    /// The buckets, oldest first, then by capability.
    pub fn finish(self) -> Vec<UsageBucket> {
        self.buckets
            .into_iter()
            .map(|((start, capability), mut tally)| {
                tally.latencies.sort_unstable();
                UsageBucket {
                    capability,
                    start,
                    calls: tally.calls,
                    errors: tally.errors,
                    rejected: tally.rejected,
                    request_bytes: tally.request_bytes,
                    response_bytes: tally.response_bytes,
                    p50_latency: percentile(&tally.latencies, 50),
                    p99_latency: percentile(&tally.latencies, 99),
                }
            })
            .collect()
    }
}

/// Nearest-rank percentile of sorted values: the smallest value at least
/// `percent`% of them do not exceed.
fn percentile(sorted: &[Duration], percent: usize) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = (sorted.len() * percent).div_ceil(100).max(1);
    sorted[rank.min(sorted.len()) - 1]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::record::CallProtocol;

    fn at(rfc3339: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(rfc3339)
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or_default()
    }

    fn range(start: &str, end: &str) -> TimeRange {
        TimeRange {
            start: Some(at(start)),
            end: Some(at(end)),
        }
    }

    #[test]
    fn days_start_at_midnight_in_utc_plus_8() {
        let day = Granularity::Day.bucket_start(at("2026-12-01T15:59:59Z"));
        assert_eq!(day, at("2026-11-30T16:00:00Z"));
        let next = Granularity::Day.bucket_start(at("2026-12-01T16:00:00Z"));
        assert_eq!(next, at("2026-12-01T16:00:00Z"));
        let hour = Granularity::Hour.bucket_start(at("2026-12-01T15:59:59Z"));
        assert_eq!(hour, at("2026-12-01T15:00:00Z"));
        let minute = Granularity::Minute.bucket_start(at("2026-12-01T15:59:59Z"));
        assert_eq!(minute, at("2026-12-01T15:59:00Z"));
    }

    #[test]
    fn periods_are_closed_ordered_and_bounded() {
        let app = Uuid::nil();
        let ok = UsageQuery::new(
            app,
            None,
            range("2026-12-01T00:00:00Z", "2026-12-01T16:40:00Z"),
            Granularity::Minute,
        );
        assert!(ok.is_ok(), "exactly 1000 minutes is allowed");
        let long = UsageQuery::new(
            app,
            None,
            range("2026-12-01T00:00:00Z", "2026-12-01T16:40:01Z"),
            Granularity::Minute,
        );
        assert!(matches!(long, Err(GatewayError::Invalid(v)) if v[0].0 == "period"));
        let open = UsageQuery::new(
            app,
            None,
            TimeRange {
                start: Some(at("2026-12-01T00:00:00Z")),
                end: None,
            },
            Granularity::Day,
        );
        assert!(open.is_err());
        let backwards = TimeRange::new(
            Some(at("2026-12-02T00:00:00Z")),
            Some(at("2026-12-01T00:00:00Z")),
        );
        assert!(matches!(backwards, Err(GatewayError::Invalid(v)) if v[0].0 == "period.end_time"));
    }

    fn call(time: &str, outcome: CallOutcome, status: u16, latency_ms: u64) -> CallRecord {
        let mut call = CallRecord::arrived(at(time), CallProtocol::HttpJson, outcome);
        call.capability = "certificate.verify".into();
        call.http_status = status;
        call.latency = Duration::from_millis(latency_ms);
        call.request_bytes = 10;
        call.response_bytes = 100;
        call
    }

    #[test]
    fn buckets_count_calls_errors_refusals_and_percentiles() {
        let mut tally = UsageTally::new(Granularity::Hour);
        for ms in 1..=100 {
            tally.add(&call(
                "2026-12-01T10:15:00Z",
                CallOutcome::Forwarded,
                200,
                ms,
            ));
        }
        tally.add(&call(
            "2026-12-01T10:59:59Z",
            CallOutcome::Forwarded,
            500,
            1,
        ));
        tally.add(&call("2026-12-01T10:30:00Z", CallOutcome::Shed, 503, 1));
        tally.add(&call(
            "2026-12-01T11:00:00Z",
            CallOutcome::BackendFailed,
            504,
            7,
        ));
        let buckets = tally.finish();
        assert_eq!(buckets.len(), 2);
        let first = &buckets[0];
        assert_eq!(first.start, at("2026-12-01T10:00:00Z"));
        assert_eq!((first.calls, first.errors, first.rejected), (102, 1, 1));
        assert_eq!(first.request_bytes, 1020);
        // 1, 1, 1, 2, 3, …, 100: rank 51 is 49 ms, rank 101 is 99 ms.
        assert_eq!(first.p50_latency, Duration::from_millis(49));
        assert_eq!(first.p99_latency, Duration::from_millis(99));
        let second = &buckets[1];
        assert_eq!((second.calls, second.errors, second.rejected), (1, 1, 0));
        assert_eq!(second.p99_latency, Duration::from_millis(7));
    }

    #[test]
    fn percentiles_use_the_nearest_rank() {
        let ms = |v: &[u64]| {
            v.iter()
                .map(|&m| Duration::from_millis(m))
                .collect::<Vec<_>>()
        };
        assert_eq!(percentile(&ms(&[]), 50), Duration::ZERO);
        assert_eq!(percentile(&ms(&[9]), 99), Duration::from_millis(9));
        assert_eq!(percentile(&ms(&[1, 2, 3, 4]), 50), Duration::from_millis(2));
        assert_eq!(percentile(&ms(&[1, 2, 3, 4]), 99), Duration::from_millis(4));
    }

    #[test]
    fn trace_ids_are_w3c() {
        assert!(parse_trace_id("4bf92f3577b34da6a3ce929d0e0e4736").is_ok());
        for bad in [
            "",
            "4BF92F3577B34DA6A3CE929D0E0E4736",
            "00000000000000000000000000000000",
            "abc",
        ] {
            assert!(parse_trace_id(bad).is_err(), "{bad} accepted");
        }
    }
}
