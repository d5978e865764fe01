//! Exchange-center failures as the API reports them.

use zhongtai_kit::ApiError;

use crate::domain::ExchangeError;

impl From<ExchangeError> for ApiError {
    fn from(error: ExchangeError) -> Self {
        match error {
            ExchangeError::StorageUnavailable(cause) => {
                tracing::warn!(error = %cause, "database unavailable");
                ApiError::dependency_unavailable("database")
            }
            ExchangeError::Storage(cause) => ApiError::internal(cause),
            ExchangeError::NotFound { kind, id } => ApiError::not_found(kind, &id),
            ExchangeError::AlreadyExists { kind, key } => ApiError::already_exists(kind, &key),
            ExchangeError::Conflict { kind, id } => ApiError::version_conflict(kind, &id),
            ExchangeError::Precondition(message) => ApiError::failed_precondition(message),
            ExchangeError::Denied { code, message } => ApiError::permission_denied(code, message),
            ExchangeError::Invalid { field, description } => {
                ApiError::invalid_field(field, description)
            }
        }
    }
}

impl From<ExchangeError> for tonic::Status {
    fn from(error: ExchangeError) -> Self {
        ApiError::from(error).into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unreachable_database_answers_unavailable_and_bad_data_internal() {
        let lost = sea_orm::DbErr::ConnectionAcquire(sea_orm::ConnAcquireErr::Timeout);
        let status = tonic::Status::from(ApiError::from(ExchangeError::storage(lost)));
        assert_eq!(status.code(), tonic::Code::Unavailable, "{status:?}");
        let corrupt = tonic::Status::from(ApiError::from(ExchangeError::storage(
            "a row that does not read back",
        )));
        assert_eq!(corrupt.code(), tonic::Code::Internal, "{corrupt:?}");
    }
}
