//! The development token issuer of the embedded platform: an Ed25519 key
//! created in the data folder, its public JWKS beside it, and `issue` for
//! `zhongtai token issue`. Production verifies tokens from a real identity
//! provider instead; a process running with this issuer says so loudly.

use std::path::{Path, PathBuf};
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use jsonwebtoken::jwk::{Jwk, JwkSet, KeyAlgorithm};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde::{Deserialize, Serialize};

use super::caller::Role;
use super::token::{Claims, TenantClaim, TokenRules};
use crate::tenant::TenantId;

/// `iss` of development tokens.
pub const DEV_ISSUER: &str = "zhongtai-dev";
/// `aud` every Zhongtai service expects by default.
pub const DEFAULT_AUDIENCE: &str = "zhongtai";

const KEY_FILE: &str = "dev-issuer.json";
const JWKS_FILE: &str = "dev-jwks.json";

/// Why the development issuer is unusable.
#[derive(Debug, thiserror::Error)]
pub enum DevIssuerError {
    #[error("cannot read or write {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} is damaged ({reason}); delete it to create a new development key")]
    Damaged { path: PathBuf, reason: String },
    #[error("cannot create a signing key: {0}")]
    Generate(String),
    #[error("cannot sign the token: {0}")]
    Sign(String),
}

#[derive(Serialize, Deserialize)]
struct StoredKey {
    kid: String,
    /// PKCS#8 DER of the Ed25519 private key, base64.
    pkcs8: String,
}

/// Signs development tokens.
pub struct DevIssuer {
    kid: String,
    key: EncodingKey,
    pkcs8_base64: String,
}

impl DevIssuer {
    /// The issuer whose key lives in `dir`, created on first use.
    pub fn load_or_create(dir: &Path) -> Result<Self, DevIssuerError> {
        let path = dir.join(KEY_FILE);
        let stored = match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice::<StoredKey>(&bytes).map_err(|e| {
                DevIssuerError::Damaged {
                    path: path.clone(),
                    reason: e.to_string(),
                }
            })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => create_key(dir, &path)?,
            Err(source) => return Err(DevIssuerError::Io { path, source }),
        };
        let der = STANDARD
            .decode(&stored.pkcs8)
            .map_err(|e| DevIssuerError::Damaged {
                path: path.clone(),
                reason: e.to_string(),
            })?;
        let issuer = Self {
            kid: stored.kid,
            key: EncodingKey::from_ed_der(&der),
            pkcs8_base64: stored.pkcs8,
        };
        issuer.write_jwks(dir)?;
        Ok(issuer)
    }

    /// Where the public keys of the issuer in `dir` are published.
    pub fn jwks_path(dir: &Path) -> PathBuf {
        dir.join(JWKS_FILE)
    }

    /// What services verifying development tokens expect.
    pub fn rules() -> TokenRules {
        TokenRules {
            issuer: DEV_ISSUER.into(),
            audience: DEFAULT_AUDIENCE.into(),
            leeway: Duration::from_secs(60),
        }
    }

    pub fn key_id(&self) -> &str {
        &self.kid
    }

    /// The private key as base64 PKCS#8, for a development gateway that
    /// signs its calls on apps' behalf with the key the services trust.
    pub fn pkcs8_base64(&self) -> &str {
        &self.pkcs8_base64
    }

    /// Claims for `subject` acting for `tenant` with `roles`, valid from now
    /// for `ttl`.
    pub fn claims(
        &self,
        subject: &str,
        tenant: &TenantId,
        roles: &[Role],
        ttl: Duration,
    ) -> Claims {
        let now = chrono::Utc::now().timestamp();
        Claims {
            iss: DEV_ISSUER.into(),
            sub: subject.into(),
            aud: DEFAULT_AUDIENCE.into(),
            exp: now.saturating_add(i64::try_from(ttl.as_secs()).unwrap_or(i64::MAX)),
            nbf: now,
            iat: now,
            jti: Some(uuid::Uuid::new_v4().to_string()),
            tenant: TenantClaim {
                division: tenant.division.to_string(),
                department: tenant.department.clone().unwrap_or_default(),
            },
            roles: roles.iter().map(|r| r.as_str().to_string()).collect(),
            cross_tenant_read: Vec::new(),
        }
    }

    /// A signed compact JWT carrying `claims`.
    pub fn sign(&self, claims: &Claims) -> Result<String, DevIssuerError> {
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(self.kid.clone());
        jsonwebtoken::encode(&header, claims, &self.key)
            .map_err(|e| DevIssuerError::Sign(e.to_string()))
    }

    /// Shorthand for [`claims`](Self::claims) then [`sign`](Self::sign).
    pub fn issue(
        &self,
        subject: &str,
        tenant: &TenantId,
        roles: &[Role],
        ttl: Duration,
    ) -> Result<String, DevIssuerError> {
        self.sign(&self.claims(subject, tenant, roles, ttl))
    }

    fn write_jwks(&self, dir: &Path) -> Result<(), DevIssuerError> {
        let mut jwk = Jwk::from_encoding_key(&self.key, Algorithm::EdDSA)
            .map_err(|e| DevIssuerError::Generate(e.to_string()))?;
        jwk.common.key_id = Some(self.kid.clone());
        jwk.common.key_algorithm = Some(KeyAlgorithm::EdDSA);
        let set = JwkSet { keys: vec![jwk] };
        let path = Self::jwks_path(dir);
        let json =
            serde_json::to_vec_pretty(&set).map_err(|e| DevIssuerError::Generate(e.to_string()))?;
        write_atomically(&path, &json, false)
    }
}

fn create_key(dir: &Path, path: &Path) -> Result<StoredKey, DevIssuerError> {
    let mut seed = [0u8; 32];
    ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut seed)
        .map_err(|_| DevIssuerError::Generate("the system has no secure randomness".into()))?;
    let stored = StoredKey {
        kid: format!("dev-{}", &uuid::Uuid::new_v4().simple().to_string()[..12]),
        pkcs8: STANDARD.encode(ed25519_pkcs8_v1(&seed)),
    };
    std::fs::create_dir_all(dir).map_err(|source| DevIssuerError::Io {
        path: dir.to_path_buf(),
        source,
    })?;
    let json =
        serde_json::to_vec_pretty(&stored).map_err(|e| DevIssuerError::Generate(e.to_string()))?;
    write_atomically(path, &json, true)?;
    Ok(stored)
}

/// RFC 8410 `OneAsymmetricKey` v1 of an Ed25519 seed: a fixed header (SEQUENCE,
/// version 0, the id-Ed25519 algorithm, an OCTET STRING wrapping the
/// 32-byte CurvePrivateKey) then the seed. The version-2 form other tools
/// write carries the public key too, which not every PKCS#8 reader accepts.
fn ed25519_pkcs8_v1(seed: &[u8; 32]) -> Vec<u8> {
    const HEADER: [u8; 16] = [
        0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04,
        0x20,
    ];
    let mut der = HEADER.to_vec();
    der.extend_from_slice(seed);
    der
}

/// Writes via a temporary file so a reader never sees half a key set;
/// private files are readable by their owner only.
fn write_atomically(path: &Path, bytes: &[u8], private: bool) -> Result<(), DevIssuerError> {
    let io = |source| DevIssuerError::Io {
        path: path.to_path_buf(),
        source,
    };
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, bytes).map_err(io)?;
    #[cfg(unix)]
    if private {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o600)).map_err(io)?;
    }
    #[cfg(not(unix))]
    let _ = private;
    std::fs::rename(&tmp, path).map_err(io)
}
