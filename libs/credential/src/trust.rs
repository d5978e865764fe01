//! The trust list: which issuers exist, which keys they sign with, which
//! certificate types each may issue, and the platform's code-signing keys.
//! The platform signs it (typ `zt-trust+jwt`); verifiers pin the platform
//! anchor keys and refresh the list before `next_update`.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::batch::BatchKey;
use crate::jws::{CompactJws, sign_compact};
use crate::{FormatError, KeyError, PublicKey, SigningKey};

/// The JWS `typ` of a signed trust list.
pub const TRUST_LIST_TYP: &str = "zt-trust+jwt";

/// The largest signed trust list accepted (thousands of issuers fit).
pub const MAX_TRUST_LIST_BYTES: usize = 4 * 1024 * 1024;

/// An issuer's key as a verifier trusts it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustedKey {
    pub key_id: String,
    pub issuer_id: String,
    pub public_key: PublicKey,
    /// The certificate type codes this key's issuer may issue.
    pub certificate_types: Vec<String>,
    /// Certificates signed by this key verify until then; `None` = no limit.
    pub verify_until: Option<DateTime<Utc>>,
}

/// The keys a verifier trusts, looked up by `kid`.
#[derive(Debug, Clone, Default)]
pub struct TrustStore {
    version: i64,
    issuer_keys: HashMap<String, (TrustedKey, BatchKey)>,
    platform_keys: HashMap<String, (PublicKey, BatchKey)>,
}

impl TrustStore {
    /// A store of `issuer_keys` and `platform_keys` (`(kid, key)`); of two
    /// keys with the same kid the later one is kept.
    pub fn new(
        version: i64,
        issuer_keys: Vec<TrustedKey>,
        platform_keys: Vec<(String, PublicKey)>,
    ) -> Self {
        Self {
            version,
            issuer_keys: issuer_keys
                .into_iter()
                .map(|key| (key.key_id.clone(), (key, BatchKey::default())))
                .collect(),
            platform_keys: platform_keys
                .into_iter()
                .map(|(kid, key)| (kid, (key, BatchKey::default())))
                .collect(),
        }
    }

    /// The version of the trust list this store was made from.
    pub fn version(&self) -> i64 {
        self.version
    }

    pub fn issuer_key(&self, kid: &str) -> Option<&TrustedKey> {
        self.issuer_entry(kid).map(|(key, _)| key)
    }

    pub fn platform_key(&self, kid: &str) -> Option<&PublicKey> {
        self.platform_entry(kid).map(|(key, _)| key)
    }

    pub fn issuer_keys(&self) -> impl Iterator<Item = &TrustedKey> {
        self.issuer_keys.values().map(|(key, _)| key)
    }

    pub(crate) fn issuer_entry(&self, kid: &str) -> Option<(&TrustedKey, &BatchKey)> {
        self.issuer_keys.get(kid).map(|(key, batch)| (key, batch))
    }

    pub(crate) fn platform_entry(&self, kid: &str) -> Option<(&PublicKey, &BatchKey)> {
        self.platform_keys.get(kid).map(|(key, batch)| (key, batch))
    }
}

/// Why a signed trust list was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TrustListError {
    #[error("the trust list is not readable: {0}")]
    Format(#[from] FormatError),
    #[error("the trust list is signed by key {kid:?}, which is not a pinned anchor")]
    UnknownAnchor { kid: String },
    #[error("the trust list's signature does not match anchor {kid:?}")]
    SignatureInvalid { kid: String },
    #[error("key {kid:?} in the trust list is unusable: {source}")]
    BadKey { kid: String, source: KeyError },
    #[error("key {kid:?} has a verify_until of {verify_until} seconds, outside the calendar")]
    BadTime { kid: String, verify_until: i64 },
    #[error("key id {kid:?} appears more than once in the trust list")]
    DuplicateKeyId { kid: String },
}

/// The signed trust list document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrustListDocument {
    /// Increases with every change; verifiers keep the highest seen.
    pub version: i64,
    /// Signed at, seconds since the epoch.
    pub iat: i64,
    /// Fetch a newer list by then (seconds since the epoch).
    pub next_update: i64,
    pub issuers: Vec<TrustListIssuer>,
    /// The platform keys presentation codes are signed with.
    pub platform_keys: Vec<TrustListKey>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrustListIssuer {
    pub id: String,
    pub name: String,
    /// The issuing department, `<division>/<department>`, e.g. `331100/market-regulation`.
    pub tenant: String,
    pub certificate_types: Vec<String>,
    pub keys: Vec<TrustListKey>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrustListKey {
    pub kid: String,
    /// The Ed25519 public key, unpadded base64url (as a JWK's `x`).
    pub x: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verify_until: Option<i64>,
}

impl TrustListDocument {
    /// The compact JWS of this document, signed by the platform key.
    pub fn sign(&self, platform_key: &SigningKey) -> String {
        sign_compact(platform_key, TRUST_LIST_TYP, self)
    }

    /// Reads a signed trust list, accepting only a signature by one of the
    /// pinned `anchors` (`(kid, key)`).
    pub fn open(
        signed: &str,
        anchors: &[(String, PublicKey)],
    ) -> Result<TrustListDocument, TrustListError> {
        let jws = CompactJws::parse_owned(signed.trim().to_owned(), MAX_TRUST_LIST_BYTES)?;
        jws.require_type(TRUST_LIST_TYP)?;
        let kid = &jws.header().kid;
        let (_, anchor) = anchors
            .iter()
            .find(|(anchor_kid, _)| anchor_kid == kid)
            .ok_or_else(|| TrustListError::UnknownAnchor { kid: kid.clone() })?;
        if !jws.verify(anchor) {
            return Err(TrustListError::SignatureInvalid { kid: kid.clone() });
        }
        Ok(jws.payload_json()?)
    }

    /// The verifier's store for this list; every key must be a valid
    /// Ed25519 key and every kid unique.
    pub fn to_store(&self) -> Result<TrustStore, TrustListError> {
        let mut issuer_keys = HashMap::new();
        for issuer in &self.issuers {
            for key in &issuer.keys {
                let trusted = TrustedKey {
                    key_id: key.kid.clone(),
                    issuer_id: issuer.id.clone(),
                    public_key: decode_key(key)?,
                    certificate_types: issuer.certificate_types.clone(),
                    verify_until: key
                        .verify_until
                        .map(|at| timestamp(&key.kid, at))
                        .transpose()?,
                };
                if issuer_keys
                    .insert(key.kid.clone(), (trusted, BatchKey::default()))
                    .is_some()
                {
                    return Err(TrustListError::DuplicateKeyId {
                        kid: key.kid.clone(),
                    });
                }
            }
        }
        let mut platform_keys = HashMap::new();
        for key in &self.platform_keys {
            if platform_keys
                .insert(key.kid.clone(), (decode_key(key)?, BatchKey::default()))
                .is_some()
            {
                return Err(TrustListError::DuplicateKeyId {
                    kid: key.kid.clone(),
                });
            }
        }
        Ok(TrustStore {
            version: self.version,
            issuer_keys,
            platform_keys,
        })
    }

    /// A JWK Set of every issuer and platform key, for standard JOSE/JWT
    /// libraries: `{"keys":[{"kty":"OKP","crv":"Ed25519","x":..,"kid":..,"alg":"EdDSA","use":"sig"}]}`.
    pub fn jwks(&self) -> String {
        let keys: Vec<serde_json::Value> = self
            .issuers
            .iter()
            .flat_map(|issuer| issuer.keys.iter())
            .chain(&self.platform_keys)
            .map(|key| {
                serde_json::json!({
                    "kty": "OKP", "crv": "Ed25519", "x": key.x, "kid": key.kid,
                    "alg": "EdDSA", "use": "sig",
                })
            })
            .collect();
        serde_json::json!({ "keys": keys }).to_string()
    }
}

fn decode_key(key: &TrustListKey) -> Result<PublicKey, TrustListError> {
    PublicKey::from_base64url(&key.x).map_err(|source| TrustListError::BadKey {
        kid: key.kid.clone(),
        source,
    })
}

fn timestamp(kid: &str, seconds: i64) -> Result<DateTime<Utc>, TrustListError> {
    DateTime::from_timestamp(seconds, 0).ok_or_else(|| TrustListError::BadTime {
        kid: kid.to_owned(),
        verify_until: seconds,
    })
}
