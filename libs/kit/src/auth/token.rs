//! Bearer tokens: JWTs signed with EdDSA (Ed25519) or ES256, verified
//! against the keys of a JWKS, turned into a [`Caller`].

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, Validation};
use serde::{Deserialize, Serialize};

use super::caller::{Caller, Role};
use super::jwks::KeySet;
use super::verified::VerifiedTokens;
use crate::tenant::{DivisionCode, TenantId};

/// The claims a Zhongtai token carries, beside the registered ones.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    pub iss: String,
    pub sub: String,
    pub aud: String,
    /// Expiry, seconds since the epoch.
    pub exp: i64,
    /// Not before, seconds since the epoch.
    pub nbf: i64,
    /// Issued at, seconds since the epoch.
    pub iat: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jti: Option<String>,
    pub tenant: TenantClaim,
    #[serde(default)]
    pub roles: Vec<String>,
    /// Divisions whose other tenants' rows the bearer may read.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cross_tenant_read: Vec<String>,
}

/// `"tenant": {"division": "331100", "department": "housing-fund"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TenantClaim {
    pub division: String,
    #[serde(default)]
    pub department: String,
}

/// Why a token was refused. Each has a stable code callers see in the
/// error details (`ErrorInfo.metadata["credential"]`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("no bearer token: send `authorization: Bearer <token>`")]
    Missing,
    #[error("the token is not a well-formed JWT: {0}")]
    Malformed(String),
    #[error("tokens signed with {0} are not accepted (use EdDSA or ES256)")]
    UnsupportedAlgorithm(String),
    #[error("the token's signing key `{0}` is not in the trusted key set")]
    UnknownKey(String),
    #[error("the token's signature does not verify")]
    BadSignature,
    #[error("the token has expired")]
    Expired,
    #[error("the token is not valid yet")]
    NotYetValid,
    #[error("the token was issued by an untrusted issuer")]
    WrongIssuer,
    #[error("the token is meant for another audience")]
    WrongAudience,
    #[error("the token's claims are invalid: {0}")]
    InvalidClaims(String),
    #[error("the trusted key set is unavailable: {0}")]
    KeysUnavailable(String),
}

impl TokenError {
    /// Stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            TokenError::Missing => "TOKEN_MISSING",
            TokenError::Malformed(_) => "TOKEN_MALFORMED",
            TokenError::UnsupportedAlgorithm(_) => "TOKEN_ALGORITHM",
            TokenError::UnknownKey(_) => "TOKEN_UNKNOWN_KEY",
            TokenError::BadSignature => "TOKEN_SIGNATURE",
            TokenError::Expired => "TOKEN_EXPIRED",
            TokenError::NotYetValid => "TOKEN_NOT_YET_VALID",
            TokenError::WrongIssuer => "TOKEN_ISSUER",
            TokenError::WrongAudience => "TOKEN_AUDIENCE",
            TokenError::InvalidClaims(_) => "TOKEN_CLAIMS",
            TokenError::KeysUnavailable(_) => "TOKEN_KEYS_UNAVAILABLE",
        }
    }
}

/// What a token must say to be accepted.
#[derive(Debug, Clone)]
pub struct TokenRules {
    pub issuer: String,
    pub audience: String,
    /// Tolerated clock difference between issuer and verifier.
    pub leeway: Duration,
}

/// Verifies bearer tokens against a key set.
pub struct TokenVerifier {
    keys: Arc<KeySet>,
    rules: TokenRules,
    verified: VerifiedTokens,
}

/// Longest token accepted, so a huge header costs nothing to refuse.
const MAX_TOKEN_BYTES: usize = 8 * 1024;

impl TokenVerifier {
    pub fn new(keys: Arc<KeySet>, rules: TokenRules) -> Self {
        Self {
            keys,
            rules,
            verified: VerifiedTokens::new(),
        }
    }

    pub fn rules(&self) -> &TokenRules {
        &self.rules
    }

    /// The caller a token stands for, or why it is refused. A token seen
    /// before is not verified again while it is within its lifetime and its
    /// key is still trusted.
    pub async fn verify(&self, token: &str) -> Result<Caller, TokenError> {
        let now = unix_seconds();
        if let Some(hit) = self.verified.get(token, now) {
            // Asking for the key keeps the set's refresh going and tells a
            // key withdrawn since.
            self.keys.key(&hit.kid).await?;
            if hit.generation == self.keys.generation() {
                return Ok(hit.caller);
            }
        }
        let generation = self.keys.generation();
        let (caller, kid, expires) = self.verify_signed(token).await?;
        let leeway = i64::try_from(self.rules.leeway.as_secs()).unwrap_or(i64::MAX);
        self.verified.insert(
            token,
            &caller,
            &kid,
            expires.saturating_add(leeway),
            generation,
        );
        Ok(caller)
    }

    /// Checks the signature and claims; the caller, the key's id and the
    /// token's expiry.
    async fn verify_signed(&self, token: &str) -> Result<(Caller, String, i64), TokenError> {
        if token.len() > MAX_TOKEN_BYTES {
            return Err(TokenError::Malformed(format!(
                "longer than {MAX_TOKEN_BYTES} bytes"
            )));
        }
        let header =
            jsonwebtoken::decode_header(token).map_err(|e| TokenError::Malformed(e.to_string()))?;
        if !matches!(header.alg, Algorithm::EdDSA | Algorithm::ES256) {
            return Err(TokenError::UnsupportedAlgorithm(format!(
                "{:?}",
                header.alg
            )));
        }
        let kid = header
            .kid
            .ok_or_else(|| TokenError::Malformed("the header names no key (kid)".into()))?;
        let key = self.keys.key(&kid).await?;
        if key.algorithm != header.alg {
            return Err(TokenError::BadSignature);
        }
        let mut validation = Validation::new(header.alg);
        validation.set_issuer(&[&self.rules.issuer]);
        validation.set_audience(&[&self.rules.audience]);
        validation.set_required_spec_claims(&["exp", "nbf", "iss", "sub", "aud"]);
        validation.validate_nbf = true;
        validation.leeway = self.rules.leeway.as_secs();
        let data = jsonwebtoken::decode::<Claims>(token, &key.decoding, &validation).map_err(
            |e| match e.kind() {
                ErrorKind::ExpiredSignature => TokenError::Expired,
                ErrorKind::ImmatureSignature => TokenError::NotYetValid,
                ErrorKind::InvalidIssuer => TokenError::WrongIssuer,
                ErrorKind::InvalidAudience => TokenError::WrongAudience,
                ErrorKind::InvalidSignature => TokenError::BadSignature,
                ErrorKind::MissingRequiredClaim(claim) => {
                    TokenError::InvalidClaims(format!("`{claim}` is missing"))
                }
                ErrorKind::Json(e) => TokenError::InvalidClaims(e.to_string()),
                _ => TokenError::Malformed(e.to_string()),
            },
        )?;
        let expires = data.claims.exp;
        Ok((caller_from(data.claims)?, kid, expires))
    }
}

fn unix_seconds() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| {
            i64::try_from(elapsed.as_secs()).unwrap_or(i64::MAX)
        })
}

fn caller_from(claims: Claims) -> Result<Caller, TokenError> {
    if claims.sub.is_empty() || claims.sub.len() > 256 {
        return Err(TokenError::InvalidClaims(
            "`sub` must be 1..256 characters".into(),
        ));
    }
    let tenant = TenantId::parse(&claims.tenant.division, &claims.tenant.department)
        .map_err(|e| TokenError::InvalidClaims(format!("tenant: {e}")))?;
    // Unknown role names belong to other systems sharing the identity
    // provider; they grant nothing here.
    let roles: BTreeSet<Role> = claims.roles.iter().filter_map(|r| r.parse().ok()).collect();
    let cross_tenant_read = claims
        .cross_tenant_read
        .iter()
        .map(|code| DivisionCode::parse(code))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| TokenError::InvalidClaims(format!("cross_tenant_read: {e}")))?;
    Ok(Caller {
        subject: claims.sub,
        tenant,
        roles,
        cross_tenant_read,
        token_id: claims.jti,
        peer: None,
    })
}
