//! What can go wrong in the exchange center, in its own terms.

/// A failure of an exchange-center operation.
#[derive(Debug, thiserror::Error)]
pub enum ExchangeError {
    /// The database cannot be reached right now (restarting, failing
    /// over); the call may be retried.
    #[error("storage unavailable: {0}")]
    StorageUnavailable(String),
    /// Storage failed; the cause is for the log, not the caller.
    #[error("storage failure: {0}")]
    Storage(String),
    /// The entity does not exist, or the caller may not see it.
    #[error("{kind} {id} not found")]
    NotFound { kind: &'static str, id: String },
    /// Another entity already holds the unique key.
    #[error("{kind} {key} already exists")]
    AlreadyExists { kind: &'static str, key: String },
    /// The entity changed since the caller read it.
    #[error("{kind} {id} was changed concurrently")]
    Conflict { kind: &'static str, id: String },
    /// The entity's state (or the center's setup) does not allow it.
    #[error("{0}")]
    Precondition(String),
    /// The caller may see the entity but not do this; `code` is stable.
    #[error("{message}")]
    Denied { code: &'static str, message: String },
    /// A request value the rules refuse.
    #[error("invalid {field}: {description}")]
    Invalid { field: String, description: String },
}

impl ExchangeError {
    /// A failure of the database or of what was read from it: unavailable
    /// when the database could not be reached, a storage failure otherwise.
    pub fn storage(cause: impl std::fmt::Display + 'static) -> Self {
        if zhongtai_store::is_unavailable_failure(&cause) {
            Self::StorageUnavailable(cause.to_string())
        } else {
            Self::Storage(cause.to_string())
        }
    }

    pub fn not_found(kind: &'static str, id: impl std::fmt::Display) -> Self {
        Self::NotFound {
            kind,
            id: id.to_string(),
        }
    }

    pub fn precondition(message: impl Into<String>) -> Self {
        Self::Precondition(message.into())
    }

    pub fn denied(code: &'static str, message: impl Into<String>) -> Self {
        Self::Denied {
            code,
            message: message.into(),
        }
    }
}
