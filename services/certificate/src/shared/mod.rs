//! What the parts of the certificate center share: the error type, the
//! records, the ports between the parts, holder callers and contract
//! conversions.

pub mod convert;
pub mod error;
pub mod holder;
pub mod model;
pub mod ports;

pub use error::{CertificateError, ConsentRefusal};
pub use holder::{caller_holder_key, require_holder};
pub use model::{
    CertificateRecord, CertificateStatus, CertificateType, ClaimDefinition, HolderKind, StatusEntry,
};
pub use ports::{CertificateDirectory, IssuerSigner, Keyring, TypeRegistry};

/// The clock the center reads, in one place so tests and rules agree.
pub fn now() -> chrono::DateTime<chrono::Utc> {
    chrono::Utc::now()
}
