//! Ed25519 signing keys (private, held by the certificate center) and
//! public keys (in the trust list, held by every verifier).

use ring::rand::SystemRandom;
use ring::signature::{ED25519, Ed25519KeyPair, KeyPair, UnparsedPublicKey};

use crate::encoding::B64URL;
use base64::Engine as _;

/// Why a key could not be made or read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error("the private key is not an Ed25519 PKCS#8 document (or its public key does not match)")]
    InvalidPrivateKey,
    #[error("an Ed25519 public key is 32 bytes, got {actual}")]
    PublicKeyLength { actual: usize },
    #[error("the public key is not unpadded base64url text")]
    PublicKeyEncoding,
    #[error("the operating system's random number generator failed")]
    RandomUnavailable,
}

/// Secret bytes (a PKCS#8 private key document): never printed, overwritten
/// with zeros when dropped.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretBytes(Vec<u8>);

impl SecretBytes {
    pub fn new(bytes: Vec<u8>) -> Self {
        Self(bytes)
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

impl std::ops::Deref for SecretBytes {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        &self.0
    }
}

impl AsRef<[u8]> for SecretBytes {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

impl std::fmt::Debug for SecretBytes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SecretBytes({} bytes, redacted)", self.0.len())
    }
}

impl Drop for SecretBytes {
    fn drop(&mut self) {
        self.0.iter_mut().for_each(|byte| *byte = 0);
        // Keeps the zeroing from being optimised away as a dead store.
        std::hint::black_box(&mut self.0);
    }
}

/// An Ed25519 private key with the id (`kid`) tokens name it by.
pub struct SigningKey {
    key_id: String,
    pair: Ed25519KeyPair,
    public_key: PublicKey,
}

impl SigningKey {
    /// A new random key and its PKCS#8 v2 document, to be sealed
    /// ([`KeySealer`](crate::KeySealer)) and stored.
    pub fn generate(key_id: impl Into<String>) -> Result<(SigningKey, SecretBytes), KeyError> {
        let document = Ed25519KeyPair::generate_pkcs8(&SystemRandom::new())
            .map_err(|_| KeyError::RandomUnavailable)?;
        let pkcs8 = SecretBytes::new(document.as_ref().to_vec());
        let key = Self::from_pkcs8(key_id, &pkcs8)?;
        Ok((key, pkcs8))
    }

    /// Reads a PKCS#8 document (v2 as [`generate`](Self::generate) writes, or
    /// v1 as other tools do).
    pub fn from_pkcs8(key_id: impl Into<String>, pkcs8: &[u8]) -> Result<SigningKey, KeyError> {
        let pair = Ed25519KeyPair::from_pkcs8(pkcs8)
            .or_else(|_| Ed25519KeyPair::from_pkcs8_maybe_unchecked(pkcs8))
            .map_err(|_| KeyError::InvalidPrivateKey)?;
        let public_key = PublicKey::from_bytes(pair.public_key().as_ref())?;
        Ok(Self {
            key_id: key_id.into(),
            pair,
            public_key,
        })
    }

    pub fn key_id(&self) -> &str {
        &self.key_id
    }

    pub fn public_key(&self) -> PublicKey {
        self.public_key
    }

    /// The 64-byte Ed25519 signature of `message`.
    pub fn sign(&self, message: &[u8]) -> [u8; 64] {
        let mut signature = [0u8; 64];
        signature.copy_from_slice(self.pair.sign(message).as_ref());
        signature
    }
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey")
            .field("key_id", &self.key_id)
            .field("public_key", &self.public_key)
            .finish_non_exhaustive()
    }
}

/// An Ed25519 public key (32 bytes).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct PublicKey(pub [u8; 32]);

impl PublicKey {
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, KeyError> {
        <[u8; 32]>::try_from(bytes)
            .map(Self)
            .map_err(|_| KeyError::PublicKeyLength {
                actual: bytes.len(),
            })
    }

    /// Reads the unpadded base64url form (a JWK's `x`).
    pub fn from_base64url(text: &str) -> Result<Self, KeyError> {
        let bytes = B64URL
            .decode(text)
            .map_err(|_| KeyError::PublicKeyEncoding)?;
        Self::from_bytes(&bytes)
    }

    /// Whether `signature` is this key's Ed25519 signature of `message`.
    pub fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        UnparsedPublicKey::new(&ED25519, &self.0)
            .verify(message, signature)
            .is_ok()
    }

    /// The unpadded base64url form, as a JWK's `x`.
    pub fn to_base64url(&self) -> String {
        B64URL.encode(self.0)
    }
}

impl std::fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PublicKey({})", self.to_base64url())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_generated_key_signs_and_reloads() {
        let (key, pkcs8) = SigningKey::generate("k1").unwrap();
        let signature = key.sign(b"message");
        assert!(key.public_key().verify(b"message", &signature));
        assert!(!key.public_key().verify(b"massage", &signature));
        assert!(!key.public_key().verify(b"message", &signature[..63]));

        let reloaded = SigningKey::from_pkcs8("k1", &pkcs8).unwrap();
        assert_eq!(reloaded.public_key(), key.public_key());
        assert_eq!(reloaded.key_id(), "k1");
    }

    #[test]
    fn bad_key_material_is_refused() {
        assert_eq!(
            SigningKey::from_pkcs8("k", b"not a key").err(),
            Some(KeyError::InvalidPrivateKey)
        );
        assert_eq!(
            PublicKey::from_bytes(&[0; 31]),
            Err(KeyError::PublicKeyLength { actual: 31 })
        );
        let key = PublicKey([7; 32]);
        assert_eq!(PublicKey::from_base64url(&key.to_base64url()), Ok(key));
        assert!(PublicKey::from_base64url("AAAA").is_err());
        assert!(PublicKey::from_base64url("!!").is_err());
    }

    #[test]
    fn debug_output_holds_no_secret() {
        let (key, pkcs8) = SigningKey::generate("k1").unwrap();
        let printed = format!("{key:?} {pkcs8:?}");
        assert!(printed.contains("k1"));
        assert!(printed.contains("redacted"));
        let secret_hex: String = pkcs8.iter().map(|b| format!("{b:02x}")).collect();
        assert!(!printed.contains(&secret_hex[32..64]));
        assert!(!printed.contains(&B64URL.encode(&pkcs8[16..48])));
    }
}
