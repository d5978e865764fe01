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
    #[error("process definition {0} not found")]
    ProcessNotFound(String),
    #[error("process definition key {key} already exists in tenant {tenant}")]
    ProcessKeyTaken { tenant: String, key: String },
    #[error("application {0} not found")]
    ApplicationNotFound(String),
    #[error("task {0} not found")]
    TaskNotFound(String),
    /// The client reused an idempotency key for a different request.
    #[error("request id {0} was already used for a different request")]
    RequestIdReused(String),
    /// The entity's state does not allow the operation.
    #[error("{0}")]
    FailedPrecondition(String),
    /// The entity changed since the caller (or this use case) read it.
    #[error("{kind} {id} was changed concurrently")]
    VersionConflict { kind: &'static str, id: String },
    /// The caller may not do this.
    #[error("{message}")]
    Denied {
        reason: &'static str,
        target: String,
        message: String,
    },
    /// The database cannot be reached right now (restarting, failing
    /// over); the call may be retried.
    #[error("storage unavailable: {0}")]
    StorageUnavailable(String),
    /// Storage failed; the cause is for the log, not the caller.
    #[error("storage failure: {0}")]
    Storage(String),
}

impl ApprovalError {
    pub fn invalid(field: &str, problem: impl Into<String>) -> Self {
        Self::Invalid(vec![(field.to_string(), problem.into())])
    }
}
