//! Exchange-center failures as the API reports them.

use zhongtai_kit::ApiError;

use crate::domain::ExchangeError;

impl From<ExchangeError> for ApiError {
    fn from(error: ExchangeError) -> Self {
        match error {
            ExchangeError::Storage(cause) => ApiError::internal(cause),
        }
    }
}

impl From<ExchangeError> for tonic::Status {
    fn from(error: ExchangeError) -> Self {
        ApiError::from(error).into()
    }
}
