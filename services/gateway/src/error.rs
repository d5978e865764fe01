//! Gateway failures as the API reports them.

use zhongtai_kit::ApiError;

use crate::domain::GatewayError;

impl From<GatewayError> for ApiError {
    fn from(error: GatewayError) -> Self {
        match error {
            GatewayError::Storage(cause) => ApiError::internal(cause),
        }
    }
}

impl From<GatewayError> for tonic::Status {
    fn from(error: GatewayError) -> Self {
        ApiError::from(error).into()
    }
}
