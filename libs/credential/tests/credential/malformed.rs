//! Whatever a scanner reads, verification answers with a result or a
//! format error and never panics.

use std::io::Write as _;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use zhongtai_credential::{
    FormatError, MAX_TOKEN_BYTES, Outcome, QR_PREFIX, SigningKey, base45, qr_payload,
    token_from_presentation, verify_certificate, verify_code,
};

use crate::fixtures::{XorShift, certificate, code, licence, mutate, now, personal_code, world};

fn certificate_error(presentation: &str) -> FormatError {
    let world = world();
    match verify_certificate(presentation, &world.trust, now()) {
        Err(error) => error,
        Ok(check) => panic!("{presentation:.80}… was read: {check:?}"),
    }
}

/// A token with this header and payload, properly signed.
fn signed_with_header(key: &SigningKey, header: &str, payload: &[u8]) -> String {
    let input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header),
        URL_SAFE_NO_PAD.encode(payload)
    );
    let signature = URL_SAFE_NO_PAD.encode(key.sign(input.as_bytes()));
    format!("{input}.{signature}")
}

fn zlib(data: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
    encoder.write_all(data).unwrap();
    encoder.finish().unwrap()
}

#[test]
fn garbage_is_a_format_error() {
    assert_eq!(certificate_error(""), FormatError::Empty);
    assert_eq!(certificate_error(" \t\n"), FormatError::Empty);
    assert_eq!(
        certificate_error("hello world"),
        FormatError::NotCompactJws { parts: 1 }
    );
    assert_eq!(
        certificate_error("a.b"),
        FormatError::NotCompactJws { parts: 2 }
    );
    assert_eq!(
        certificate_error("a.b.c.d.e"),
        FormatError::NotCompactJws { parts: 5 }
    );
    assert_eq!(
        certificate_error("ey!!.e30.AAAA"),
        FormatError::Base64 { part: "header" }
    );
    assert_eq!(
        certificate_error("营业执照.e30.AAAA"),
        FormatError::Base64 { part: "header" }
    );
    assert_eq!(
        certificate_error(".."),
        FormatError::HeaderNotJson {
            reason: "it does not start with '{'".to_owned()
        }
    );
}

#[test]
fn damaged_qr_payloads_are_format_errors() {
    let world = world();
    let payload = qr_payload(&certificate(&world.market_regulation, &licence()));
    // Cut inside the last group: a dangling base45 character or a group too large.
    let truncated = &payload[..payload.len() - 1];
    assert!(matches!(
        certificate_error(truncated),
        FormatError::Base45 { .. } | FormatError::Compression
    ));
    let half = &payload[..payload.len() / 2];
    assert!(matches!(
        certificate_error(half),
        FormatError::Base45 { .. } | FormatError::Compression
    ));
    assert_eq!(
        certificate_error("ZT1:ABC=DEF"),
        FormatError::Base45 {
            position: 7,
            reason: "not a base45 character"
        }
    );
    assert_eq!(
        certificate_error("ZT1:abcdef"),
        FormatError::Base45 {
            position: 4,
            reason: "not a base45 character"
        }
    );
    assert_eq!(
        certificate_error(&format!("ZT1:{}", base45::encode(b"not zlib at all"))),
        FormatError::Compression
    );
}

#[test]
fn a_zlib_bomb_is_refused_while_inflating() {
    let bomb = format!(
        "{QR_PREFIX}{}",
        base45::encode(&zlib(&vec![b'e'; 10 * 1024 * 1024]))
    );
    assert!(
        bomb.len() < 32 * 1024,
        "the bomb is small: {} bytes",
        bomb.len()
    );
    assert_eq!(
        certificate_error(&bomb),
        FormatError::InflatedTooLarge {
            limit: MAX_TOKEN_BYTES
        }
    );
    // Against a smaller limit the same bomb is refused before inflating…
    assert!(matches!(
        token_from_presentation(&bomb, 1024),
        Err(FormatError::TooLarge { .. })
    ));
    // …and a smaller bomb that passes the size check stops at the limit.
    let small_bomb = format!(
        "{QR_PREFIX}{}",
        base45::encode(&zlib(&vec![b'e'; 1024 * 1024]))
    );
    assert_eq!(
        token_from_presentation(&small_bomb, 1024),
        Err(FormatError::InflatedTooLarge { limit: 1024 })
    );
}

#[test]
fn a_megabyte_of_input_is_refused_unread() {
    let megabyte = "A".repeat(1024 * 1024);
    assert!(matches!(
        certificate_error(&megabyte),
        FormatError::TooLarge {
            limit: MAX_TOKEN_BYTES,
            ..
        }
    ));
    assert!(matches!(
        certificate_error(&format!("ZT1:{megabyte}")),
        FormatError::TooLarge { .. }
    ));
    let dots = ".".repeat(1024 * 1024);
    assert!(matches!(
        certificate_error(&dots),
        FormatError::TooLarge { .. }
    ));
}

#[test]
fn headers_must_be_json_naming_an_ed25519_key() {
    let world = world();
    let key = &world.market_regulation;
    let payload = serde_json::to_vec(&licence()).unwrap();
    let with = |header: &str| certificate_error(&signed_with_header(key, header, &payload));
    assert!(matches!(
        with("not json"),
        FormatError::HeaderNotJson { .. }
    ));
    assert!(matches!(
        with("{\"alg\":"),
        FormatError::HeaderNotJson { .. }
    ));
    assert_eq!(
        with(r#"{"alg":"none","kid":"mr-2026","typ":"zt-cert+jwt"}"#),
        FormatError::UnsupportedAlgorithm {
            alg: "none".to_owned()
        }
    );
    assert_eq!(
        with(r#"{"alg":"HS256","kid":"mr-2026","typ":"zt-cert+jwt"}"#),
        FormatError::UnsupportedAlgorithm {
            alg: "HS256".to_owned()
        }
    );
    assert_eq!(
        with(r#"{"kid":"mr-2026","typ":"zt-cert+jwt"}"#),
        FormatError::UnsupportedAlgorithm { alg: String::new() }
    );
    assert_eq!(
        with(r#"{"alg":"EdDSA","typ":"zt-cert+jwt"}"#),
        FormatError::MissingKeyId
    );
    assert_eq!(
        with(r#"{"alg":"EdDSA","kid":"mr-2026"}"#),
        FormatError::WrongType {
            expected: "zt-cert+jwt",
            found: None
        }
    );
    // An unsigned "alg":"none" token with an empty signature.
    let unsigned = format!(
        "{}.{}.",
        URL_SAFE_NO_PAD.encode(r#"{"alg":"none","kid":"mr-2026","typ":"zt-cert+jwt"}"#),
        URL_SAFE_NO_PAD.encode(&payload)
    );
    assert_eq!(
        certificate_error(&unsigned),
        FormatError::UnsupportedAlgorithm {
            alg: "none".to_owned()
        }
    );
    let empty_signature = format!(
        "{}.{}.",
        URL_SAFE_NO_PAD.encode(r#"{"alg":"EdDSA","kid":"mr-2026","typ":"zt-cert+jwt"}"#),
        URL_SAFE_NO_PAD.encode(&payload)
    );
    assert_eq!(
        certificate_error(&empty_signature),
        FormatError::SignatureLength { actual: 0 }
    );
}

#[test]
fn thousands_of_mutated_tokens_never_panic_or_pass() {
    let world = world();
    let certificate_token = certificate(&world.market_regulation, &licence());
    let code_token = code(&world.platform, &personal_code());
    let originals = [
        certificate_token.clone(),
        qr_payload(&certificate_token),
        code_token.clone(),
        qr_payload(&code_token),
    ];
    let mut random = XorShift(0x9E37_79B9_7F4A_7C15);
    let mut outcomes = std::collections::BTreeMap::<String, usize>::new();
    for round in 0..8_000 {
        let original = &originals[round % originals.len()];
        let mutated = mutate(&mut random, original.as_bytes());
        let text = String::from_utf8_lossy(&mutated);
        let (outcome, token) = if round % 2 == 0 {
            let result = verify_certificate(&text, &world.trust, now());
            (result.map(|check| check.outcome), &certificate_token)
        } else {
            let result = verify_code(&text, &world.trust, now());
            (result.map(|check| check.outcome), &code_token)
        };
        // A mutation may only pass if it decodes to the very same token
        // (surrounding whitespace trimmed, or slack bits of the encoding).
        if outcome == Ok(Outcome::Valid) {
            assert_eq!(
                token_from_presentation(&text, MAX_TOKEN_BYTES).as_ref(),
                Ok(token),
                "a mutated token passed: {text}"
            );
        }
        let name = match outcome {
            Ok(outcome) => outcome.as_str().to_owned(),
            Err(error) => format!("{error:?}")
                .split([' ', '{', '('])
                .next()
                .unwrap_or_default()
                .to_owned(),
        };
        *outcomes.entry(name).or_default() += 1;
    }
    println!("mutation outcomes: {outcomes:?}");
    assert!(
        outcomes.get("signature-invalid").copied().unwrap_or(0) > 100,
        "{outcomes:?}"
    );
    assert!(
        outcomes.len() >= 5,
        "mutations reach several checks: {outcomes:?}"
    );
}
