//! What can go wrong in the approval center, in its own terms.

/// A failure of an approval-center operation.
#[derive(Debug, thiserror::Error)]
pub enum ApprovalError {
    /// The request breaks the domain's rules; one entry per offending field.
    #[error("invalid request: {0:?}")]
    Invalid(Vec<(String, String)>),
    #[error("service item {0} not found")]
    ItemNotFound(String),
    #[error("service item code {code} already exists in tenant {tenant}")]
    ItemCodeTaken { tenant: String, code: String },
    /// The client reused an idempotency key for a different request.
    #[error("request id {0} was already used for a different request")]
    RequestIdReused(String),
    /// The caller may not touch this tenant's records.
    #[error("{message}")]
    Denied {
        reason: &'static str,
        target: String,
        message: String,
    },
    /// Storage failed; the cause is for the log, not the caller.
    #[error("storage failure: {0}")]
    Storage(String),
}

impl ApprovalError {
    pub fn invalid(field: &str, problem: impl Into<String>) -> Self {
        Self::Invalid(vec![(field.to_string(), problem.into())])
    }
}
