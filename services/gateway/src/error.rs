//! Gateway failures as the API reports them.

use zhongtai_kit::ApiError;

use crate::domain::GatewayError;

impl From<GatewayError> for ApiError {
    fn from(error: GatewayError) -> Self {
        match error {
            GatewayError::StorageUnavailable(cause) => {
                tracing::warn!(error = %cause, "database unavailable");
                ApiError::dependency_unavailable("database")
            }
            GatewayError::Storage(cause) => ApiError::internal(cause),
            GatewayError::NotFound { kind, id } => ApiError::not_found(kind, &id),
            GatewayError::Invalid(violations) => ApiError::invalid_fields(violations),
            GatewayError::AlreadyExists { kind, key } => ApiError::already_exists(kind, &key),
            GatewayError::VersionConflict { kind, id } => ApiError::version_conflict(kind, &id),
            GatewayError::FailedPrecondition(message) => ApiError::failed_precondition(message),
        }
    }
}

impl From<GatewayError> for tonic::Status {
    fn from(error: GatewayError) -> Self {
        ApiError::from(error).into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unreachable_database_answers_unavailable_and_bad_data_internal() {
        let lost = sea_orm::DbErr::ConnectionAcquire(sea_orm::ConnAcquireErr::Timeout);
        let status = tonic::Status::from(ApiError::from(GatewayError::storage(lost)));
        assert_eq!(status.code(), tonic::Code::Unavailable, "{status:?}");
        let corrupt = tonic::Status::from(ApiError::from(GatewayError::storage(
            "a row that does not read back",
        )));
        assert_eq!(corrupt.code(), tonic::Code::Internal, "{corrupt:?}");
    }
}
