//! What can go wrong in the certificate center, in its own terms.

/// A failure of a certificate-center operation.
#[derive(Debug, thiserror::Error)]
pub enum CertificateError {
    /// Storage failed; the cause is for the log, not the caller.
    #[error("storage failure: {0}")]
    Storage(String),
}
