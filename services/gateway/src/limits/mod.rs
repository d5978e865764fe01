//! Rate limits, calendar quotas and replay protection, with counters shared
//! by every gateway instance.
//!
//! - [`gcra`] and [`window`] — the rules, pure.
//! - [`SharedLimits`] — counts calls against the shared counters, leasing
//!   blocks of allowance so a busy limit costs one round trip per block.
//! - [`NonceStore`] — remembers nonces across instances.

pub mod gcra;
mod lease;
mod nonce;
mod shared;
mod store;
pub mod window;

use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::domain::QuotaWindow;

pub use nonce::NonceStore;
pub use shared::SharedLimits;

/// An admitted call's standing, for the response headers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Admission {
    /// The rate limit, when there is one.
    pub rate: Option<RateStanding>,
    /// One per quota, in window order (day before month).
    pub quotas: Vec<QuotaStanding>,
}

/// Where a rate limit stands (`X-RateLimit-*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateStanding {
    /// Calls allowed at once (the burst).
    pub limit: u64,
    /// Calls that would still be admitted now.
    pub remaining: u64,
    /// Until the whole burst is available again.
    pub reset_after: Duration,
}

/// Where a quota stands in its current window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuotaStanding {
    pub window: QuotaWindow,
    pub limit: u64,
    /// Calls counted, allowance leased by other instances included.
    pub used: u64,
    /// `limit - used`, never negative.
    pub remaining: u64,
    pub window_start: DateTime<Utc>,
    pub window_end: DateTime<Utc>,
}

/// A call refused by a limit; nothing was counted for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LimitRefusal {
    pub reason: LimitReason,
    /// When trying again can succeed (`Retry-After`).
    pub retry_after: Duration,
    /// The quotas' standing as far as known.
    pub quotas: Vec<QuotaStanding>,
}

/// Which limit refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LimitReason {
    RateLimited,
    QuotaExceeded(QuotaWindow),
}

impl LimitReason {
    /// The reason code the front door reports.
    pub fn reason(&self) -> &'static str {
        match self {
            Self::RateLimited => "RATE_LIMITED",
            Self::QuotaExceeded(_) => "QUOTA_EXCEEDED",
        }
    }
}
