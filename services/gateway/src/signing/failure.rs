//! Why a request's signature was not accepted; every variant is a 401 with
//! its own reason code.

/// An authentication failure of a signed request. Messages are safe to show
/// the caller: they name the header at fault, never a secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthFailure {
    /// A required signature header is absent.
    #[error("the {header} header is required")]
    Missing { header: &'static str },
    /// A signature header is present but unusable.
    #[error("the {header} header is malformed: {problem}")]
    Malformed {
        header: &'static str,
        problem: String,
    },
    /// No credential has this app key.
    #[error("the app key is not known")]
    AppKeyUnknown,
    /// The credential was revoked.
    #[error("the credential was revoked")]
    CredentialRevoked,
    /// The credential is past its expiry.
    #[error("the credential has expired")]
    CredentialExpired,
    /// The timestamp is too far from the gateway's clock.
    #[error(
        "the request timestamp is {offset_secs} s from the gateway's clock; at most {allowed_secs} s is accepted"
    )]
    TimestampSkewed { offset_secs: i64, allowed_secs: u64 },
    /// The signature does not match the request.
    #[error("the signature does not match the request")]
    SignatureInvalid,
    /// The nonce was used before within the replay window.
    #[error("the nonce was already used")]
    NonceReplayed,
}

impl AuthFailure {
    /// The reason code the front door reports (`ErrorInfo.reason`, audit).
    pub fn reason(&self) -> &'static str {
        match self {
            Self::Missing { .. } => "SIGNATURE_MISSING",
            Self::Malformed { .. } => "SIGNATURE_MALFORMED",
            Self::AppKeyUnknown => "APP_KEY_UNKNOWN",
            Self::CredentialRevoked => "CREDENTIAL_REVOKED",
            Self::CredentialExpired => "CREDENTIAL_EXPIRED",
            Self::TimestampSkewed { .. } => "TIMESTAMP_SKEWED",
            Self::SignatureInvalid => "SIGNATURE_INVALID",
            Self::NonceReplayed => "NONCE_REPLAYED",
        }
    }

    pub(super) fn malformed(header: &'static str, problem: impl Into<String>) -> Self {
        Self::Malformed {
            header,
            problem: problem.into(),
        }
    }
}
