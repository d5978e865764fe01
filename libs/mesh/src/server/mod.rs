//! Tower layers for the tonic server, outermost first: [`AdmissionLayer`]
//! (priority-aware load shedding), [`RateLimitLayer`] (token bucket) and
//! [`MessageLimitLayer`] (request message size, checked while streaming).
//! Each refuses with a precise gRPC status carrying Zhongtai's
//! `ErrorInfo`, and none of them ever refuses the health check.

mod admission;
mod message_limit;
mod rate_limit;

pub use admission::{AdmissionConfig, AdmissionLayer, AdmissionService, Priority};
pub use message_limit::{MessageLimitLayer, MessageLimitService};
pub use rate_limit::{RateLimitLayer, RateLimitService};

#[cfg(test)]
pub(crate) mod test_support;
