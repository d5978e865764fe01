//! Compact JWS signed with Ed25519 (`alg` "EdDSA", RFC 8037), readable by
//! standard JOSE and JWT libraries.

use base64::Engine as _;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::encoding::B64URL;
use crate::{FormatError, SigningKey};

/// The largest token accepted: certificates and codes are far smaller, and
/// anything bigger would not fit a QR code anyway.
pub const MAX_TOKEN_BYTES: usize = 16 * 1024;

/// The only algorithm written and accepted.
pub const ALGORITHM: &str = "EdDSA";

const SIGNATURE_BYTES: usize = 64;

/// A JWS protected header.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JwsHeader {
    pub alg: String,
    pub kid: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub typ: Option<String>,
}

/// Signs `payload` (serialized to JSON) as a compact JWS with header
/// `{"alg":"EdDSA","kid":<key id>,"typ":<typ>}`.
///
/// # Panics
/// If `payload`'s `Serialize` implementation fails, which the payload
/// types of this crate never do (it would take a map with non-string keys).
pub fn sign_compact(key: &SigningKey, typ: &str, payload: &impl Serialize) -> String {
    let payload = serde_json::to_vec(payload).expect("token payloads serialize to JSON");
    sign_bytes(key, typ, &payload)
}

pub(crate) fn sign_bytes(key: &SigningKey, typ: &str, payload: &[u8]) -> String {
    let header = JwsHeader {
        alg: ALGORITHM.to_owned(),
        kid: key.key_id().to_owned(),
        typ: Some(typ.to_owned()),
    };
    let header = serde_json::to_vec(&header).expect("a header of strings serializes");
    let mut token =
        String::with_capacity((header.len() + payload.len() + SIGNATURE_BYTES) * 4 / 3 + 4);
    B64URL.encode_string(&header, &mut token);
    token.push('.');
    B64URL.encode_string(payload, &mut token);
    let signature = key.sign(token.as_bytes());
    token.push('.');
    B64URL.encode_string(signature, &mut token);
    token
}

/// A parsed compact JWS whose signature has not been checked yet: the
/// header is known to name an Ed25519 key, nothing else is trusted.
#[derive(Debug, Clone)]
pub struct CompactJws {
    token: String,
    signing_input_len: usize,
    header: JwsHeader,
    payload: Vec<u8>,
    signature: [u8; SIGNATURE_BYTES],
}

#[derive(Deserialize)]
struct ReceivedHeader {
    alg: Option<String>,
    kid: Option<String>,
    typ: Option<String>,
    crit: Option<serde_json::Value>,
}

impl CompactJws {
    /// Parses `header.payload.signature`: three base64url parts, a JSON
    /// header with `alg` "EdDSA" and a `kid`, a 64-byte signature, at most
    /// [`MAX_TOKEN_BYTES`] in all.
    pub fn parse(token: &str) -> Result<CompactJws, FormatError> {
        if token.len() > MAX_TOKEN_BYTES {
            return Err(FormatError::TooLarge {
                actual: token.len(),
                limit: MAX_TOKEN_BYTES,
            });
        }
        Self::parse_owned(token.to_owned(), MAX_TOKEN_BYTES)
    }

    /// As [`parse`](Self::parse), keeping the given string and with another
    /// size limit (trust lists grow beyond a QR code's size).
    pub(crate) fn parse_owned(token: String, limit: usize) -> Result<CompactJws, FormatError> {
        if token.is_empty() {
            return Err(FormatError::Empty);
        }
        if token.len() > limit {
            return Err(FormatError::TooLarge {
                actual: token.len(),
                limit,
            });
        }
        let mut parts = token.split('.');
        let (Some(header), Some(payload), Some(signature), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(FormatError::NotCompactJws {
                parts: token.split('.').count(),
            });
        };
        let signing_input_len = header.len() + 1 + payload.len();
        let header = parse_header(header)?;
        let payload = B64URL
            .decode(payload)
            .map_err(|_| FormatError::Base64 { part: "payload" })?;
        let signature = decode_signature(signature)?;
        Ok(Self {
            token,
            signing_input_len,
            header,
            payload,
            signature,
        })
    }

    pub fn header(&self) -> &JwsHeader {
        &self.header
    }

    /// The payload bytes (JSON for this platform's tokens).
    pub fn payload(&self) -> &[u8] {
        &self.payload
    }

    pub fn payload_json<T: DeserializeOwned>(&self) -> Result<T, FormatError> {
        serde_json::from_slice(&self.payload).map_err(|error| FormatError::Payload {
            reason: error.to_string(),
        })
    }

    /// Whether the signature is `key`'s over this header and payload.
    pub fn verify(&self, key: &crate::PublicKey) -> bool {
        key.verify(self.signing_input(), &self.signature)
    }

    /// The token text as received.
    pub fn as_str(&self) -> &str {
        &self.token
    }

    /// The signed bytes: the header and payload parts as received.
    pub(crate) fn signing_input(&self) -> &[u8] {
        self.token
            .as_bytes()
            .get(..self.signing_input_len)
            .unwrap_or_default()
    }

    pub(crate) fn signature(&self) -> &[u8; SIGNATURE_BYTES] {
        &self.signature
    }

    /// Fails unless the header's `typ` is `expected`.
    pub(crate) fn require_type(&self, expected: &'static str) -> Result<(), FormatError> {
        match self.header.typ.as_deref() {
            Some(typ) if typ == expected => Ok(()),
            found => Err(FormatError::WrongType {
                expected,
                found: found.map(str::to_owned),
            }),
        }
    }

    pub(crate) fn take_key_id(&mut self) -> String {
        std::mem::take(&mut self.header.kid)
    }
}

fn parse_header(encoded: &str) -> Result<JwsHeader, FormatError> {
    let json = B64URL
        .decode(encoded)
        .map_err(|_| FormatError::Base64 { part: "header" })?;
    if json.trim_ascii_start().first() != Some(&b'{') {
        return Err(FormatError::HeaderNotJson {
            reason: "it does not start with '{'".to_owned(),
        });
    }
    let header: ReceivedHeader =
        serde_json::from_slice(&json).map_err(|error| FormatError::HeaderNotJson {
            reason: error.to_string(),
        })?;
    let alg = header.alg.unwrap_or_default();
    if alg != ALGORITHM {
        return Err(FormatError::UnsupportedAlgorithm { alg });
    }
    if let Some(crit) = header.crit {
        return Err(FormatError::CriticalHeader {
            crit: crit.to_string(),
        });
    }
    let kid = header
        .kid
        .filter(|kid| !kid.is_empty())
        .ok_or(FormatError::MissingKeyId)?;
    Ok(JwsHeader {
        alg,
        kid,
        typ: header.typ,
    })
}

fn decode_signature(encoded: &str) -> Result<[u8; SIGNATURE_BYTES], FormatError> {
    let bytes = B64URL
        .decode(encoded)
        .map_err(|_| FormatError::Base64 { part: "signature" })?;
    <[u8; SIGNATURE_BYTES]>::try_from(bytes.as_slice()).map_err(|_| FormatError::SignatureLength {
        actual: bytes.len(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token_with_header(header: &str) -> String {
        format!("{}.e30.{}", B64URL.encode(header), B64URL.encode([0u8; 64]))
    }

    #[test]
    fn signed_tokens_parse_and_verify() {
        let (key, _) = SigningKey::generate("k-1").unwrap();
        let token = sign_compact(&key, "zt-test+jwt", &serde_json::json!({"sub":"张三"}));
        let jws = CompactJws::parse(&token).unwrap();
        assert_eq!(
            jws.header(),
            &JwsHeader {
                alg: "EdDSA".into(),
                kid: "k-1".into(),
                typ: Some("zt-test+jwt".into())
            }
        );
        assert_eq!(jws.payload(), "{\"sub\":\"张三\"}".as_bytes());
        assert!(jws.verify(&key.public_key()));
        let (other, _) = SigningKey::generate("k-1").unwrap();
        assert!(!jws.verify(&other.public_key()));
        let header: serde_json::Value =
            serde_json::from_slice(&B64URL.decode(token.split('.').next().unwrap()).unwrap())
                .unwrap();
        assert_eq!(
            header,
            serde_json::json!({"alg":"EdDSA","kid":"k-1","typ":"zt-test+jwt"})
        );
    }

    #[test]
    fn malformed_tokens_say_what_is_wrong() {
        let parse = |token: &str| CompactJws::parse(token).err();
        assert_eq!(parse(""), Some(FormatError::Empty));
        assert_eq!(parse("a.b"), Some(FormatError::NotCompactJws { parts: 2 }));
        assert_eq!(
            parse("a.b.c.d"),
            Some(FormatError::NotCompactJws { parts: 4 })
        );
        assert_eq!(
            parse("!!.e30.AA"),
            Some(FormatError::Base64 { part: "header" })
        );
        assert_eq!(
            parse(&token_with_header(r#"{"alg":"none","kid":"k"}"#)),
            Some(FormatError::UnsupportedAlgorithm { alg: "none".into() })
        );
        assert_eq!(
            parse(&token_with_header(r#"{"alg":"HS256","kid":"k"}"#)),
            Some(FormatError::UnsupportedAlgorithm {
                alg: "HS256".into()
            })
        );
        assert_eq!(
            parse(&token_with_header(r#"{"alg":"EdDSA"}"#)),
            Some(FormatError::MissingKeyId)
        );
        assert_eq!(
            parse(&token_with_header(r#"{"alg":"EdDSA","kid":""}"#)),
            Some(FormatError::MissingKeyId)
        );
        assert!(matches!(
            parse(&token_with_header(
                r#"{"alg":"EdDSA","kid":"k","crit":["b64"]}"#
            )),
            Some(FormatError::CriticalHeader { .. })
        ));
        assert!(matches!(
            parse(&token_with_header("not json")),
            Some(FormatError::HeaderNotJson { .. })
        ));
        assert!(matches!(
            parse(&token_with_header(r#"["EdDSA","k",null,null]"#)),
            Some(FormatError::HeaderNotJson { .. })
        ));
        assert!(matches!(
            parse(&token_with_header(
                r#"{"alg":"EdDSA","alg":"none","kid":"k"}"#
            )),
            Some(FormatError::HeaderNotJson { .. })
        ));
        let header = B64URL.encode(r#"{"alg":"EdDSA","kid":"k"}"#);
        assert_eq!(
            parse(&format!("{header}.e30.{}", B64URL.encode([0u8; 63]))),
            Some(FormatError::SignatureLength { actual: 63 })
        );
        assert_eq!(
            parse(&format!("{header}.e3=.AA")),
            Some(FormatError::Base64 { part: "payload" })
        );
        assert_eq!(
            parse(&format!("{header}.e30.{}=", B64URL.encode([0u8; 64]))),
            Some(FormatError::Base64 { part: "signature" })
        );
        let big = "a".repeat(MAX_TOKEN_BYTES + 1);
        assert_eq!(
            parse(&big),
            Some(FormatError::TooLarge {
                actual: MAX_TOKEN_BYTES + 1,
                limit: MAX_TOKEN_BYTES
            })
        );
    }
}
