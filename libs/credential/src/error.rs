//! Why a token, a QR payload or a status list could not be read at all.

/// The input cannot be parsed: it is not a token of this platform, or it is
/// damaged, truncated or too large. Messages say what was expected so a
/// user (or the engineer behind a scanner) can act on them.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FormatError {
    #[error("the presentation is empty")]
    Empty,
    #[error("the input is {actual} bytes, more than the {limit} allowed")]
    TooLarge { actual: usize, limit: usize },
    #[error("token is not a compact JWS: expected 3 parts separated by '.', found {parts}")]
    NotCompactJws { parts: usize },
    #[error("the JWS {part} is not valid unpadded base64url")]
    Base64 { part: &'static str },
    #[error("the JWS header is not a JSON object: {reason}")]
    HeaderNotJson { reason: String },
    #[error("the JWS algorithm {alg:?} is not accepted: only \"EdDSA\" (Ed25519) is")]
    UnsupportedAlgorithm { alg: String },
    #[error("the JWS header has no \"kid\" naming the signing key")]
    MissingKeyId,
    #[error(
        "the JWS header lists critical extensions ({crit}), which this verifier does not support"
    )]
    CriticalHeader { crit: String },
    #[error("the token type is {found:?}, expected {expected:?}")]
    WrongType {
        expected: &'static str,
        found: Option<String>,
    },
    #[error("the signature is {actual} bytes, an Ed25519 signature is 64")]
    SignatureLength { actual: usize },
    #[error("the token payload does not have the expected shape: {reason}")]
    Payload { reason: String },
    #[error("invalid base45 at character {position}: {reason}")]
    Base45 {
        position: usize,
        reason: &'static str,
    },
    #[error("the compressed data is damaged or truncated")]
    Compression,
    #[error("the compressed data inflates past the {limit}-byte limit")]
    InflatedTooLarge { limit: usize },
    #[error("the decoded token is not UTF-8 text")]
    NotText,
    #[error("a status list needs at least {minimum} bits in whole bytes; {bits} requested")]
    StatusListSize { bits: usize, minimum: usize },
    #[error("status list index {index} is outside the list of {len} bits")]
    StatusIndex { index: usize, len: usize },
    #[error("the status list holds {actual} bytes, expected {expected}")]
    StatusListLength { actual: usize, expected: usize },
}
