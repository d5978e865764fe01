//! SCRAM-SHA-256 (RFC 5802, RFC 7677) as PostgreSQL speaks it, without
//! channel binding (connections to sources are plain TCP).
//!
//! Passwords are used as given (no SASLprep), which is exact for ASCII
//! passwords.

use std::num::NonZeroU32;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use ring::{digest, hmac, pbkdf2};

/// The mechanism name PostgreSQL offers.
pub const SCRAM_SHA_256: &str = "SCRAM-SHA-256";

/// Guards against a server that asks for an absurd amount of hashing.
const MAX_ITERATIONS: u32 = 10_000_000;

/// Why a SCRAM exchange failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScramError {
    #[error("the server's SCRAM message is malformed: {0}")]
    Malformed(&'static str),
    #[error("the server's SCRAM nonce does not extend ours")]
    NonceMismatch,
    #[error("the server could not prove it knows the password")]
    ServerNotVerified,
    #[error("the server refused the SCRAM exchange: {0}")]
    Refused(String),
}

/// One client-side SCRAM-SHA-256 exchange.
pub struct ScramClient {
    password: String,
    client_first_bare: String,
    client_nonce: String,
    expected_server_signature: Option<Vec<u8>>,
}

impl ScramClient {
    /// `user` is empty for PostgreSQL, which takes the user from the
    /// startup message.
    pub fn new(user: &str, password: &str, client_nonce: String) -> Self {
        let user = user.replace('=', "=3D").replace(',', "=2C");
        Self {
            password: password.to_owned(),
            client_first_bare: format!("n={user},r={client_nonce}"),
            client_nonce,
            expected_server_signature: None,
        }
    }

    /// A random printable nonce.
    pub fn random_nonce() -> Result<String, ScramError> {
        let mut raw = [0u8; 18];
        ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut raw)
            .map_err(|_| ScramError::Refused("no system randomness".into()))?;
        Ok(STANDARD.encode(raw))
    }

    /// The client-first message (no channel binding).
    pub fn client_first(&self) -> String {
        format!("n,,{}", self.client_first_bare)
    }

    /// Answers the server-first message with the client-final message.
    pub fn client_final(&mut self, server_first: &str) -> Result<String, ScramError> {
        let mut nonce = None;
        let mut salt = None;
        let mut iterations = None;
        for attribute in server_first.split(',') {
            match attribute.split_once('=') {
                Some(("r", value)) => nonce = Some(value),
                Some(("s", value)) => salt = Some(value),
                Some(("i", value)) => iterations = Some(value),
                Some(("e", value)) => return Err(ScramError::Refused(value.to_owned())),
                _ => {}
            }
        }
        let nonce = nonce.ok_or(ScramError::Malformed("no nonce"))?;
        if !nonce.starts_with(&self.client_nonce) || nonce.len() == self.client_nonce.len() {
            return Err(ScramError::NonceMismatch);
        }
        let salt = STANDARD
            .decode(salt.ok_or(ScramError::Malformed("no salt"))?)
            .map_err(|_| ScramError::Malformed("salt is not base64"))?;
        let iterations = iterations
            .ok_or(ScramError::Malformed("no iteration count"))?
            .parse::<u32>()
            .ok()
            .filter(|count| *count <= MAX_ITERATIONS)
            .and_then(NonZeroU32::new)
            .ok_or(ScramError::Malformed("bad iteration count"))?;

        let mut salted = [0u8; 32];
        pbkdf2::derive(
            pbkdf2::PBKDF2_HMAC_SHA256,
            iterations,
            &salt,
            self.password.as_bytes(),
            &mut salted,
        );
        let salted_key = hmac::Key::new(hmac::HMAC_SHA256, &salted);
        let client_key = hmac::sign(&salted_key, b"Client Key");
        let stored_key = digest::digest(&digest::SHA256, client_key.as_ref());

        let without_proof = format!("c=biws,r={nonce}");
        let auth_message = format!("{},{server_first},{without_proof}", self.client_first_bare);
        let client_signature = hmac::sign(
            &hmac::Key::new(hmac::HMAC_SHA256, stored_key.as_ref()),
            auth_message.as_bytes(),
        );
        let proof: Vec<u8> = client_key
            .as_ref()
            .iter()
            .zip(client_signature.as_ref())
            .map(|(key, signature)| key ^ signature)
            .collect();

        let server_key = hmac::sign(&salted_key, b"Server Key");
        let server_signature = hmac::sign(
            &hmac::Key::new(hmac::HMAC_SHA256, server_key.as_ref()),
            auth_message.as_bytes(),
        );
        self.expected_server_signature = Some(server_signature.as_ref().to_vec());
        Ok(format!("{without_proof},p={}", STANDARD.encode(proof)))
    }

    /// Checks the server-final message: the server proves it holds the
    /// password's verifier too.
    pub fn verify_server_final(&self, server_final: &str) -> Result<(), ScramError> {
        if let Some(error) = server_final.strip_prefix("e=") {
            return Err(ScramError::Refused(error.to_owned()));
        }
        let signature = server_final
            .strip_prefix("v=")
            .ok_or(ScramError::Malformed("no verifier"))?;
        let signature = STANDARD
            .decode(signature)
            .map_err(|_| ScramError::Malformed("verifier is not base64"))?;
        match &self.expected_server_signature {
            Some(expected) if *expected == signature => Ok(()),
            _ => Err(ScramError::ServerNotVerified),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // RFC 7677, section 3.
    const SERVER_FIRST: &str = "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,\
                                s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096";

    fn rfc_client() -> ScramClient {
        ScramClient::new("user", "pencil", "rOprNGfwEbeRWgbNEkqO".into())
    }

    #[test]
    fn matches_the_rfc_7677_example() {
        let mut client = rfc_client();
        assert_eq!(client.client_first(), "n,,n=user,r=rOprNGfwEbeRWgbNEkqO");
        assert_eq!(
            client.client_final(SERVER_FIRST).unwrap(),
            "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,\
             p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="
        );
        client
            .verify_server_final("v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=")
            .unwrap();
    }

    #[test]
    fn refuses_a_server_that_cannot_prove_the_password() {
        let mut client = rfc_client();
        client.client_final(SERVER_FIRST).unwrap();
        assert_eq!(
            client.verify_server_final("v=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="),
            Err(ScramError::ServerNotVerified)
        );
        assert!(client.verify_server_final("garbage").is_err());
    }

    #[test]
    fn refuses_bad_server_first_messages() {
        let mut client = rfc_client();
        assert_eq!(
            client.client_final("r=someoneelse,s=W22Z,i=4096"),
            Err(ScramError::NonceMismatch)
        );
        assert!(
            client
                .client_final("r=rOprNGfwEbeRWgbNEkqOx,s=!!,i=4096")
                .is_err()
        );
        assert!(
            client
                .client_final("r=rOprNGfwEbeRWgbNEkqOx,s=W22Z,i=0")
                .is_err()
        );
        assert!(
            client
                .client_final("r=rOprNGfwEbeRWgbNEkqOx,s=W22Z,i=99999999999")
                .is_err()
        );
        assert!(client.client_final("").is_err());
    }

    #[test]
    fn nonces_are_random_and_printable() {
        let (a, b) = (
            ScramClient::random_nonce().unwrap(),
            ScramClient::random_nonce().unwrap(),
        );
        assert_ne!(a, b);
        assert!(a.bytes().all(|c| c.is_ascii_graphic() && c != b','));
    }
}
