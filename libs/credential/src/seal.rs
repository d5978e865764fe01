//! Private keys encrypted at rest (ChaCha20-Poly1305) under a key from
//! configuration, so a database dump alone signs nothing.

use base64::Engine as _;
use ring::aead::{Aad, CHACHA20_POLY1305, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use ring::rand::{SecureRandom, SystemRandom};

use crate::encoding::{LENIENT_STANDARD, LENIENT_URL_SAFE};

/// Length of a sealing key.
pub const SEALING_KEY_BYTES: usize = 32;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SealError {
    #[error("a sealing key is exactly 32 bytes, got {actual}")]
    KeyLength { actual: usize },
    #[error("the sealing key is not base64 (standard or url-safe) text")]
    KeyEncoding,
    #[error("the sealed data is too short to hold a nonce and a tag")]
    TooShort,
    #[error("the sealed data does not open: another sealing key, another context, or altered")]
    OpenFailed,
}

/// Seals and opens secrets with one 32-byte key. The sealed form is a
/// random 12-byte nonce followed by the ciphertext and its 16-byte tag; the
/// context (e.g. the key id) is bound as associated data, so a sealed
/// secret moved to another row does not open there.
pub struct KeySealer {
    key: LessSafeKey,
    random: SystemRandom,
}

impl KeySealer {
    pub fn new(key: &[u8]) -> Result<Self, SealError> {
        if key.len() != SEALING_KEY_BYTES {
            return Err(SealError::KeyLength { actual: key.len() });
        }
        let unbound = UnboundKey::new(&CHACHA20_POLY1305, key)
            .map_err(|_| SealError::KeyLength { actual: key.len() })?;
        Ok(Self {
            key: LessSafeKey::new(unbound),
            random: SystemRandom::new(),
        })
    }

    /// Reads the key from base64 of 32 bytes, either alphabet, padded or not
    /// (surrounding whitespace ignored).
    pub fn from_base64(text: &str) -> Result<Self, SealError> {
        let text = text.trim();
        let key = LENIENT_STANDARD
            .decode(text)
            .or_else(|_| LENIENT_URL_SAFE.decode(text))
            .map_err(|_| SealError::KeyEncoding)?;
        let sealer = Self::new(&key);
        drop(crate::keys::SecretBytes::new(key));
        sealer
    }

    /// Encrypts `plaintext` bound to `context`.
    ///
    /// # Panics
    /// Only if the operating system's random number generator fails: a
    /// nonce must never repeat, so there is no fallback.
    pub fn seal(&self, plaintext: &[u8], context: &[u8]) -> Vec<u8> {
        let mut nonce = [0u8; NONCE_LEN];
        self.random
            .fill(&mut nonce)
            .expect("the system random number generator failed");
        let mut sealed =
            Vec::with_capacity(NONCE_LEN + plaintext.len() + CHACHA20_POLY1305.tag_len());
        sealed.extend_from_slice(&nonce);
        sealed.extend_from_slice(plaintext);
        let tag = self
            .key
            .seal_in_place_separate_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(context),
                &mut sealed[NONCE_LEN..],
            )
            .expect("ChaCha20-Poly1305 seals up to 256 GiB");
        sealed.extend_from_slice(tag.as_ref());
        sealed
    }

    /// Decrypts what [`seal`](Self::seal) made with the same key and context.
    pub fn open(&self, sealed: &[u8], context: &[u8]) -> Result<Vec<u8>, SealError> {
        if sealed.len() < NONCE_LEN + CHACHA20_POLY1305.tag_len() {
            return Err(SealError::TooShort);
        }
        let (nonce, body) = sealed.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| SealError::TooShort)?;
        let mut body = body.to_vec();
        let plaintext_len = self
            .key
            .open_in_place(nonce, Aad::from(context), &mut body)
            .map_err(|_| SealError::OpenFailed)?
            .len();
        body.truncate(plaintext_len);
        Ok(body)
    }
}

impl std::fmt::Debug for KeySealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("KeySealer(redacted)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: [u8; 32] = [42; 32];

    #[test]
    fn sealed_secrets_open_with_the_same_key_and_context() {
        let sealer = KeySealer::new(&KEY).unwrap();
        let sealed = sealer.seal(b"pkcs8 document", b"kid-1");
        assert_eq!(sealed.len(), 12 + 14 + 16);
        assert!(!sealed.windows(5).any(|w| w == b"pkcs8"));
        assert_eq!(sealer.open(&sealed, b"kid-1").unwrap(), b"pkcs8 document");
        assert_ne!(
            sealer.seal(b"pkcs8 document", b"kid-1"),
            sealed,
            "nonces are random"
        );
        assert_eq!(sealer.open(&sealer.seal(b"", b""), b"").unwrap(), b"");
    }

    #[test]
    fn wrong_key_context_or_tampering_does_not_open() {
        let sealer = KeySealer::new(&KEY).unwrap();
        let sealed = sealer.seal(b"secret", b"kid-1");
        let other = KeySealer::new(&[43; 32]).unwrap();
        assert_eq!(other.open(&sealed, b"kid-1"), Err(SealError::OpenFailed));
        assert_eq!(sealer.open(&sealed, b"kid-2"), Err(SealError::OpenFailed));
        for position in [0, 12, sealed.len() - 1] {
            let mut tampered = sealed.clone();
            tampered[position] ^= 1;
            assert_eq!(sealer.open(&tampered, b"kid-1"), Err(SealError::OpenFailed));
        }
        assert_eq!(
            sealer.open(&sealed[..27], b"kid-1"),
            Err(SealError::TooShort)
        );
    }

    #[test]
    fn keys_are_read_from_either_base64_alphabet() {
        let bytes: Vec<u8> = (0..32u8)
            .map(|b| b.wrapping_mul(37).wrapping_add(250))
            .collect();
        let standard = base64::engine::general_purpose::STANDARD.encode(&bytes);
        let url_safe = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&bytes);
        assert!(standard.contains(['+', '/']) || url_safe.contains(['-', '_']));
        let sealed = KeySealer::new(&bytes).unwrap().seal(b"x", b"c");
        for text in [standard.clone(), url_safe, format!("  {standard}\n")] {
            assert_eq!(
                KeySealer::from_base64(&text)
                    .unwrap()
                    .open(&sealed, b"c")
                    .unwrap(),
                b"x"
            );
        }
        assert_eq!(
            KeySealer::from_base64("c2hvcnQ=").err(),
            Some(SealError::KeyLength { actual: 5 })
        );
        assert_eq!(
            KeySealer::from_base64("not base64!").err(),
            Some(SealError::KeyEncoding)
        );
        assert_eq!(
            KeySealer::new(&[0; 31]).err(),
            Some(SealError::KeyLength { actual: 31 })
        );
        assert_eq!(
            format!("{:?}", KeySealer::new(&KEY).unwrap()),
            "KeySealer(redacted)"
        );
    }
}
