//! Catalog failures as the API reports them.

use zhongtai_kit::ApiError;

use crate::domain::CatalogError;

impl From<CatalogError> for ApiError {
    fn from(error: CatalogError) -> Self {
        match error {
            CatalogError::Storage(cause) => ApiError::internal(cause),
        }
    }
}

impl From<CatalogError> for tonic::Status {
    fn from(error: CatalogError) -> Self {
        ApiError::from(error).into()
    }
}
