//! The keys tokens are verified with: a JWKS read from a file (a mounted
//! ConfigMap or Secret) or fetched from a URL (the identity provider).
//!
//! Rotation works without restarts: the set is re-read periodically, and at
//! once (at most once a second) when a token names a key it does not hold,
//! so a newly published key is accepted from its first token. When a reload
//! fails the keys already held stay in use.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, JwkSet, KeyAlgorithm};
use jsonwebtoken::{Algorithm, DecodingKey};
use tokio::sync::{Mutex, RwLock};
use tokio::time::Instant;

use super::token::TokenError;

/// Where the key set comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JwksSource {
    File(PathBuf),
    Url(String),
}

impl JwksSource {
    /// `http(s)://…` is a URL; anything else a file path.
    pub fn parse(value: &str) -> Self {
        if value.starts_with("http://") || value.starts_with("https://") {
            Self::Url(value.to_string())
        } else {
            Self::File(PathBuf::from(
                value.strip_prefix("file://").unwrap_or(value),
            ))
        }
    }
}

impl std::fmt::Display for JwksSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            JwksSource::File(path) => write!(f, "{}", path.display()),
            JwksSource::Url(url) => f.write_str(url),
        }
    }
}

/// Why a key set could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum JwksError {
    #[error("cannot read the key set {source_name}: {reason}")]
    Read { source_name: String, reason: String },
    #[error("the key set {source_name} is not a JWKS: {reason}")]
    Parse { source_name: String, reason: String },
    #[error("the key set {0} holds no usable EdDSA or ES256 key with a `kid`")]
    Empty(String),
}

/// One verification key.
#[derive(Clone)]
pub struct VerificationKey {
    pub algorithm: Algorithm,
    pub decoding: DecodingKey,
}

struct Loaded {
    keys: HashMap<String, VerificationKey>,
    at: Instant,
}

/// The trusted keys, kept fresh.
pub struct KeySet {
    source: JwksSource,
    refresh_every: Duration,
    loaded: RwLock<Loaded>,
    last_forced: Mutex<Option<Instant>>,
    /// Moves on with every reload that changed the keys, so what was
    /// verified against the old ones is verified again.
    generation: AtomicU64,
}

/// Shortest gap between reloads caused by unknown key ids, so a stream of
/// forged `kid`s cannot hammer the identity provider.
const MIN_FORCED_RELOAD_GAP: Duration = Duration::from_secs(1);

impl KeySet {
    /// Loads the set once; refuses to start without usable keys.
    pub async fn load(source: JwksSource, refresh_every: Duration) -> Result<Self, JwksError> {
        let keys = read_keys(&source).await?;
        Ok(Self {
            source,
            refresh_every,
            loaded: RwLock::new(Loaded {
                keys,
                at: Instant::now(),
            }),
            last_forced: Mutex::new(None),
            generation: AtomicU64::new(0),
        })
    }

    /// Which keys are loaded: it changes whenever a reload changes them.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    pub fn source(&self) -> &JwksSource {
        &self.source
    }

    /// The key named `kid`, reloading the set when it is stale or lacks it.
    pub async fn key(&self, kid: &str) -> Result<VerificationKey, TokenError> {
        let stale = {
            let loaded = self.loaded.read().await;
            if let Some(key) = loaded.keys.get(kid)
                && loaded.at.elapsed() < self.refresh_every
            {
                return Ok(key.clone());
            }
            loaded.at.elapsed() >= self.refresh_every
        };
        let may_force = {
            let mut last = self.last_forced.lock().await;
            let allowed = last.is_none_or(|at| at.elapsed() >= MIN_FORCED_RELOAD_GAP);
            if allowed || stale {
                *last = Some(Instant::now());
            }
            allowed || stale
        };
        if may_force {
            self.reload().await;
        }
        self.loaded
            .read()
            .await
            .keys
            .get(kid)
            .cloned()
            .ok_or_else(|| TokenError::UnknownKey(kid.chars().take(64).collect()))
    }

    /// Re-reads the set; on failure keeps the keys held (and says so).
    pub async fn reload(&self) {
        match read_keys(&self.source).await {
            Ok(keys) => {
                let mut loaded = self.loaded.write().await;
                if keys.len() != loaded.keys.len()
                    || !keys.keys().all(|k| loaded.keys.contains_key(k))
                {
                    tracing::info!(source = %self.source, keys = keys.len(), "token keys changed");
                }
                // Key material may change under the same ids: any reload
                // that read keys counts as a change.
                self.generation.fetch_add(1, Ordering::AcqRel);
                *loaded = Loaded {
                    keys,
                    at: Instant::now(),
                };
            }
            Err(error) => {
                tracing::warn!(%error, "cannot reload token keys; keeping the ones held");
                self.loaded.write().await.at = Instant::now();
            }
        }
    }
}

async fn read_keys(source: &JwksSource) -> Result<HashMap<String, VerificationKey>, JwksError> {
    let name = source.to_string();
    let bytes = match source {
        JwksSource::File(path) => tokio::fs::read(path).await.map_err(|e| JwksError::Read {
            source_name: name.clone(),
            reason: e.to_string(),
        })?,
        JwksSource::Url(url) => super::fetch::get(url)
            .await
            .map_err(|reason| JwksError::Read {
                source_name: name.clone(),
                reason,
            })?,
    };
    let set: JwkSet = serde_json::from_slice(&bytes).map_err(|e| JwksError::Parse {
        source_name: name.clone(),
        reason: e.to_string(),
    })?;
    let keys: HashMap<_, _> = set.keys.iter().filter_map(usable_key).collect();
    if keys.is_empty() {
        return Err(JwksError::Empty(name));
    }
    Ok(keys)
}

/// A JWK the platform verifies with: EdDSA over Ed25519 or ES256, with a kid.
fn usable_key(jwk: &Jwk) -> Option<(String, VerificationKey)> {
    let kid = jwk.common.key_id.clone()?;
    let algorithm = match &jwk.algorithm {
        AlgorithmParameters::OctetKeyPair(p) if p.curve == EllipticCurve::Ed25519 => {
            Algorithm::EdDSA
        }
        AlgorithmParameters::EllipticCurve(p) if p.curve == EllipticCurve::P256 => Algorithm::ES256,
        _ => return None,
    };
    if let Some(declared) = jwk.common.key_algorithm {
        let agrees = matches!(
            (declared, algorithm),
            (KeyAlgorithm::EdDSA, Algorithm::EdDSA) | (KeyAlgorithm::ES256, Algorithm::ES256)
        );
        if !agrees {
            return None;
        }
    }
    let decoding = DecodingKey::from_jwk(jwk).ok()?;
    Some((
        kid,
        VerificationKey {
            algorithm,
            decoding,
        },
    ))
}
