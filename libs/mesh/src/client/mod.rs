//! The caller's side of the mesh: a [`MeshChannel`] per service that
//! follows discovery, balances over instances, ejects dead ones, retries
//! idempotent calls within a budget, and enforces deadlines
//! ([`DeadlineLayer`]).

mod channel;
mod config;
mod deadline;
mod pool;

pub use channel::MeshChannel;
pub use config::ChannelConfig;
pub use deadline::{DeadlineLayer, DeadlineService};

#[cfg(test)]
mod tests;
