//! How close offline verification of a presentation code comes to the raw
//! Ed25519 verification underneath it, on one thread.
//!
//! `cargo bench -p zhongtai-credential`

use std::hint::black_box;
use std::time::{Duration, Instant};

use chrono::Utc;
use ring::signature::{ED25519, UnparsedPublicKey};
use zhongtai_credential::{
    CODE_TYP, CodeKind, CodePayload, Holder, HolderStatus, IdDocumentType, MAX_TOKEN_BYTES,
    Outcome, PLATFORM_ISSUER, SigningKey, TrustStore, qr_payload, sign_compact,
    token_from_presentation, verify_code,
};

const RUN_FOR: Duration = Duration::from_secs(1);
/// The machine is shared: each operation runs in several interleaved
/// rounds and keeps its best, the one least disturbed by other work.
const ROUNDS: usize = 5;

/// Operations a second of `operation`, after a short warm-up.
fn rate(mut operation: impl FnMut() -> bool) -> f64 {
    for _ in 0..1_000 {
        assert!(operation());
    }
    let start = Instant::now();
    let mut done: u64 = 0;
    while start.elapsed() < RUN_FOR {
        for _ in 0..256 {
            assert!(black_box(operation()));
        }
        done += 256;
    }
    done as f64 / start.elapsed().as_secs_f64()
}

fn main() {
    let (platform, _) = SigningKey::generate("platform-2026").expect("a key");
    let now = Utc::now();
    let code = CodePayload {
        iss: PLATFORM_ISSUER.to_owned(),
        jti: "0196a1c2-b111-7222-8333-944455566677".to_owned(),
        iat: now.timestamp(),
        exp: now.timestamp() + 3600,
        kind: CodeKind::Personal,
        holder: Holder::Person {
            name: "张三".to_owned(),
            id_type: IdDocumentType::ResidentIdCard,
            id_number: "33110219900101123X".to_owned(),
        }
        .masked(),
        st: HolderStatus::Normal,
        claims: serde_json::json!({"vaccinated": true})
            .as_object()
            .cloned()
            .unwrap_or_default(),
        dep: None,
    };
    let token = sign_compact(&platform, CODE_TYP, &code);
    let qr = qr_payload(&token);
    let trust = TrustStore::new(
        1,
        vec![],
        vec![(platform.key_id().to_owned(), platform.public_key())],
    );

    let (signing_input, signature) = token.rsplit_once('.').expect("three parts");
    let signature =
        base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, signature)
            .expect("base64url");
    let public_key = platform.public_key();
    let ring_key = UnparsedPublicKey::new(&ED25519, public_key.0);

    let mut raw = 0f64;
    let mut code_token = 0f64;
    let mut code_qr = 0f64;
    let mut unwrap_qr = 0f64;
    for _ in 0..ROUNDS {
        raw = raw.max(rate(|| {
            ring_key
                .verify(black_box(signing_input.as_bytes()), &signature)
                .is_ok()
        }));
        code_token = code_token.max(rate(|| {
            verify_code(black_box(&token), &trust, now)
                .is_ok_and(|check| check.outcome == Outcome::Valid)
        }));
        code_qr = code_qr.max(rate(|| {
            verify_code(black_box(&qr), &trust, now)
                .is_ok_and(|check| check.outcome == Outcome::Valid)
        }));
        unwrap_qr = unwrap_qr.max(rate(|| {
            token_from_presentation(black_box(&qr), MAX_TOKEN_BYTES).is_ok_and(|text| text == token)
        }));
    }

    println!(
        "code token {} bytes, QR payload {} characters",
        token.len(),
        qr.len()
    );
    println!(
        "{:<34} {:>12} {:>10}",
        "operation (one thread)", "ops/s", "vs ring"
    );
    for (name, ops) in [
        ("ring Ed25519 verify", raw),
        ("verify_code, raw token", code_token),
        ("verify_code, ZT1 QR payload", code_qr),
        ("ZT1 payload to token only", unwrap_qr),
    ] {
        println!("{name:<34} {ops:>12.0} {:>9.0}%", ops / raw * 100.0);
    }
}
