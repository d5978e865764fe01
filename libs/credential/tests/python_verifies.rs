//! A certificate signed here verifies with PyJWT given nothing but the
//! platform's JWK Set: the format is standard JOSE, not our own.
//!
//! Runs when `ZT_TEST_PYTHON` names a Python with PyJWT[crypto] (CI always
//! sets it); fails if that Python cannot run the check.

#![allow(clippy::unwrap_used)] // test helpers

use std::process::{Command, Output};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::Utc;
use zhongtai_credential::{
    CERTIFICATE_TYP, CertificatePayload, Holder, SigningKey, StatusRef, TrustListDocument,
    TrustListIssuer, TrustListKey, issuer_uri, sign_compact,
};

const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/verify_with_pyjwt.py");
const REJECTED: i32 = 3;
const ISSUER: &str = "0196a1c2-7d3e-7b51-9c0a-4f2b8e6d1a01";

fn python() -> Option<String> {
    match std::env::var("ZT_TEST_PYTHON") {
        Ok(python) if !python.is_empty() => Some(python),
        _ => {
            eprintln!("note: ZT_TEST_PYTHON is not set; skipping the PyJWT cross-check");
            None
        }
    }
}

fn run(python: &str, jwks: &str, token: &str) -> Output {
    Command::new(python)
        .arg(SCRIPT)
        .arg(jwks)
        .arg(token)
        .output()
        .unwrap_or_else(|error| panic!("ZT_TEST_PYTHON={python} does not run: {error}"))
}

struct Issued {
    jwks: String,
    token: String,
    payload: CertificatePayload,
    key: SigningKey,
}

fn issue() -> Issued {
    let key = SigningKey::generate("mr-2026").unwrap().0;
    let platform = SigningKey::generate("platform-2026").unwrap().0;
    let entry = |key: &SigningKey| TrustListKey {
        kid: key.key_id().to_owned(),
        x: key.public_key().to_base64url(),
        verify_until: None,
    };
    let now = Utc::now().timestamp();
    let document = TrustListDocument {
        version: 1,
        iat: now,
        next_update: now + 3600,
        issuers: vec![TrustListIssuer {
            id: ISSUER.to_owned(),
            name: "丽水市市场监督管理局".to_owned(),
            tenant: "331100/market-regulation".to_owned(),
            certificate_types: vec!["business-licence".to_owned()],
            keys: vec![entry(&key)],
        }],
        platform_keys: vec![entry(&platform)],
    };
    let holder = Holder::Organization {
        name: "丽水市莲都区青山绿水农业科技有限公司".to_owned(),
        unified_social_credit_code: "91331102MA2HX7K63Q".to_owned(),
    };
    let payload = CertificatePayload {
        iss: issuer_uri(ISSUER),
        sub: holder.key(),
        jti: "0196a1c2-9f10-7c22-8d3b-5e7a9c0b2d11".to_owned(),
        iat: now - 60,
        nbf: now - 60,
        exp: Some(now + 365 * 86_400),
        vct: "business-licence".to_owned(),
        sn: "331102000202605310001".to_owned(),
        holder,
        claims: serde_json::json!({"legal_representative": "王建华", "registered_capital": "5000000.00"})
            .as_object()
            .cloned()
            .unwrap(),
        status: StatusRef { list: "l-1".to_owned(), idx: 7 },
    };
    let token = sign_compact(&key, CERTIFICATE_TYP, &payload);
    Issued {
        jwks: document.jwks(),
        token,
        payload,
        key,
    }
}

#[test]
fn pyjwt_verifies_a_certificate_with_only_the_jwks() {
    let Some(python) = python() else { return };
    let issued = issue();
    let output = run(&python, &issued.jwks, &issued.token);
    assert!(
        output.status.success(),
        "PyJWT refused a valid certificate ({}): {}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    let decoded: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(decoded, serde_json::to_value(&issued.payload).unwrap());
    assert_eq!(
        decoded["holder"]["org"]["name"],
        "丽水市莲都区青山绿水农业科技有限公司"
    );
}

#[test]
fn pyjwt_rejects_an_altered_certificate() {
    let Some(python) = python() else { return };
    let issued = issue();
    let parts: Vec<&str> = issued.token.split('.').collect();
    let mut altered = issued.payload.clone();
    altered.exp = None;
    let altered_payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&altered).unwrap());
    let tampered = format!("{}.{altered_payload}.{}", parts[0], parts[2]);

    let output = run(&python, &issued.jwks, &tampered);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(
        output.status.code(),
        Some(REJECTED),
        "expected a rejection, got: {stderr}"
    );
    assert!(stderr.contains("InvalidSignatureError"), "{stderr}");

    // A key the JWK Set does not list is refused as well.
    let stranger = SigningKey::generate("mr-2027").unwrap().0;
    let output = run(
        &python,
        &issued.jwks,
        &sign_compact(&stranger, CERTIFICATE_TYP, &issued.payload),
    );
    assert_eq!(
        output.status.code(),
        Some(REJECTED),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );

    // The untouched token still passes, so the rejection is the tampering's.
    assert_eq!(issued.key.key_id(), "mr-2026");
    assert!(run(&python, &issued.jwks, &issued.token).status.success());
}
