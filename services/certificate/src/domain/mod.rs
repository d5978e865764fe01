//! The certificate center's rules, free of transport and storage types.

pub mod error;
pub mod issuer;
pub mod ports;

pub use error::CertificateError;
pub use issuer::{Issuer, IssuerState};
pub use ports::{IssuerFilter, IssuerRepository};
