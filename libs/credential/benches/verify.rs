//! How close offline verification of a presentation code comes to the raw
//! Ed25519 verification underneath it, on one thread, one code at a time
//! and in batches.
//!
//! `cargo bench -p zhongtai-credential`

use std::hint::black_box;
use std::time::{Duration, Instant};

use chrono::Utc;
use ring::signature::{ED25519, UnparsedPublicKey};
use zhongtai_credential::{
    CODE_TYP, CodeCheck, CodeKind, CodePayload, FormatError, Holder, HolderStatus, IdDocumentType,
    MAX_TOKEN_BYTES, Outcome, PLATFORM_ISSUER, SigningKey, TrustStore, qr_payload, sign_compact,
    token_from_presentation, verify_code, verify_codes,
};

/// The machine is shared: each operation runs in many short interleaved
/// rounds and keeps its best, the one least disturbed by other work.
const RUN_FOR: Duration = Duration::from_millis(300);
const ROUNDS: usize = 15;
const WARM_UP: Duration = Duration::from_millis(50);
const BATCH_SIZES: [usize; 4] = [1, 8, 32, 128];

/// Time this thread has spent on a core (Linux), else wall time: on a
/// shared machine, the time waiting for a core would count against
/// whichever operation happened to be running.
struct CoreClock {
    started: Instant,
    on_core_at_start: Option<u64>,
}

impl CoreClock {
    fn start() -> Self {
        Self {
            started: Instant::now(),
            on_core_at_start: nanoseconds_on_core(),
        }
    }

    fn elapsed(&self) -> Duration {
        match (self.on_core_at_start, nanoseconds_on_core()) {
            (Some(start), Some(now)) => Duration::from_nanos(now.saturating_sub(start)),
            _ => self.started.elapsed(),
        }
    }
}

fn nanoseconds_on_core() -> Option<u64> {
    let schedstat = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    schedstat.split_whitespace().next()?.parse().ok()
}

/// Operations a second of `operation`, after a short warm-up.
fn rate(mut operation: impl FnMut() -> bool) -> f64 {
    per_item_rate(1, || usize::from(operation()))
}

/// Items a second of `operation`, which handles `items` a call and says
/// how many came out as expected.
fn per_item_rate(items: usize, mut operation: impl FnMut() -> usize) -> f64 {
    let clock = CoreClock::start();
    while clock.elapsed() < WARM_UP {
        assert_eq!(operation(), items);
    }
    let clock = CoreClock::start();
    let mut calls: u64 = 0;
    // Reading the clock costs a few microseconds: not after every call.
    let calls_between_readings = (256 / items).max(1) as u64;
    while clock.elapsed() < RUN_FOR {
        for _ in 0..calls_between_readings {
            assert_eq!(black_box(operation()), items);
        }
        calls += calls_between_readings;
    }
    (calls * items as u64) as f64 / clock.elapsed().as_secs_f64()
}

/// How many checks came out as `expected`.
fn count(checks: &[Result<CodeCheck, FormatError>], expected: Outcome) -> usize {
    checks
        .iter()
        .filter(|check| check.as_ref().is_ok_and(|check| check.outcome == expected))
        .count()
}

/// `token` with a character inside its signature replaced (the last ones
/// carry padding bits).
fn with_signature_altered(token: &str) -> String {
    let position = token.len() - 20;
    let replacement = if token.as_bytes()[position] == b'A' {
        "B"
    } else {
        "A"
    };
    let mut altered = token.to_owned();
    altered.replace_range(position..=position, replacement);
    altered
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

    let largest = BATCH_SIZES.iter().copied().max().unwrap_or(1);
    let tokens: Vec<String> = (0..largest)
        .map(|n| {
            let jti = format!("0196a1c2-b111-7222-8333-{n:012}");
            sign_compact(
                &platform,
                CODE_TYP,
                &CodePayload {
                    jti,
                    ..code.clone()
                },
            )
        })
        .collect();
    let batch: Vec<&str> = tokens.iter().map(String::as_str).collect();
    let mut one_altered = tokens.clone();
    one_altered[largest / 3] = with_signature_altered(&tokens[largest / 3]);
    let one_altered: Vec<&str> = one_altered.iter().map(String::as_str).collect();
    let all_altered: Vec<String> = tokens
        .iter()
        .map(|token| with_signature_altered(token))
        .collect();
    let all_altered: Vec<&str> = all_altered.iter().map(String::as_str).collect();

    // The raw batch equation, for the signatures alone.
    let dalek_key = ed25519_dalek::VerifyingKey::from_bytes(&public_key.0).expect("a key");
    let (messages, signatures): (Vec<&[u8]>, Vec<ed25519_dalek::Signature>) = tokens
        .iter()
        .map(|token| {
            let (signing_input, signature) = token.rsplit_once('.').expect("three parts");
            let signature: [u8; 64] = base64::Engine::decode(
                &base64::engine::general_purpose::URL_SAFE_NO_PAD,
                signature,
            )
            .ok()
            .and_then(|bytes| bytes.try_into().ok())
            .expect("a signature");
            (
                signing_input.as_bytes(),
                ed25519_dalek::Signature::from_bytes(&signature),
            )
        })
        .unzip();
    let keys = vec![dalek_key; largest];

    type Measure<'a> = Box<dyn FnMut() -> f64 + 'a>;
    let mut measures: Vec<(String, Measure)> = vec![
        (
            "ring Ed25519 verify".into(),
            Box::new(|| {
                rate(|| {
                    ring_key
                        .verify(black_box(signing_input.as_bytes()), &signature)
                        .is_ok()
                })
            }),
        ),
        (
            "verify_code, raw token".into(),
            Box::new(|| {
                rate(|| {
                    verify_code(black_box(&token), &trust, now)
                        .is_ok_and(|check| check.outcome == Outcome::Valid)
                })
            }),
        ),
        (
            "verify_code, ZT1 QR payload".into(),
            Box::new(|| {
                rate(|| {
                    verify_code(black_box(&qr), &trust, now)
                        .is_ok_and(|check| check.outcome == Outcome::Valid)
                })
            }),
        ),
        (
            "ZT1 payload to token only".into(),
            Box::new(|| {
                rate(|| {
                    token_from_presentation(black_box(&qr), MAX_TOKEN_BYTES)
                        .is_ok_and(|text| text == token)
                })
            }),
        ),
    ];
    for size in [32, largest] {
        let (messages, signatures, keys) = (&messages[..size], &signatures[..size], &keys[..size]);
        measures.push((
            format!("dalek verify_batch of {size}"),
            Box::new(move || {
                per_item_rate(size, || {
                    ed25519_dalek::verify_batch(black_box(messages), signatures, keys)
                        .map_or(0, |()| size)
                })
            }),
        ));
    }
    for size in BATCH_SIZES {
        let (batch, trust) = (&batch[..size], &trust);
        measures.push((
            format!("verify_codes, batches of {size}"),
            Box::new(move || {
                per_item_rate(size, || {
                    count(&verify_codes(black_box(batch), trust, now), Outcome::Valid)
                })
            }),
        ));
    }
    measures.push((
        format!("verify_codes, {largest} with 1 altered*"),
        Box::new(|| {
            per_item_rate(largest - 1, || {
                count(
                    &verify_codes(black_box(&one_altered), &trust, now),
                    Outcome::Valid,
                )
            })
        }),
    ));
    measures.push((
        format!("verify_codes, {largest} all altered"),
        Box::new(|| {
            per_item_rate(largest, || {
                count(
                    &verify_codes(black_box(&all_altered), &trust, now),
                    Outcome::SignatureInvalid,
                )
            })
        }),
    ));

    let mut best = vec![0f64; measures.len()];
    for _ in 0..ROUNDS {
        for (best, (_, measure)) in best.iter_mut().zip(&mut measures) {
            *best = best.max(measure());
        }
    }

    println!(
        "code token {} bytes, QR payload {} characters",
        token.len(),
        qr.len()
    );
    println!(
        "{:<36} {:>14} {:>10}",
        "operation (one thread)", "ops/s on core", "vs ring"
    );
    let ring = best[0];
    for ((name, _), ops) in measures.iter().zip(best) {
        println!("{name:<36} {ops:>14.0} {:>9.0}%", ops / ring * 100.0);
    }
    println!("(batches: signatures or codes a second; *: the valid codes a second)");
}
