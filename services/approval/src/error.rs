//! Approval-center failures as the API reports them: the one place domain
//! errors become gRPC statuses.

use zhongtai_kit::ApiError;

use crate::domain::ApprovalError;

impl From<ApprovalError> for ApiError {
    fn from(error: ApprovalError) -> Self {
        match error {
            ApprovalError::Invalid(violations) => ApiError::invalid_fields(violations),
            ApprovalError::ItemNotFound(id) => ApiError::not_found("service item", &id),
            ApprovalError::ItemCodeTaken { code, .. } => {
                ApiError::already_exists("service item", &code)
            }
            ApprovalError::ProcessNotFound(id) => ApiError::not_found("process definition", &id),
            ApprovalError::ProcessKeyTaken { key, .. } => {
                ApiError::already_exists("process definition", &key)
            }
            ApprovalError::ApplicationNotFound(id) => ApiError::not_found("application", &id),
            ApprovalError::TaskNotFound(id) => ApiError::not_found("task", &id),
            ApprovalError::RequestIdReused(id) => ApiError::invalid_field(
                "request_id",
                format!("{id} was already used for a different request"),
            ),
            ApprovalError::FailedPrecondition(message) => ApiError::failed_precondition(message),
            ApprovalError::VersionConflict { kind, id } => ApiError::version_conflict(kind, &id),
            ApprovalError::Denied {
                reason,
                target,
                message,
            } => zhongtai_kit::auth::denied(reason, target, message),
            ApprovalError::StorageUnavailable(cause) => {
                tracing::warn!(error = %cause, "database unavailable");
                ApiError::dependency_unavailable("database")
            }
            ApprovalError::Storage(cause) => ApiError::internal(cause),
        }
    }
}

impl From<ApprovalError> for tonic::Status {
    fn from(error: ApprovalError) -> Self {
        ApiError::from(error).into()
    }
}
