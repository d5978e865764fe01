//! Mutual TLS between services. Every service holds a certificate whose DNS
//! name is its service name (`approval`), issued by the mesh CA. Servers
//! require a client certificate from that CA; clients check that the server
//! chains to the CA and names the service they meant to call, whatever
//! address discovery gave them — so a stale or hijacked registry entry
//! cannot impersonate another service.
//!
//! Certificates come as PEM files, as Kubernetes TLS Secrets and
//! cert-manager provide them (`ca.crt`, `tls.crt`, `tls.key`); [`dev`]
//! creates a development PKI of the same shape.

pub mod dev;
mod error;
mod pem;

use std::path::{Path, PathBuf};
use std::time::Duration;

use tonic::transport::{Certificate, ClientTlsConfig, Identity, Server, ServerTlsConfig};

pub use error::TlsError;

/// A peer that opens a connection and never finishes the handshake would
/// otherwise hold the connection open forever.
const SERVER_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// The PEM files of one service's TLS identity.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TlsFiles {
    /// CA certificate(s) peers must chain to (`ca.crt`); several may be
    /// concatenated while a CA is being rotated.
    pub ca: PathBuf,
    /// This service's certificate, optionally followed by intermediates
    /// (`tls.crt`).
    pub cert: PathBuf,
    /// The certificate's unencrypted private key (`tls.key`).
    pub key: PathBuf,
}

/// One service's TLS identity and the CA it trusts, checked when loaded
/// so that a broken Secret stops the service at startup, naming the file.
/// Cheap to clone. Its `Debug` output never shows the key.
#[derive(Clone)]
pub struct MeshTls {
    ca: Certificate,
    identity: Identity,
    ca_origin: String,
    cert_origin: String,
}

/// PEM text and where it came from, for error messages.
struct Pem {
    bytes: Vec<u8>,
    origin: String,
}

impl MeshTls {
    /// Reads and checks the three files. Blocking; meant for startup.
    pub fn from_files(files: &TlsFiles) -> Result<Self, TlsError> {
        let read = |path: &Path| -> Result<Pem, TlsError> {
            let bytes = std::fs::read(path).map_err(|source| TlsError::Read {
                path: path.to_path_buf(),
                source,
            })?;
            Ok(Pem {
                bytes,
                origin: path.display().to_string(),
            })
        };
        Self::load(read(&files.ca)?, read(&files.cert)?, read(&files.key)?)
    }

    /// Checks PEM text held in memory: the CA certificate(s), this
    /// service's certificate (chain) and its private key.
    pub fn from_pem(
        ca: impl AsRef<[u8]>,
        cert: impl AsRef<[u8]>,
        key: impl AsRef<[u8]>,
    ) -> Result<Self, TlsError> {
        let pem = |bytes: &[u8], origin: &str| Pem {
            bytes: bytes.to_vec(),
            origin: origin.to_string(),
        };
        Self::load(
            pem(ca.as_ref(), "the CA PEM"),
            pem(cert.as_ref(), "the certificate PEM"),
            pem(key.as_ref(), "the key PEM"),
        )
    }

    fn load(ca: Pem, cert: Pem, key: Pem) -> Result<Self, TlsError> {
        pem::expect_certificate(&ca.bytes, &ca.origin)?;
        pem::expect_certificate(&cert.bytes, &cert.origin)?;
        pem::expect_private_key(&key.bytes, &key.origin)?;
        check_identity(&cert.bytes, &key.bytes).map_err(|reason| TlsError::Unusable {
            what: format!("{} and {}", cert.origin, key.origin),
            reason,
        })?;
        let tls = Self {
            ca: Certificate::from_pem(ca.bytes),
            identity: Identity::from_pem(cert.bytes, key.bytes),
            ca_origin: ca.origin,
            cert_origin: cert.origin,
        };
        // The identity is known to be good, so a failure now is the CA's.
        try_server_config(tls.server_config()).map_err(|reason| TlsError::Unusable {
            what: tls.ca_origin.clone(),
            reason,
        })?;
        Ok(tls)
    }

    /// The server side: presents this identity and requires every client
    /// to present a certificate issued by the CA.
    pub fn server_config(&self) -> ServerTlsConfig {
        ServerTlsConfig::new()
            .identity(self.identity.clone())
            .client_ca_root(self.ca.clone())
            .client_auth_optional(false)
            .timeout(SERVER_HANDSHAKE_TIMEOUT)
    }

    /// The client side, calling `service`: trusts only the CA, presents
    /// this identity as client certificate, and accepts only a server
    /// certificate naming `service`, whatever address is dialled.
    pub fn client_config(&self, service: &str) -> ClientTlsConfig {
        ClientTlsConfig::new()
            .ca_certificate(self.ca.clone())
            .identity(self.identity.clone())
            .domain_name(service)
    }
}

impl std::fmt::Debug for MeshTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MeshTls")
            .field("ca", &self.ca_origin)
            .field("certificate", &self.cert_origin)
            .field("key", &"<redacted>")
            .finish()
    }
}

/// Whether the TLS library accepts `cert` and `key` as an identity: both
/// decode, the key type is supported, and the key belongs to the
/// certificate. rustls would otherwise only find out when a server starts
/// or a channel first connects, and without naming the file.
pub(crate) fn check_identity(cert: &[u8], key: &[u8]) -> Result<(), String> {
    try_server_config(ServerTlsConfig::new().identity(Identity::from_pem(cert, key)))
}

/// Builds (and drops) a server TLS configuration: tonic parses everything
/// at that point, without needing a runtime or a socket.
fn try_server_config(config: ServerTlsConfig) -> Result<(), String> {
    Server::builder()
        .tls_config(config)
        .map(drop)
        .map_err(|error| causes(&error))
}

/// The reasons below tonic's generic "transport error".
fn causes(error: &tonic::transport::Error) -> String {
    let mut reasons = Vec::new();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        reasons.push(cause.to_string());
        source = cause.source();
    }
    if reasons.is_empty() {
        error.to_string()
    } else {
        reasons.join(": ")
    }
}

#[cfg(test)]
mod tests;
