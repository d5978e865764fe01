//! Tower layers for the tonic server, outermost first: [`AdmissionLayer`]
//! (priority-aware load shedding), [`RateLimitLayer`] (token bucket) and
//! [`MessageLimitLayer`] (request message size, checked while streaming).
//! [`AdaptiveLimiter`] is the same priority shedding for a front door that
//! admits calls itself, under a limit that follows the backend's latency.
//! Each layer refuses with a precise gRPC status carrying Zhongtai's
//! `ErrorInfo`, and none of them ever refuses the health check.

mod adaptive;
mod admission;
mod message_limit;
mod metrics;
mod rate_limit;

pub use adaptive::{AdaptiveConfig, AdaptiveLimiter, AdaptivePermit, Shed};
pub use admission::{AdmissionConfig, AdmissionLayer, AdmissionService, Priority};
pub use message_limit::{MessageLimitLayer, MessageLimitService};
pub use rate_limit::{RateLimitLayer, RateLimitService};

#[cfg(test)]
pub(crate) mod test_support;
