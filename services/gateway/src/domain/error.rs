//! What can go wrong in the gateway, in its own terms.

/// A failure of a gateway operation.
#[derive(Debug, thiserror::Error)]
pub enum GatewayError {
    /// Storage failed; the cause is for the log, not the caller.
    #[error("storage failure: {0}")]
    Storage(String),
}
