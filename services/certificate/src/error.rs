//! Certificate-center failures as the API reports them: the one place domain
//! errors become gRPC statuses.

use std::time::Duration;

use zhongtai_kit::ApiError;

use crate::shared::{CertificateError, ConsentRefusal};

impl From<CertificateError> for ApiError {
    fn from(error: CertificateError) -> Self {
        match error {
            CertificateError::Invalid(violations) => ApiError::invalid_fields(violations),
            CertificateError::NotFound { kind, id } => ApiError::not_found(kind, &id),
            CertificateError::AlreadyExists { kind, key } => ApiError::already_exists(kind, &key),
            CertificateError::RequestIdReused(id) => ApiError::invalid_field(
                "request_id",
                format!("{id} was already used for a different request"),
            ),
            CertificateError::FailedPrecondition(message) => ApiError::failed_precondition(message),
            CertificateError::VersionConflict { kind, id } => ApiError::version_conflict(kind, &id),
            CertificateError::Denied {
                reason,
                target,
                message,
            } => zhongtai_kit::auth::denied(reason, target, message),
            CertificateError::ConsentRefused { refusal, message } => {
                let error = match refusal {
                    ConsentRefusal::Locked | ConsentRefusal::Revoked | ConsentRefusal::WrongApp => {
                        ApiError::permission_denied(refusal.code(), message)
                    }
                    ConsentRefusal::LimitReached | ConsentRefusal::Expired => {
                        ApiError::failed_precondition(message)
                    }
                };
                error.with_metadata("refusal", refusal.code())
            }
            CertificateError::Overloaded(message) => {
                ApiError::overloaded(message, Duration::from_millis(100))
            }
            CertificateError::StorageUnavailable(cause) => {
                tracing::warn!(error = %cause, "database unavailable");
                ApiError::dependency_unavailable("database")
            }
            CertificateError::Keys(cause) | CertificateError::Storage(cause) => {
                ApiError::internal(cause)
            }
        }
    }
}

impl From<CertificateError> for tonic::Status {
    fn from(error: CertificateError) -> Self {
        ApiError::from(error).into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unreachable_database_answers_unavailable_and_bad_data_internal() {
        let lost = sea_orm::DbErr::ConnectionAcquire(sea_orm::ConnAcquireErr::Timeout);
        let status = tonic::Status::from(ApiError::from(CertificateError::storage(lost)));
        assert_eq!(status.code(), tonic::Code::Unavailable, "{status:?}");
        let corrupt = tonic::Status::from(ApiError::from(CertificateError::storage(
            "a row that does not read back",
        )));
        assert_eq!(corrupt.code(), tonic::Code::Internal, "{corrupt:?}");
    }
}
