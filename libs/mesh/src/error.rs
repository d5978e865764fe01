//! The crate's error type and the boxed error every tower service here
//! returns.

use std::time::Duration;

/// The error type of every service in this crate, as tonic and tower expect.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// What can go wrong configuring the mesh or talking to the registry.
///
/// Registration and discovery never give up on these: they log them and try
/// again. They surface to callers only from constructors that validate
/// configuration.
#[derive(Debug, thiserror::Error)]
pub enum MeshError {
    /// A configuration value cannot work; the message names the field.
    #[error("invalid mesh configuration: {0}")]
    InvalidConfig(String),
    /// The etcd client reported an error.
    #[error("etcd: {0}")]
    Etcd(#[from] etcd_client::Error),
    /// etcd did not answer within the configured request timeout.
    #[error("etcd did not answer within {0:?}")]
    EtcdTimeout(Duration),
    /// etcd no longer knows the registration's lease (expired, revoked, or
    /// the cluster lost its data).
    #[error("lease {0:x} is gone")]
    LeaseLost(i64),
    /// A registration's keep-alive or key watch ended; the reason says how.
    #[error("registration interrupted: {0}")]
    Interrupted(String),
    /// A service instance could not be encoded for the registry.
    #[error("cannot encode service instance: {0}")]
    Encode(#[from] serde_json::Error),
    /// A service instance carries an address callers cannot dial.
    #[error("instance {id} has an invalid address {address:?}: {reason}")]
    InvalidAddress {
        /// The instance id.
        id: String,
        /// The address as registered.
        address: String,
        /// Why it cannot be used.
        reason: String,
    },
}
