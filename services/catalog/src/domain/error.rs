//! What can go wrong in the catalog, in its own terms.

use super::ports::ReviewError;

/// A failure of a catalog operation.
#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    /// The request breaks the rules; one entry per offending field.
    #[error("invalid request: {0:?}")]
    Invalid(Vec<(String, String)>),
    /// The entity does not exist or the caller cannot see it.
    #[error("{kind} {id} not found")]
    NotFound { kind: &'static str, id: String },
    #[error("{kind} {key} already exists")]
    AlreadyExists { kind: &'static str, key: String },
    /// A write hit a unique key; the use case decides what that means.
    #[error("duplicate key: {0}")]
    Duplicate(String),
    /// The client reused an idempotency key for a different request.
    #[error("request id {0} was already used for a different request")]
    RequestIdReused(String),
    /// The caller may see the entity but not do this to it.
    #[error("{message}")]
    Denied {
        reason: &'static str,
        target: String,
        message: String,
    },
    /// The entity's state does not allow the operation.
    #[error("{0}")]
    FailedPrecondition(String),
    /// The entity changed since the caller (or this process) read it.
    #[error("{kind} {id} changed concurrently")]
    VersionConflict { kind: &'static str, id: String },
    /// The data bureau of `division` has no data-access service item.
    #[error("no data-access review is set up in {division}")]
    ReviewNotSetUp { division: String, item: String },
    /// The approval center refused or failed the call.
    #[error("approval center: {0}")]
    Review(ReviewError),
    /// The database cannot be reached right now (restarting, failing
    /// over); the call may be retried.
    #[error("storage unavailable: {0}")]
    StorageUnavailable(String),
    /// Storage failed; the cause is for the log, not the caller.
    #[error("storage failure: {0}")]
    Storage(String),
}

impl CatalogError {
    /// A failure of the database or of what was read from it: unavailable
    /// when the database could not be reached, a storage failure otherwise.
    pub fn storage(cause: impl std::fmt::Display + 'static) -> Self {
        if zhongtai_store::is_unavailable_failure(&cause) {
            Self::StorageUnavailable(cause.to_string())
        } else {
            Self::Storage(cause.to_string())
        }
    }

    pub fn invalid(field: impl Into<String>, problem: impl Into<String>) -> Self {
        Self::Invalid(vec![(field.into(), problem.into())])
    }

    pub fn not_found(kind: &'static str, id: impl ToString) -> Self {
        Self::NotFound {
            kind,
            id: id.to_string(),
        }
    }
}
