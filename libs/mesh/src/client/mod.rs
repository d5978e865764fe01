//! The caller's side of the mesh: a [`MeshChannel`] per service that
//! follows discovery, balances over instances, ejects dead ones, retries
//! idempotent calls within a budget, and enforces deadlines
//! ([`DeadlineLayer`]), and a [`CircuitBreaker`] per backend for callers
//! that decide themselves what counts as a failure.

mod breaker;
mod channel;
mod config;
mod deadline;
mod pool;

pub use breaker::{BreakerConfig, BreakerPermit, BreakerState, CircuitBreaker, CircuitOpen};
pub use channel::{MeshChannel, SingleAttempt};
pub use config::ChannelConfig;
pub use deadline::{DeadlineLayer, DeadlineService};

#[cfg(test)]
mod tests;
