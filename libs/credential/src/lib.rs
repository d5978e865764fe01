//! Zhongtai e-certificates and presentation codes, verifiable offline.
//!
//! The certificate center signs e-certificates and presentation codes; this
//! crate is the network-free part every verifier links: the token formats
//! (compact JWS with Ed25519, RFC 8037), keys and their sealing at rest, QR
//! payloads (`ZT1:` + base45 of the token's decoded parts, framed and
//! zlib-compressed; see [`qr`]), bitstring status lists, the signed trust
//! list, and offline verification against it, one token at a time or
//! many with their signatures checked in a batch ([`verify_codes`]).
//!
//! ```
//! use zhongtai_credential::{
//!     verify_code, CodeKind, CodePayload, Holder, HolderStatus, IdDocumentType, Outcome,
//!     SigningKey, TrustStore, CODE_TYP, PLATFORM_ISSUER,
//! };
//!
//! let (platform, _pkcs8) = SigningKey::generate("platform-2026").unwrap();
//! let now = chrono::Utc::now();
//! let code = CodePayload {
//!     iss: PLATFORM_ISSUER.to_owned(),
//!     jti: "0b7d6f0e-0000-4000-8000-000000000001".to_owned(),
//!     iat: now.timestamp(),
//!     exp: now.timestamp() + 60,
//!     kind: CodeKind::Personal,
//!     holder: Holder::Person {
//!         name: "张三".to_owned(),
//!         id_type: IdDocumentType::ResidentIdCard,
//!         id_number: "33110019900101123X".to_owned(),
//!     }
//!     .masked(),
//!     st: HolderStatus::Normal,
//!     claims: Default::default(),
//!     dep: None,
//! };
//! let token = zhongtai_credential::sign_compact(&platform, CODE_TYP, &code);
//! let qr = zhongtai_credential::qr_payload(&token);
//!
//! let trust = TrustStore::new(1, vec![], vec![(platform.key_id().to_owned(), platform.public_key())]);
//! let check = verify_code(&qr, &trust, now).unwrap();
//! assert_eq!(check.outcome, Outcome::Valid);
//! ```

#![forbid(unsafe_code)]

pub mod base45;
mod batch;
pub mod claims;
mod deflate;
mod encoding;
pub mod error;
pub mod holder;
pub mod jws;
pub mod keys;
pub mod qr;
pub mod seal;
pub mod status_list;
pub mod token;
pub mod trust;
pub mod verify;

pub use claims::{Claim, ClaimError, ClaimKind, ClaimValue, claims_from_json, claims_to_json};
pub use error::FormatError;
pub use holder::{Holder, IdDocumentType};
pub use jws::{CompactJws, JwsHeader, MAX_TOKEN_BYTES, sign_compact};
pub use keys::{KeyError, PublicKey, SecretBytes, SigningKey};
pub use qr::{QR_PREFIX, QrError, QrImageFormat, qr_payload, render_qr, token_from_presentation};
pub use seal::{KeySealer, SealError};
pub use status_list::{Bitstring, MIN_STATUS_LIST_BITS};
pub use token::{
    CERTIFICATE_TYP, CODE_TYP, CertificatePayload, CodeKind, CodePayload, HolderStatus,
    PLATFORM_ISSUER, StatusRef, issuer_id_of, issuer_uri,
};
pub use trust::{
    MAX_TRUST_LIST_BYTES, TRUST_LIST_TYP, TrustListDocument, TrustListError, TrustListIssuer,
    TrustListKey, TrustStore, TrustedKey,
};
pub use verify::{
    CODE_CLOCK_SKEW_SECS, CertificateCheck, CodeCheck, Outcome, verify_certificate,
    verify_certificates, verify_code, verify_codes,
};
