//! Catalog failures as the API reports them: the one place domain errors
//! become gRPC statuses.

use std::time::Duration;

use zhongtai_kit::ApiError;

use crate::domain::CatalogError;
use crate::domain::ports::ReviewError;

impl From<CatalogError> for ApiError {
    fn from(error: CatalogError) -> Self {
        match error {
            CatalogError::Invalid(violations) => ApiError::invalid_fields(violations),
            CatalogError::NotFound { kind, id } => ApiError::not_found(kind, &id),
            CatalogError::AlreadyExists { kind, key } => ApiError::already_exists(kind, &key),
            CatalogError::Duplicate(cause) => {
                tracing::warn!(cause = %cause, "unexpected duplicate key");
                ApiError::already_exists("record", "with this key")
            }
            CatalogError::RequestIdReused(id) => ApiError::invalid_field(
                "request_id",
                format!("{id} was already used for a different request"),
            ),
            CatalogError::Denied {
                reason,
                target,
                message,
            } => zhongtai_kit::auth::denied(reason, target, message),
            CatalogError::FailedPrecondition(message) => ApiError::failed_precondition(message),
            CatalogError::VersionConflict { kind, id } => ApiError::version_conflict(kind, &id),
            CatalogError::ReviewNotSetUp { division, item } => {
                ApiError::failed_precondition(format!(
                    "no data-access review is set up in {division}: the data bureau must create service item {item} of kind DATA_ACCESS"
                ))
            }
            CatalogError::Review(review) => review_error(review),
            CatalogError::StorageUnavailable(cause) => {
                tracing::warn!(error = %cause, "database unavailable");
                ApiError::dependency_unavailable("database")
            }
            CatalogError::Storage(cause) => ApiError::internal(cause),
        }
    }
}

/// The approval center's answer, passed on.
fn review_error(error: ReviewError) -> ApiError {
    match error {
        ReviewError::Unavailable(cause) => {
            tracing::warn!(cause = %cause, "approval center unavailable");
            // The request is stored: a retry with the same request_id
            // raises its application.
            ApiError::dependency_unavailable("approval")
                .with_metadata("resume", "retry with the same request_id")
                .with_retry_after(Duration::from_secs(2))
        }
        ReviewError::Denied {
            reason,
            target,
            message,
        } => zhongtai_kit::auth::denied(&reason, target, format!("approval center: {message}")),
        ReviewError::Invalid(violations) => ApiError::invalid_fields(violations),
        ReviewError::Refused(message) => {
            ApiError::failed_precondition(format!("approval center: {message}"))
        }
        // Not found after the item lookup succeeded means the application
        // is gone: a state problem for this request.
        ReviewError::ItemNotFound => {
            ApiError::failed_precondition("approval center: application not found")
        }
        ReviewError::Failed(cause) => ApiError::internal(format!("approval center: {cause}")),
    }
}

impl From<CatalogError> for tonic::Status {
    fn from(error: CatalogError) -> Self {
        ApiError::from(error).into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unreachable_database_answers_unavailable_and_bad_data_internal() {
        let lost = sea_orm::DbErr::ConnectionAcquire(sea_orm::ConnAcquireErr::Timeout);
        let status = tonic::Status::from(ApiError::from(CatalogError::storage(lost)));
        assert_eq!(status.code(), tonic::Code::Unavailable, "{status:?}");
        let corrupt = tonic::Status::from(ApiError::from(CatalogError::storage(
            "a row that does not read back",
        )));
        assert_eq!(corrupt.code(), tonic::Code::Internal, "{corrupt:?}");
    }
}
