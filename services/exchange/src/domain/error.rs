//! What can go wrong in the exchange center, in its own terms.

/// A failure of an exchange-center operation.
#[derive(Debug, thiserror::Error)]
pub enum ExchangeError {
    /// Storage failed; the cause is for the log, not the caller.
    #[error("storage failure: {0}")]
    Storage(String),
}
