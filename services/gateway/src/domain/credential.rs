//! App credentials: a public app key naming the app in signed requests and
//! a secret only the app and the gateway know.

use std::time::Duration;

use base64::Engine as _;
use chrono::{DateTime, Utc};
use ring::rand::{SecureRandom, SystemRandom};
use uuid::Uuid;
use zhongtai_credential::KeySealer;

/// Prefix of every app key, so a key is recognisable in logs and headers.
pub const APP_KEY_PREFIX: &str = "ztk_";

/// Stored lifecycle of a credential.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CredentialState {
    Active,
    /// Replaced by a rotation; accepted until `expires_at`.
    Rotating,
    /// Refused. Final.
    Revoked,
    /// Past `expires_at`. Final. (Also derived: see [`Credential::state_at`].)
    Expired,
}

impl CredentialState {
    pub const ALL: [Self; 4] = [Self::Active, Self::Rotating, Self::Revoked, Self::Expired];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Rotating => "rotating",
            Self::Revoked => "revoked",
            Self::Expired => "expired",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == name)
    }
}

/// A credential as stored and listed (never with its secret).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credential {
    /// `ztk_` + 32 hex characters.
    pub app_key: String,
    pub app_id: Uuid,
    pub state: CredentialState,
    /// Last four characters of the secret.
    pub secret_hint: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub last_used_at: Option<DateTime<Utc>>,
}

impl Credential {
    /// The state at `now`: a credential past its expiry is Expired whatever
    /// was stored.
    pub fn state_at(&self, now: DateTime<Utc>) -> CredentialState {
        match self.state {
            CredentialState::Revoked | CredentialState::Expired => self.state,
            _ if self.expires_at.is_some_and(|at| at <= now) => CredentialState::Expired,
            state => state,
        }
    }

    /// Whether a request signed with it is accepted at `now`.
    pub fn accepts_at(&self, now: DateTime<Utc>) -> bool {
        matches!(
            self.state_at(now),
            CredentialState::Active | CredentialState::Rotating
        )
    }
}

/// A credential with its secret in the clear, as the front door verifies
/// signatures with it (loaded from the sealed form, never logged).
#[derive(Clone)]
pub struct SigningCredential {
    pub credential: Credential,
    pub secret: Vec<u8>,
}

impl std::fmt::Debug for SigningCredential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningCredential")
            .field("credential", &self.credential)
            .field("secret", &"<redacted>")
            .finish()
    }
}

/// Most credentials an app holds that are not revoked or expired.
pub const MAX_LIVE_CREDENTIALS: u64 = 10;
/// How long a rotated credential stays accepted when no grace is given.
pub const DEFAULT_GRACE: Duration = Duration::from_secs(24 * 3600);
/// Longest grace period of a rotation.
pub const MAX_GRACE: Duration = Duration::from_secs(30 * 24 * 3600);
/// Longest lifetime of an issued credential (ten years).
pub const MAX_VALIDITY: Duration = Duration::from_secs(3650 * 24 * 3600);
/// Longest revoke reason, in characters.
pub const MAX_REVOKE_REASON_CHARS: usize = 500;
const SECRET_BYTES: usize = 32;
const APP_KEY_RANDOM_BYTES: usize = 16;
const HINT_CHARS: usize = 4;

/// The system's random number generator failed; no credential is issued.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the system random number generator failed")]
pub struct RandomFailure;

/// A credential to store: its listed form and its sealed secret.
#[derive(Debug, Clone)]
pub struct NewCredential {
    pub credential: Credential,
    /// Nonce ‖ ciphertext ‖ tag, bound to the app key.
    pub sealed_secret: Vec<u8>,
}

/// A freshly issued credential and its secret, shown to the caller once.
pub struct IssuedCredential {
    pub stored: NewCredential,
    /// base64url without padding of 32 random bytes.
    pub secret: String,
}

/// Mints a credential for `app_id`: a random app key and secret, the secret
/// sealed under the app key, expiring at `expires_at` if given.
pub fn mint(
    app_id: Uuid,
    now: DateTime<Utc>,
    expires_at: Option<DateTime<Utc>>,
    sealer: &KeySealer,
) -> Result<IssuedCredential, RandomFailure> {
    let random = SystemRandom::new();
    let mut key_bytes = [0u8; APP_KEY_RANDOM_BYTES];
    random.fill(&mut key_bytes).map_err(|_| RandomFailure)?;
    let mut secret_bytes = [0u8; SECRET_BYTES];
    random.fill(&mut secret_bytes).map_err(|_| RandomFailure)?;
    let app_key = format!("{APP_KEY_PREFIX}{}", hex::encode(key_bytes));
    let secret = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(secret_bytes);
    let sealed_secret = sealer.seal(secret.as_bytes(), app_key.as_bytes());
    let credential = Credential {
        secret_hint: secret_hint(&secret),
        app_key,
        app_id,
        state: CredentialState::Active,
        created_at: now,
        expires_at,
        revoked_at: None,
        last_used_at: None,
    };
    Ok(IssuedCredential {
        stored: NewCredential {
            credential,
            sealed_secret,
        },
        secret,
    })
}

/// The secret as signatures are computed with it, opened from its sealed
/// form; `None` when it does not open (another key, or altered).
pub fn open_secret(sealer: &KeySealer, app_key: &str, sealed: &[u8]) -> Option<Vec<u8>> {
    sealer.open(sealed, app_key.as_bytes()).ok()
}

/// The last four characters of a secret.
pub fn secret_hint(secret: &str) -> String {
    let chars: Vec<char> = secret.chars().collect();
    chars[chars.len().saturating_sub(HINT_CHARS)..]
        .iter()
        .collect()
}

/// Whether `value` has the form of an app key (`ztk_` + 32 lowercase hex).
pub fn is_app_key(value: &str) -> bool {
    value.strip_prefix(APP_KEY_PREFIX).is_some_and(|hex| {
        hex.len() == APP_KEY_RANDOM_BYTES * 2
            && hex
                .chars()
                .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c))
    })
}

/// The grace period of a rotation: unset means [`DEFAULT_GRACE`]; at most
/// [`MAX_GRACE`].
pub fn grace_period(requested: Option<Duration>) -> Result<Duration, String> {
    match requested {
        None => Ok(DEFAULT_GRACE),
        Some(grace) if grace > MAX_GRACE => Err(format!(
            "must be at most 30 days, got {} s",
            grace.as_secs()
        )),
        Some(grace) => Ok(grace),
    }
}

/// The lifetime of an issued credential: unset means no expiry; otherwise
/// 1 s..[`MAX_VALIDITY`].
pub fn validity(requested: Option<Duration>) -> Result<Option<Duration>, String> {
    match requested {
        None => Ok(None),
        Some(validity) if validity < Duration::from_secs(1) => Err("must be at least 1 s".into()),
        Some(validity) if validity > MAX_VALIDITY => Err("must be at most 3650 days".into()),
        Some(validity) => Ok(Some(validity)),
    }
}

/// `now + duration`, or `None` beyond the calendar.
pub fn after(now: DateTime<Utc>, duration: Duration) -> Option<DateTime<Utc>> {
    chrono::Duration::from_std(duration)
        .ok()
        .and_then(|d| now.checked_add_signed(d))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minted_credentials_have_the_documented_shape() {
        let sealer = KeySealer::new(&[7; 32]).unwrap();
        let now = Utc::now();
        let issued = mint(Uuid::nil(), now, None, &sealer).unwrap();
        let credential = &issued.stored.credential;
        assert!(is_app_key(&credential.app_key), "{}", credential.app_key);
        assert_eq!(issued.secret.len(), 43, "256 bits unpadded base64url");
        assert!(!issued.secret.contains(['=', '+', '/']));
        assert!(issued.secret.ends_with(&credential.secret_hint));
        assert_eq!(credential.secret_hint.len(), 4);
        let opened = open_secret(&sealer, &credential.app_key, &issued.stored.sealed_secret);
        assert_eq!(opened.as_deref(), Some(issued.secret.as_bytes()));
        assert_eq!(
            open_secret(&sealer, "ztk_other", &issued.stored.sealed_secret),
            None
        );
        let again = mint(Uuid::nil(), now, None, &sealer).unwrap();
        assert_ne!(again.stored.credential.app_key, credential.app_key);
        assert_ne!(again.secret, issued.secret);
    }

    #[test]
    fn grace_and_validity_are_bounded() {
        assert_eq!(grace_period(None), Ok(DEFAULT_GRACE));
        assert_eq!(grace_period(Some(Duration::ZERO)), Ok(Duration::ZERO));
        assert!(grace_period(Some(MAX_GRACE + Duration::from_secs(1))).is_err());
        assert_eq!(validity(None), Ok(None));
        assert!(validity(Some(Duration::from_millis(10))).is_err());
        assert!(validity(Some(MAX_VALIDITY * 2)).is_err());
    }

    #[test]
    fn app_keys_are_recognised() {
        assert!(is_app_key("ztk_0123456789abcdef0123456789abcdef"));
        for bad in [
            "ztk_0123",
            "ztk_0123456789ABCDEF0123456789abcdef",
            "abc_0123456789abcdef0123456789abcdef",
        ] {
            assert!(!is_app_key(bad), "{bad}");
        }
    }

    fn credential(state: CredentialState, expires_in: Option<i64>) -> Credential {
        let now = Utc::now();
        Credential {
            app_key: "ztk_0".into(),
            app_id: Uuid::nil(),
            state,
            secret_hint: "abcd".into(),
            created_at: now,
            expires_at: expires_in.map(|s| now + chrono::Duration::seconds(s)),
            revoked_at: None,
            last_used_at: None,
        }
    }

    #[test]
    fn expiry_overrides_active_and_rotating() {
        let now = Utc::now();
        assert!(credential(CredentialState::Active, None).accepts_at(now));
        assert!(credential(CredentialState::Rotating, Some(60)).accepts_at(now));
        let lapsed = credential(CredentialState::Rotating, Some(-1));
        assert_eq!(lapsed.state_at(now), CredentialState::Expired);
        assert!(!lapsed.accepts_at(now));
        assert!(!credential(CredentialState::Revoked, None).accepts_at(now));
    }
}
