//! Certificate-center failures as the API reports them.

use zhongtai_kit::ApiError;

use crate::domain::CertificateError;

impl From<CertificateError> for ApiError {
    fn from(error: CertificateError) -> Self {
        match error {
            CertificateError::Storage(cause) => ApiError::internal(cause),
        }
    }
}

impl From<CertificateError> for tonic::Status {
    fn from(error: CertificateError) -> Self {
        ApiError::from(error).into()
    }
}
