//! Signing keys: their lifecycle (ACTIVE → RETIRED → gone once nothing it
//! signed is valid; ACTIVE or RETIRED → REVOKED), their ids, and how a new
//! one is made: generated, its private half sealed with the key encryption
//! key under its key id, so a sealed key moved to another row does not open.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use uuid::Uuid;
use zhongtai_credential::{KeySealer, PublicKey, SigningKey};

use crate::shared::CertificateError;

/// Prefix of issuer key ids; every token header carries one, so they are
/// short: `ztk-` and 12 random lowercase hex digits.
pub const ISSUER_KEY_PREFIX: &str = "ztk-";
/// Prefix of platform key ids.
pub const PLATFORM_KEY_PREFIX: &str = "ztp-";
pub const MAX_REASON_CHARS: usize = 500;

/// Lifecycle of a signing key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyState {
    /// Signs new certificates; at most one per issuer.
    Active,
    /// Rotated out; verifies what it signed until `verify_until`.
    Retired,
    /// Withdrawn: verifies nothing any more.
    Revoked,
}

impl KeyState {
    pub const ALL: [Self; 3] = [Self::Active, Self::Retired, Self::Revoked];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Retired => "retired",
            Self::Revoked => "revoked",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|state| state.as_str() == name)
    }
}

/// A signing key as stored, public part only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyRecord {
    pub key_id: String,
    pub issuer_id: Uuid,
    pub public_key: PublicKey,
    pub state: KeyState,
    pub created_at: DateTime<Utc>,
    pub activated_at: DateTime<Utc>,
    pub retired_at: Option<DateTime<Utc>>,
    /// Retired keys: until when what they signed verifies; `None` while
    /// active, or when something they signed never expires.
    pub verify_until: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub revoke_reason: String,
}

impl KeyRecord {
    /// Whether verifiers should accept the key at `now`.
    pub fn trusted_at(&self, now: DateTime<Utc>) -> bool {
        match self.state {
            KeyState::Active => true,
            KeyState::Retired => self.verify_until.is_none_or(|until| until > now),
            KeyState::Revoked => false,
        }
    }

    /// The key rotated out at `now`, verifying until `verify_until`.
    pub fn retired(&self, now: DateTime<Utc>, verify_until: Option<DateTime<Utc>>) -> Self {
        Self {
            state: KeyState::Retired,
            retired_at: Some(now),
            verify_until,
            ..self.clone()
        }
    }

    /// The key revoked at `now`. A revoked active key also stops signing.
    pub fn revoked(&self, now: DateTime<Utc>, reason: &str) -> Self {
        Self {
            state: KeyState::Revoked,
            retired_at: self.retired_at.or(Some(now)),
            revoked_at: Some(now),
            revoke_reason: reason.to_string(),
            ..self.clone()
        }
    }
}

/// A key just made: its record, the sealed private key to store, and the
/// key itself, ready to sign.
pub struct NewKey {
    pub record: KeyRecord,
    pub sealed_private_key: Vec<u8>,
    pub signer: Arc<SigningKey>,
}

/// Makes an active key for `issuer_id`.
pub fn new_issuer_key(
    sealer: &KeySealer,
    issuer_id: Uuid,
    now: DateTime<Utc>,
) -> Result<NewKey, CertificateError> {
    let (signer, sealed_private_key) = generate(sealer, ISSUER_KEY_PREFIX)?;
    Ok(NewKey {
        record: KeyRecord {
            key_id: signer.key_id().to_string(),
            issuer_id,
            public_key: signer.public_key(),
            state: KeyState::Active,
            created_at: now,
            activated_at: now,
            retired_at: None,
            verify_until: None,
            revoked_at: None,
            revoke_reason: String::new(),
        },
        sealed_private_key,
        signer,
    })
}

/// The platform key as stored, public part only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlatformKeyRecord {
    pub key_id: String,
    pub public_key: PublicKey,
    pub created_at: DateTime<Utc>,
}

pub struct NewPlatformKey {
    pub record: PlatformKeyRecord,
    pub sealed_private_key: Vec<u8>,
    pub signer: Arc<SigningKey>,
}

pub fn new_platform_key(
    sealer: &KeySealer,
    now: DateTime<Utc>,
) -> Result<NewPlatformKey, CertificateError> {
    let (signer, sealed_private_key) = generate(sealer, PLATFORM_KEY_PREFIX)?;
    Ok(NewPlatformKey {
        record: PlatformKeyRecord {
            key_id: signer.key_id().to_string(),
            public_key: signer.public_key(),
            created_at: now,
        },
        sealed_private_key,
        signer,
    })
}

/// Opens a stored private key; the key id is the sealing context.
pub fn open_key(
    sealer: &KeySealer,
    key_id: &str,
    sealed: &[u8],
) -> Result<Arc<SigningKey>, CertificateError> {
    let pkcs8 = zhongtai_credential::SecretBytes::new(
        sealer
            .open(sealed, key_id.as_bytes())
            .map_err(|e| CertificateError::Keys(format!("key {key_id}: {e}")))?,
    );
    let key = SigningKey::from_pkcs8(key_id, &pkcs8)
        .map_err(|e| CertificateError::Keys(format!("key {key_id}: {e}")))?;
    Ok(Arc::new(key))
}

fn generate(
    sealer: &KeySealer,
    prefix: &str,
) -> Result<(Arc<SigningKey>, Vec<u8>), CertificateError> {
    let key_id = new_key_id(prefix);
    let (signer, pkcs8) =
        SigningKey::generate(key_id.clone()).map_err(|e| CertificateError::Keys(e.to_string()))?;
    let sealed = sealer.seal(&pkcs8, key_id.as_bytes());
    Ok((Arc::new(signer), sealed))
}

/// `<prefix><12 random lowercase hex digits>` (48 random bits: ids are
/// unique by the primary key, and a clash only fails one insert).
pub fn new_key_id(prefix: &str) -> String {
    let random = Uuid::new_v4().simple().to_string();
    format!("{prefix}{}", &random[..12])
}

/// What the certificates a key signed say about how long it must verify.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LatestExpiry {
    /// It signed nothing.
    NothingSigned,
    /// Something it signed never expires.
    Never,
    /// The latest expiry of what it signed.
    At(DateTime<Utc>),
}

impl LatestExpiry {
    /// The retired key's `verify_until`: the latest expiry of what it
    /// signed, and never sooner than [`rotation_grace`] after retirement.
    pub fn verify_until(self, retired_at: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let at_least = retired_at + rotation_grace();
        match self {
            Self::NothingSigned => Some(at_least),
            Self::Never => None,
            Self::At(at) => Some(at.max(at_least)),
        }
    }
}

/// How long a retired key verifies at least: a certificate signed moments
/// before the rotation may still be on its way into storage, and verifiers
/// holding the previous trust list fetch the next one within this.
pub fn rotation_grace() -> chrono::Duration {
    super::trust_list::freshness()
}

#[cfg(test)]
mod tests {
    use chrono::Duration;

    use super::*;

    fn sealer() -> KeySealer {
        KeySealer::new(&[7; 32]).unwrap()
    }

    #[test]
    fn key_ids_are_short_prefixed_hex() {
        let id = new_key_id(ISSUER_KEY_PREFIX);
        assert_eq!(id.len(), 16);
        assert!(id.starts_with("ztk-"));
        assert!(
            id[4..]
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        );
        assert_ne!(new_key_id("ztk-"), new_key_id("ztk-"));
    }

    #[test]
    fn a_new_key_is_sealed_under_its_id() {
        let now = Utc::now();
        let key = new_issuer_key(&sealer(), Uuid::nil(), now).unwrap();
        assert_eq!(key.record.state, KeyState::Active);
        let opened = open_key(&sealer(), &key.record.key_id, &key.sealed_private_key).unwrap();
        assert_eq!(opened.public_key(), key.record.public_key);
        assert!(open_key(&sealer(), "ztk-000000000000", &key.sealed_private_key).is_err());
        let other = KeySealer::new(&[8; 32]).unwrap();
        assert!(open_key(&other, &key.record.key_id, &key.sealed_private_key).is_err());
    }

    #[test]
    fn retired_keys_verify_until_their_last_certificate_expires() {
        let now = Utc::now();
        let key = new_issuer_key(&sealer(), Uuid::nil(), now).unwrap().record;
        assert!(key.trusted_at(now + Duration::days(10_000)));
        let later = now + Duration::days(30);
        let retired = key.retired(now, LatestExpiry::At(later).verify_until(now));
        assert!(retired.trusted_at(now + Duration::days(29)));
        assert!(!retired.trusted_at(later));
        let forever = key.retired(now, LatestExpiry::Never.verify_until(now));
        assert!(forever.trusted_at(now + Duration::days(100_000)));
        let grace = now + rotation_grace();
        assert_eq!(LatestExpiry::NothingSigned.verify_until(now), Some(grace));
        assert_eq!(LatestExpiry::At(now).verify_until(now), Some(grace));
        let revoked = key.revoked(now, "leaked");
        assert!(!revoked.trusted_at(now));
        assert_eq!(revoked.retired_at, Some(now));
        for state in KeyState::ALL {
            assert_eq!(KeyState::from_name(state.as_str()), Some(state));
        }
    }
}
