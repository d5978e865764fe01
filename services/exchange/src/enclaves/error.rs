//! What can go wrong with enclaves, and how the API reports it.

use zhongtai_kit::ApiError;

use crate::domain::ExchangeError;

/// A failure of an enclave operation.
#[derive(Debug, thiserror::Error)]
pub enum EnclaveError {
    /// Storage failed; the cause is for the log, not the caller.
    #[error("storage failure: {0}")]
    Storage(String),
    /// Does not exist, or belongs to another tenant (not revealed).
    #[error("{kind} {id} not found")]
    NotFound { kind: &'static str, id: String },
    #[error("{kind} {key} already exists")]
    AlreadyExists { kind: &'static str, key: String },
    /// The enclave's state or setup does not allow it.
    #[error("{0}")]
    Precondition(String),
    /// Request fields the rules refuse.
    #[error("{} invalid fields", .0.len())]
    Invalid(Vec<(String, String)>),
    /// Lines and subscriptions (backflow provisioning) refused or failed.
    #[error(transparent)]
    Lines(#[from] ExchangeError),
}

impl EnclaveError {
    pub fn not_found(kind: &'static str, id: impl std::fmt::Display) -> Self {
        Self::NotFound {
            kind,
            id: id.to_string(),
        }
    }

    pub fn invalid(field: impl Into<String>, description: impl Into<String>) -> Self {
        Self::Invalid(vec![(field.into(), description.into())])
    }
}

impl From<sea_orm::DbErr> for EnclaveError {
    fn from(error: sea_orm::DbErr) -> Self {
        Self::Storage(error.to_string())
    }
}

impl From<EnclaveError> for ApiError {
    fn from(error: EnclaveError) -> Self {
        match error {
            EnclaveError::Storage(cause) => ApiError::internal(cause),
            EnclaveError::NotFound { kind, id } => ApiError::not_found(kind, &id),
            EnclaveError::AlreadyExists { kind, key } => ApiError::already_exists(kind, &key),
            EnclaveError::Precondition(message) => ApiError::failed_precondition(message),
            EnclaveError::Invalid(violations) => ApiError::invalid_fields(violations),
            EnclaveError::Lines(error) => ApiError::from(error),
        }
    }
}

impl From<EnclaveError> for tonic::Status {
    fn from(error: EnclaveError) -> Self {
        ApiError::from(error).into()
    }
}
