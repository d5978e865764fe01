//! Limits of one app on one capability (or on all of them, `*`): a rate
//! limit, calendar quotas and a concurrency cap.

use std::time::Duration;

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::capability::CapabilityName;

/// What a policy applies to.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum PolicyTarget {
    /// The app's default for every capability (`*`).
    AllCapabilities,
    /// One capability; overrides the default.
    Capability(CapabilityName),
}

impl PolicyTarget {
    pub const ALL_NAME: &'static str = "*";

    pub fn parse(value: &str) -> Result<Self, String> {
        if value == Self::ALL_NAME {
            Ok(Self::AllCapabilities)
        } else {
            CapabilityName::parse(value).map(Self::Capability)
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            Self::AllCapabilities => Self::ALL_NAME,
            Self::Capability(name) => name.as_str(),
        }
    }
}

/// `requests` per `period`, bursts up to `burst` (GCRA).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct RateLimit {
    pub requests: u64,
    #[serde(with = "millis")]
    pub period: Duration,
    /// Largest burst, >= 1.
    pub burst: u64,
}

/// Calendar windows, in the platform's time zone (UTC+8).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum QuotaWindow {
    Day,
    Month,
}

impl QuotaWindow {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Day => "day",
            Self::Month => "month",
        }
    }
}

/// Calls allowed per calendar window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct Quota {
    pub window: QuotaWindow,
    pub limit: u64,
}

/// The limits part of a policy, as stored (JSON) and as enforced.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct Limits {
    pub rate_limit: Option<RateLimit>,
    /// At most one per window.
    pub quotas: Vec<Quota>,
    /// Calls in flight at once; 0 means no cap.
    pub max_concurrency: u32,
}

/// A stored policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    pub id: Uuid,
    pub app_id: Uuid,
    pub target: PolicyTarget,
    pub limits: Limits,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// Largest concurrency cap.
pub const MAX_CONCURRENCY: u32 = 100_000;
/// Shortest rate-limit period.
pub const MIN_PERIOD: Duration = Duration::from_secs(1);
/// Longest rate-limit period.
pub const MAX_PERIOD: Duration = Duration::from_secs(3600);

/// A rate limit as requested: `burst` 0 means `requests`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestedRateLimit {
    pub requests: i64,
    pub period: Duration,
    pub burst: i64,
}

/// Limits as requested, before validation.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestedLimits {
    pub rate_limit: Option<RequestedRateLimit>,
    /// (window, limit); `None` window is one the caller left unspecified.
    pub quotas: Vec<(Option<QuotaWindow>, i64)>,
    pub max_concurrency: i32,
}

/// Validates requested limits; field names are under `policy.`.
pub fn check_limits(requested: &RequestedLimits) -> Result<Limits, Vec<(String, String)>> {
    let mut problems: Vec<(String, String)> = Vec::new();
    let rate_limit = requested.rate_limit.and_then(|rate| {
        let before = problems.len();
        if rate.requests < 1 {
            problems.push((
                "policy.rate_limit.requests".into(),
                format!("must be at least 1, got {}", rate.requests),
            ));
        }
        if !(MIN_PERIOD..=MAX_PERIOD).contains(&rate.period) {
            problems.push((
                "policy.rate_limit.period".into(),
                format!("must be 1 s..1 h, got {} ms", rate.period.as_millis()),
            ));
        }
        if rate.burst < 0 {
            problems.push((
                "policy.rate_limit.burst".into(),
                format!("must not be negative, got {}", rate.burst),
            ));
        }
        (problems.len() == before).then(|| RateLimit {
            requests: rate.requests.unsigned_abs(),
            period: rate.period,
            burst: if rate.burst == 0 {
                rate.requests.unsigned_abs()
            } else {
                rate.burst.unsigned_abs()
            },
        })
    });
    let mut quotas: Vec<Quota> = Vec::new();
    for (index, (window, limit)) in requested.quotas.iter().enumerate() {
        let Some(window) = window else {
            problems.push((
                format!("policy.quotas[{index}].window"),
                "must be DAY or MONTH".into(),
            ));
            continue;
        };
        if *limit < 1 {
            problems.push((
                format!("policy.quotas[{index}].limit"),
                format!("must be at least 1, got {limit}"),
            ));
            continue;
        }
        if quotas.iter().any(|quota| quota.window == *window) {
            problems.push((
                format!("policy.quotas[{index}].window"),
                format!(
                    "repeats the {} window; at most one quota per window",
                    window.as_str()
                ),
            ));
            continue;
        }
        quotas.push(Quota {
            window: *window,
            limit: limit.unsigned_abs(),
        });
    }
    let max_concurrency = u32::try_from(requested.max_concurrency)
        .ok()
        .filter(|cap| *cap <= MAX_CONCURRENCY);
    if max_concurrency.is_none() {
        problems.push((
            "policy.max_concurrency".into(),
            format!(
                "must be 0..={MAX_CONCURRENCY}, got {}",
                requested.max_concurrency
            ),
        ));
    }
    if problems.is_empty() {
        Ok(Limits {
            rate_limit,
            quotas,
            max_concurrency: max_concurrency.unwrap_or(0),
        })
    } else {
        Err(problems)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(problems: &[(String, String)]) -> Vec<&str> {
        problems.iter().map(|(field, _)| field.as_str()).collect()
    }

    #[test]
    fn burst_defaults_to_requests() {
        let limits = check_limits(&RequestedLimits {
            rate_limit: Some(RequestedRateLimit {
                requests: 100,
                period: Duration::from_secs(1),
                burst: 0,
            }),
            quotas: vec![
                (Some(QuotaWindow::Day), 10_000),
                (Some(QuotaWindow::Month), 200_000),
            ],
            max_concurrency: 50,
        })
        .unwrap();
        assert_eq!(limits.rate_limit.map(|r| r.burst), Some(100));
        assert_eq!(limits.quotas.len(), 2);
        assert_eq!(limits.max_concurrency, 50);
    }

    #[test]
    fn every_bad_limit_is_named() {
        let problems = check_limits(&RequestedLimits {
            rate_limit: Some(RequestedRateLimit {
                requests: 0,
                period: Duration::from_millis(500),
                burst: -1,
            }),
            quotas: vec![
                (Some(QuotaWindow::Day), 1),
                (Some(QuotaWindow::Day), 5),
                (None, 5),
                (Some(QuotaWindow::Month), 0),
            ],
            max_concurrency: 100_001,
        })
        .unwrap_err();
        assert_eq!(
            fields(&problems),
            [
                "policy.rate_limit.requests",
                "policy.rate_limit.period",
                "policy.rate_limit.burst",
                "policy.quotas[1].window",
                "policy.quotas[2].window",
                "policy.quotas[3].limit",
                "policy.max_concurrency"
            ]
        );
        assert!(
            check_limits(&RequestedLimits {
                max_concurrency: -1,
                ..RequestedLimits::default()
            })
            .is_err()
        );
        let long = RequestedRateLimit {
            requests: 1,
            period: Duration::from_secs(3601),
            burst: 0,
        };
        assert!(
            check_limits(&RequestedLimits {
                rate_limit: Some(long),
                ..RequestedLimits::default()
            })
            .is_err()
        );
    }

    #[test]
    fn limits_round_trip_as_json() {
        let limits = check_limits(&RequestedLimits {
            rate_limit: Some(RequestedRateLimit {
                requests: 5,
                period: Duration::from_secs(60),
                burst: 2,
            }),
            quotas: vec![(Some(QuotaWindow::Month), 9)],
            max_concurrency: 0,
        })
        .unwrap();
        let json = serde_json::to_string(&limits).unwrap();
        assert_eq!(serde_json::from_str::<Limits>(&json).unwrap(), limits);
    }
}

mod millis {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(value: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(u64::try_from(value.as_millis()).unwrap_or(u64::MAX))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        u64::deserialize(d).map(Duration::from_millis)
    }
}
