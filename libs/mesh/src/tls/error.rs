//! What can go wrong loading or generating the mesh's certificates.

use std::path::PathBuf;

/// A certificate, key or CA that cannot be loaded or generated. Each
/// variant names the file (or, for PEM given in memory, the role) at fault.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A file could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why reading failed.
        source: std::io::Error,
    },
    /// A file that should hold certificates holds no PEM `CERTIFICATE` block.
    #[error("{what} holds no PEM certificate")]
    NoCertificate {
        /// The file, or the role of PEM given in memory.
        what: String,
    },
    /// A key file holds no unencrypted PEM private key (PKCS#8, PKCS#1 or
    /// SEC1).
    #[error("{what} holds no PEM private key")]
    NoPrivateKey {
        /// The file, or the role of PEM given in memory.
        what: String,
    },
    /// A key file holds only a password-protected key, which a service
    /// cannot open unattended.
    #[error("{what} holds an encrypted private key; the mesh needs it unencrypted")]
    EncryptedPrivateKey {
        /// The file, or the role of PEM given in memory.
        what: String,
    },
    /// The files parse as PEM but TLS cannot use them: a damaged block, an
    /// unsupported key type, or a key that does not match the certificate.
    #[error("{what} cannot be used for TLS: {reason}")]
    Unusable {
        /// The file(s) at fault.
        what: String,
        /// What the TLS library reported.
        reason: String,
    },
    /// A development CA whose certificate and key are not both present:
    /// reusing it is impossible and replacing it would silently invalidate
    /// every certificate it issued.
    #[error(
        "{} exists but {} does not; restore it, or remove both to create a new CA",
        present.display(),
        missing.display()
    )]
    IncompleteCa {
        /// The CA file that exists.
        present: PathBuf,
        /// The CA file that is missing.
        missing: PathBuf,
    },
    /// A name that cannot be a certificate's DNS name or a file name.
    #[error("invalid certificate name {name:?}: {reason}")]
    InvalidName {
        /// The name as given.
        name: String,
        /// Why it cannot be used.
        reason: &'static str,
    },
    /// A validity period certificates cannot have.
    #[error("invalid validity of {days} days: {reason}")]
    InvalidValidity {
        /// The number of days asked for.
        days: u32,
        /// Why it cannot be used.
        reason: &'static str,
    },
    /// Key or certificate generation failed.
    #[error("cannot generate a key or certificate: {0}")]
    Generate(#[from] rcgen::Error),
    /// A file or folder could not be written.
    #[error("cannot write {}: {source}", path.display())]
    Write {
        /// The file or folder.
        path: PathBuf,
        /// Why writing failed.
        source: std::io::Error,
    },
}
