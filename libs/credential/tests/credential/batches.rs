//! Verifying many at once answers, element by element, what verifying each
//! alone answers: for valid, altered, expired, untrusted and unreadable
//! input, and for signatures ring never makes.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use curve25519_dalek::constants::EIGHT_TORSION;
use curve25519_dalek::edwards::EdwardsPoint;
use curve25519_dalek::scalar::Scalar;
use curve25519_dalek::traits::Identity as _;
use sha2::{Digest as _, Sha512};
use zhongtai_credential::{
    CODE_TYP, CertificateCheck, CertificatePayload, CodeCheck, CodePayload, FormatError, Outcome,
    PublicKey, TrustStore, issuer_uri, qr_payload, verify_certificate, verify_certificates,
    verify_code, verify_codes,
};

use crate::fixtures::{
    CIVIL_AFFAIRS, World, XorShift, certificate, code, fixed_key, licence, mutate, now,
    personal_code, world,
};

/// ℓ, the order of the base point, little-endian.
const GROUP_ORDER: [u8; 32] = [
    0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
];

/// The identity point's second encoding, y = p + 1.
const IDENTITY_AS_P_PLUS_ONE: [u8; 32] = {
    let mut bytes = [0xff; 32];
    bytes[0] = 0xee;
    bytes[31] = 0x7f;
    bytes
};

/// The identity point with the sign bit of its zero x set.
const IDENTITY_WITH_NEGATIVE_ZERO: [u8; 32] = {
    let mut bytes = [0; 32];
    bytes[0] = 1;
    bytes[31] = 0x80;
    bytes
};

/// A key whose secret scalar the test holds, to sign as ring never does.
struct RawKey {
    kid: &'static str,
    secret: Scalar,
    public: [u8; 32],
}

/// How the `R` of a raw signature is made from its nonce `r`.
#[derive(Clone, Copy)]
enum Nonce {
    /// `R = rB`, as every signer does.
    Honest,
    /// `R = rB + T` for a small-order `T`.
    WithSmallOrderPart(EdwardsPoint),
    /// `r = 0`, `R` the identity written as these bytes.
    Identity([u8; 32]),
}

impl RawKey {
    /// `aB + small_order_part` for a scalar from `seed`.
    fn new(kid: &'static str, seed: u8, small_order_part: EdwardsPoint) -> Self {
        let secret = Scalar::from_bytes_mod_order([seed; 32]);
        let public = EdwardsPoint::mul_base(&secret) + small_order_part;
        Self {
            kid,
            secret,
            public: public.compress().to_bytes(),
        }
    }

    /// The identity as a key: with it, `R = sB` verifies for any message.
    fn identity(kid: &'static str) -> Self {
        Self {
            kid,
            secret: Scalar::ZERO,
            public: EdwardsPoint::identity().compress().to_bytes(),
        }
    }

    fn trusted(&self) -> (String, PublicKey) {
        (self.kid.to_owned(), PublicKey(self.public))
    }

    fn code(&self, payload: &CodePayload, nonce: Nonce) -> String {
        let header = serde_json::json!({"alg": "EdDSA", "kid": self.kid, "typ": CODE_TYP});
        let signing_input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(serde_json::to_vec(payload).unwrap())
        );
        let message = signing_input.as_bytes();
        let r = hash_to_scalar(&[self.secret.as_bytes(), message]);
        let (r, r_bytes) = match nonce {
            Nonce::Honest => (r, EdwardsPoint::mul_base(&r).compress().to_bytes()),
            Nonce::WithSmallOrderPart(part) => {
                (r, (EdwardsPoint::mul_base(&r) + part).compress().to_bytes())
            }
            Nonce::Identity(bytes) => (Scalar::ZERO, bytes),
        };
        let h = hash_to_scalar(&[&r_bytes, &self.public, message]);
        let s = r + h * self.secret;
        let mut signature = r_bytes.to_vec();
        signature.extend_from_slice(s.as_bytes());
        format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(signature))
    }
}

fn hash_to_scalar(parts: &[&[u8]]) -> Scalar {
    let mut hash = Sha512::new();
    for part in parts {
        hash.update(part);
    }
    Scalar::from_bytes_mod_order_wide(&hash.finalize().into())
}

/// The raw keys: an ordinary one, and the kinds a trust list must not hold.
struct RawKeys {
    honest: RawKey,
    identity: RawKey,
    /// `aB` plus a point of order 8.
    mixed_order: RawKey,
}

fn raw_keys() -> RawKeys {
    RawKeys {
        honest: RawKey::new("raw-2026", 11, EdwardsPoint::identity()),
        identity: RawKey::identity("identity"),
        mixed_order: RawKey::new("mixed-order", 12, EIGHT_TORSION[1]),
    }
}

/// The world's trust list with the raw keys as platform keys too.
fn trust_with(world: &World, raw: &RawKeys) -> TrustStore {
    TrustStore::new(
        world.trust.version(),
        world.trust.issuer_keys().cloned().collect(),
        vec![
            (
                world.platform.key_id().to_owned(),
                world.platform.public_key(),
            ),
            raw.honest.trusted(),
            raw.identity.trusted(),
            raw.mixed_order.trusted(),
        ],
    )
}

/// The token with `s` replaced by `s + ℓ`: the same signature to a
/// verifier that reduces `s`, refused by one that requires it below ℓ.
fn with_unreduced_s(token: &str) -> String {
    let (signing_input, signature) = token.rsplit_once('.').unwrap();
    let mut signature = URL_SAFE_NO_PAD.decode(signature).unwrap();
    let mut carry = 0u16;
    for (byte, order) in signature[32..].iter_mut().zip(GROUP_ORDER) {
        let sum = u16::from(*byte) + u16::from(order) + carry;
        *byte = sum as u8;
        carry = sum >> 8;
    }
    format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(signature))
}

/// One character of the signature part replaced (not among the last,
/// which carry padding bits).
fn with_signature_altered(token: &str, random: &mut XorShift) -> String {
    let signature_start = token.rfind('.').unwrap() + 1;
    let at = signature_start + random.below(token.len() - signature_start - 3);
    let replacement = if token.as_bytes()[at] == b'A' {
        "B"
    } else {
        "A"
    };
    let mut altered = token.to_owned();
    altered.replace_range(at..=at, replacement);
    altered
}

fn random_code_payload(random: &mut XorShift) -> CodePayload {
    let mut payload = personal_code();
    payload.jti = format!("0196a1c2-b111-7222-8333-{:012x}", random.next() >> 16);
    let now = now().timestamp();
    match random.below(8) {
        0 => payload.exp = now - random.below(100_000) as i64,
        1 => payload.iat = now + 61 + random.below(100_000) as i64,
        2 => payload.iss = "https://elsewhere.example".to_owned(),
        _ => {}
    }
    payload
}

/// A presentation a scanner might send, drawn from every kind there is.
fn random_code(random: &mut XorShift, world: &World, raw: &RawKeys) -> String {
    let payload = random_code_payload(random);
    let platform_signed = code(&world.platform, &payload);
    match random.below(21) {
        0..=4 => platform_signed,
        5 => qr_payload(&platform_signed),
        6 => with_signature_altered(&platform_signed, random),
        7 => {
            let mutated = mutate(random, platform_signed.as_bytes());
            String::from_utf8_lossy(&mutated).into_owned()
        }
        8 => {
            let mutated = mutate(random, qr_payload(&platform_signed).as_bytes());
            String::from_utf8_lossy(&mutated).into_owned()
        }
        // The platform's kid, another key.
        9 => code(&fixed_key("platform-2026", 9), &payload),
        10 => code(&fixed_key("platform-2027", 10), &payload),
        // An issuer's key is not a platform key.
        11 => code(&world.market_regulation, &payload),
        12 => certificate(&world.market_regulation, &licence()),
        13 => with_unreduced_s(&platform_signed),
        14 => raw.honest.code(&payload, Nonce::Honest),
        15 => raw
            .honest
            .code(&payload, Nonce::Identity(IDENTITY_AS_P_PLUS_ONE)),
        16 => raw.identity.code(&payload, Nonce::Honest),
        17 => raw.mixed_order.code(&payload, Nonce::Honest),
        18 => raw
            .identity
            .code(&payload, Nonce::WithSmallOrderPart(EIGHT_TORSION[4])),
        19 => String::new(),
        _ => {
            let length = random.below(60);
            (0..length)
                .map(|_| char::from(b"ZT1:.-_AbCz09 =\n"[random.below(16)]))
                .collect()
        }
    }
}

fn one_by_one_codes(
    presentations: &[&str],
    trust: &TrustStore,
) -> Vec<Result<CodeCheck, FormatError>> {
    presentations
        .iter()
        .map(|presentation| verify_code(presentation, trust, now()))
        .collect()
}

fn name(result: &Result<Outcome, FormatError>) -> String {
    match result {
        Ok(outcome) => outcome.as_str().to_owned(),
        Err(error) => format!("{error:?}")
            .split([' ', '{', '('])
            .next()
            .unwrap_or_default()
            .to_owned(),
    }
}

#[test]
fn a_batch_of_mixed_codes_answers_as_each_alone() {
    let world = world();
    let raw = raw_keys();
    let trust = trust_with(&world, &raw);
    let mut random = XorShift(0x5EED_BA7C_0DE5_0001);
    let mut seen = std::collections::BTreeMap::<String, usize>::new();
    for round in 0..60 {
        let size = match round {
            0 => 1,
            1 => 2,
            2 => 130,
            _ => random.below(40),
        };
        let mut presentations: Vec<String> = (0..size)
            .map(|_| random_code(&mut random, &world, &raw))
            .collect();
        // A code scanned twice in the same batch.
        if size > 1 {
            presentations.push(presentations[random.below(size)].clone());
        }
        let presentations: Vec<&str> = presentations.iter().map(String::as_str).collect();

        let batched = verify_codes(&presentations, &trust, now());
        let alone = one_by_one_codes(&presentations, &trust);
        for (index, (batched, alone)) in batched.iter().zip(&alone).enumerate() {
            assert_eq!(
                batched, alone,
                "round {round}, code {index}: {:.100}",
                presentations[index]
            );
        }
        assert_eq!(batched.len(), presentations.len());
        for check in &alone {
            let outcome = check
                .as_ref()
                .map(|check| check.outcome)
                .map_err(Clone::clone);
            *seen.entry(name(&outcome)).or_default() += 1;
        }
    }
    println!("outcomes: {seen:?}");
    for expected in [
        "valid",
        "signature-invalid",
        "untrusted-key",
        "expired",
        "not-yet-valid",
        "WrongType",
        "Empty",
    ] {
        assert!(seen.get(expected).is_some_and(|n| *n >= 5), "{seen:?}");
    }
}

/// A certificate a verifier might be shown, drawn from every kind there is.
fn random_certificate(random: &mut XorShift, world: &World) -> String {
    let mut payload = licence();
    payload.jti = format!("0196a1c2-9f10-7c22-8d3b-{:012x}", random.next() >> 16);
    let now = now().timestamp();
    match random.below(6) {
        0 => payload.exp = Some(now - random.below(100_000) as i64),
        1 => payload.nbf = now + 1 + random.below(100_000) as i64,
        _ => {}
    }
    let issued = certificate(&world.market_regulation, &payload);
    match random.below(14) {
        0..=4 => issued,
        5 => qr_payload(&issued),
        6 => with_signature_altered(&issued, random),
        7 => {
            let mutated = mutate(random, issued.as_bytes());
            String::from_utf8_lossy(&mutated).into_owned()
        }
        // Retired at the end of 2025.
        8 => certificate(&world.retired, &payload),
        // Another issuer's key, and that issuer for a type it may not issue.
        9 => certificate(&world.civil_affairs, &payload),
        10 => certificate(
            &world.civil_affairs,
            &CertificatePayload {
                iss: issuer_uri(CIVIL_AFFAIRS),
                ..payload
            },
        ),
        11 => certificate(&fixed_key("mr-2027", 13), &payload),
        12 => with_unreduced_s(&issued),
        _ => code(&world.platform, &personal_code()),
    }
}

#[test]
fn a_batch_of_mixed_certificates_answers_as_each_alone() {
    let world = world();
    let mut random = XorShift(0x5EED_BA7C_0DE5_0002);
    let mut seen = std::collections::BTreeSet::new();
    for round in 0..30 {
        let size = if round == 0 { 1 } else { random.below(30) };
        let presentations: Vec<String> = (0..size)
            .map(|_| random_certificate(&mut random, &world))
            .collect();
        let presentations: Vec<&str> = presentations.iter().map(String::as_str).collect();

        let batched = verify_certificates(&presentations, &world.trust, now());
        let alone: Vec<Result<CertificateCheck, FormatError>> = presentations
            .iter()
            .map(|presentation| verify_certificate(presentation, &world.trust, now()))
            .collect();
        assert_eq!(batched, alone, "round {round}");
        seen.extend(alone.iter().map(|check| {
            name(
                &check
                    .as_ref()
                    .map(|check| check.outcome)
                    .map_err(Clone::clone),
            )
        }));
    }
    for expected in [
        "valid",
        "signature-invalid",
        "untrusted-key",
        "issuer-not-authorized",
        "expired",
        "not-yet-valid",
        "WrongType",
    ] {
        assert!(seen.contains(expected), "{seen:?}");
    }
}

#[test]
fn an_empty_batch_answers_nothing() {
    let world = world();
    assert_eq!(verify_codes(&[], &world.trust, now()), vec![]);
    assert_eq!(verify_certificates(&[], &world.trust, now()), vec![]);
}

#[test]
fn a_batch_of_one_answers_as_verify_code() {
    let world = world();
    let valid = code(&world.platform, &personal_code());
    let altered = with_signature_altered(&valid, &mut XorShift(7));
    for presentation in [valid.as_str(), &qr_payload(&valid), &altered, "", "a.b"] {
        let batched = verify_codes(&[presentation], &world.trust, now());
        assert_eq!(
            batched,
            vec![verify_code(presentation, &world.trust, now())]
        );
    }
    let check = verify_codes(&[valid.as_str()], &world.trust, now());
    assert!(matches!(&check[..], [Ok(check)] if check.outcome == Outcome::Valid));
}

fn platform_codes(world: &World, count: usize) -> Vec<String> {
    (0..count)
        .map(|n| {
            let mut payload = personal_code();
            payload.jti = format!("0196a1c2-b111-7222-8333-{n:012}");
            code(&world.platform, &payload)
        })
        .collect()
}

fn outcomes(checks: &[Result<CodeCheck, FormatError>]) -> Vec<Result<Outcome, FormatError>> {
    checks
        .iter()
        .map(|check| {
            check
                .as_ref()
                .map(|check| check.outcome)
                .map_err(Clone::clone)
        })
        .collect()
}

#[test]
fn altered_codes_among_many_valid_ones_are_found() {
    let world = world();
    let mut presentations = platform_codes(&world, 70);
    let mut random = XorShift(11);
    for at in [0, 17, 18, 69] {
        presentations[at] = with_signature_altered(&presentations[at], &mut random);
    }
    let presentations: Vec<&str> = presentations.iter().map(String::as_str).collect();

    let checks = verify_codes(&presentations, &world.trust, now());
    let expected: Vec<_> = (0..70)
        .map(|at| {
            Ok(if [0, 17, 18, 69].contains(&at) {
                Outcome::SignatureInvalid
            } else {
                Outcome::Valid
            })
        })
        .collect();
    assert_eq!(outcomes(&checks), expected);
    assert_eq!(checks, one_by_one_codes(&presentations, &world.trust));
}

#[test]
fn signatures_ring_refuses_are_refused_in_a_batch() {
    let world = world();
    let raw = raw_keys();
    let trust = trust_with(&world, &raw);
    let payload = personal_code();
    // Two more encodings of the identity as R: the batch equation alone
    // would accept them (it compares points, ring compares bytes); and
    // s + ℓ, which ring refuses.
    let strangely_signed = [
        raw.honest
            .code(&payload, Nonce::Identity(IDENTITY_AS_P_PLUS_ONE)),
        raw.honest
            .code(&payload, Nonce::Identity(IDENTITY_WITH_NEGATIVE_ZERO)),
        with_unreduced_s(&raw.honest.code(&payload, Nonce::Honest)),
        with_unreduced_s(&code(&world.platform, &payload)),
    ];
    let mut presentations = platform_codes(&world, 8);
    presentations.extend(strangely_signed.iter().cloned());
    presentations.push(raw.honest.code(&payload, Nonce::Honest));
    let presentations: Vec<&str> = presentations.iter().map(String::as_str).collect();

    let checks = verify_codes(&presentations, &trust, now());
    let mut expected = vec![Ok(Outcome::Valid); 8];
    expected.extend(vec![Ok(Outcome::SignatureInvalid); 4]);
    expected.push(Ok(Outcome::Valid));
    assert_eq!(outcomes(&checks), expected);
    assert_eq!(checks, one_by_one_codes(&presentations, &trust));

    let batch_equation_accepts = |token: &str| {
        let (signing_input, signature) = token.rsplit_once('.').unwrap();
        let signature: [u8; 64] = URL_SAFE_NO_PAD
            .decode(signature)
            .unwrap()
            .try_into()
            .unwrap();
        let key = ed25519_dalek::VerifyingKey::from_bytes(&raw.honest.public).unwrap();
        ed25519_dalek::verify_batch(
            &[signing_input.as_bytes(), signing_input.as_bytes()],
            &[ed25519_dalek::Signature::from_bytes(&signature); 2],
            &[key, key],
        )
        .is_ok()
    };
    assert!(batch_equation_accepts(&strangely_signed[0]));
    assert!(batch_equation_accepts(&strangely_signed[1]));
}

#[test]
fn keys_with_a_small_order_part_get_rings_answer() {
    let world = world();
    let raw = raw_keys();
    let trust = trust_with(&world, &raw);
    // Ring accepts under the identity key what nobody signed (a trust list
    // must never hold one); the batch gives the same answer.
    let forged = raw.identity.code(&personal_code(), Nonce::Honest);
    assert_eq!(
        verify_code(&forged, &trust, now()).unwrap().outcome,
        Outcome::Valid
    );
    // Under a key with an order-8 part ring accepts one honest signature
    // in eight; a batch equation would accept others.
    let mut presentations: Vec<String> = (0..48)
        .map(|n| {
            let mut payload = personal_code();
            payload.jti = format!("0196a1c2-b111-7222-8333-{n:012}");
            if n % 2 == 0 {
                raw.mixed_order.code(&payload, Nonce::Honest)
            } else {
                code(&world.platform, &payload)
            }
        })
        .collect();
    presentations.push(forged);
    // Under the identity key anyone can make a signature that misses by a
    // small-order point, which ring refuses and a batch equation may not.
    presentations.extend((0..8).map(|n| {
        let mut payload = personal_code();
        payload.jti = format!("0196a1c2-b111-7222-8333-{:012}", 100 + n);
        raw.identity
            .code(&payload, Nonce::WithSmallOrderPart(EIGHT_TORSION[4]))
    }));
    let presentations: Vec<&str> = presentations.iter().map(String::as_str).collect();

    let checks = verify_codes(&presentations, &trust, now());
    let alone = one_by_one_codes(&presentations, &trust);
    assert_eq!(outcomes(&checks), outcomes(&alone));
    assert_eq!(checks, alone);
    let mixed_order_outcomes: std::collections::BTreeSet<&str> = checks
        .iter()
        .flatten()
        .filter(|check| check.key_id == "mixed-order")
        .map(|check| check.outcome.as_str())
        .collect();
    assert_eq!(
        mixed_order_outcomes,
        ["signature-invalid", "valid"].into(),
        "ring accepts some, refuses others"
    );
    assert_eq!(outcomes(&checks)[48], Ok(Outcome::Valid), "the forgery");
    assert_eq!(
        outcomes(&checks)[49..],
        vec![Ok(Outcome::SignatureInvalid); 8]
    );
}

/// The one documented difference: a key holder's signature with a
/// small-order point added to `R` fails alone and may pass in a batch.
#[test]
fn a_small_order_part_added_to_r_may_pass_only_in_a_batch() {
    let world = world();
    let raw = raw_keys();
    let trust = trust_with(&world, &raw);
    let order_two = EIGHT_TORSION[4];
    assert!(
        order_two != EdwardsPoint::identity() && order_two + order_two == EdwardsPoint::identity()
    );
    let mut passed_in_a_batch = 0;
    for batch in 0..8 {
        let mut payload = personal_code();
        payload.jti = format!("0196a1c2-b111-7222-8333-{batch:012}");
        let odd = raw
            .honest
            .code(&payload, Nonce::WithSmallOrderPart(order_two));
        let alone = verify_code(&odd, &trust, now()).unwrap();
        assert_eq!(alone.outcome, Outcome::SignatureInvalid);

        let mut presentations = platform_codes(&world, 4);
        presentations.push(odd);
        let presentations: Vec<&str> = presentations.iter().map(String::as_str).collect();
        let checks = verify_codes(&presentations, &trust, now());
        let outcomes = outcomes(&checks);
        assert_eq!(outcomes[..4], vec![Ok(Outcome::Valid); 4]);
        match &checks[4] {
            Ok(check) if check.outcome == Outcome::Valid => passed_in_a_batch += 1,
            other => assert_eq!(other, &Ok(alone)),
        }
    }
    assert!(
        passed_in_a_batch > 0,
        "the difference is real, and documented"
    );
    assert!(passed_in_a_batch < 8, "and not the rule");
}
