//! What can go wrong in the gateway, in its own terms.

/// A failure of a gateway operation.
#[derive(Debug, thiserror::Error)]
pub enum GatewayError {
    /// The database cannot be reached right now (restarting, failing
    /// over); the call may be retried.
    #[error("storage unavailable: {0}")]
    StorageUnavailable(String),
    /// Storage failed; the cause is for the log, not the caller.
    #[error("storage failure: {0}")]
    Storage(String),
    /// No such app, credential, capability or policy (in the caller's view).
    #[error("{kind} {id} not found")]
    NotFound { kind: &'static str, id: String },
    /// The request breaks a rule; (field, description) pairs.
    #[error("invalid request: {0:?}")]
    Invalid(Vec<(String, String)>),
    /// Something with that key exists already.
    #[error("{kind} {key} already exists")]
    AlreadyExists { kind: &'static str, key: String },
    /// The version given is not the current one.
    #[error("{kind} {id} was changed concurrently")]
    VersionConflict { kind: &'static str, id: String },
    /// The operation does not apply in the current state.
    #[error("{0}")]
    FailedPrecondition(String),
}

impl GatewayError {
    /// A failure of the database or of what was read from it: unavailable
    /// when the database could not be reached, a storage failure otherwise.
    pub fn storage(error: impl std::fmt::Display + 'static) -> Self {
        if zhongtai_store::is_unavailable_failure(&error) {
            Self::StorageUnavailable(error.to_string())
        } else {
            Self::Storage(error.to_string())
        }
    }

    /// One invalid field.
    pub fn invalid(field: impl Into<String>, description: impl Into<String>) -> Self {
        Self::Invalid(vec![(field.into(), description.into())])
    }
}
