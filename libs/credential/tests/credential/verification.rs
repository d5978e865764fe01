//! Every outcome of offline verification, for certificates and codes.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::Duration;
use zhongtai_credential::{
    CODE_CLOCK_SKEW_SECS, CertificateCheck, ClaimKind, ClaimValue, CodeCheck, FormatError, Outcome,
    SigningKey, claims_from_json, qr_payload, verify_certificate, verify_code,
};

use crate::fixtures::{self, World, certificate, code, licence, now, personal_code, world};

fn check_certificate(world: &World, presentation: &str) -> CertificateCheck {
    verify_certificate(presentation, &world.trust, now()).unwrap()
}

fn check_code(world: &World, presentation: &str) -> CodeCheck {
    verify_code(presentation, &world.trust, now()).unwrap()
}

#[test]
fn a_certificate_verifies_as_a_token_and_as_a_qr_payload() {
    let world = world();
    let token = certificate(&world.market_regulation, &licence());
    for presentation in [
        token.clone(),
        qr_payload(&token),
        format!("{}\n", qr_payload(&token)),
    ] {
        let check = check_certificate(&world, &presentation);
        assert_eq!(check.outcome, Outcome::Valid, "{}", check.detail);
        assert_eq!(check.key_id, "mr-2026");
        assert_eq!(check.payload, Some(licence()));
    }
}

#[test]
fn verified_claims_read_back_with_their_kinds() {
    let world = world();
    let check = check_certificate(&world, &certificate(&world.market_regulation, &licence()));
    let claims = check.payload.unwrap().claims;
    let kinds = |name: &str| {
        Some(match name {
            "registered_capital" => ClaimKind::Decimal,
            "established" | "term_until" | "issued_on" => ClaimKind::Date,
            _ => ClaimKind::String,
        })
    };
    let claims = claims_from_json(&claims, kinds).unwrap();
    assert_eq!(claims.len(), 10);
    assert!(claims.contains(&zhongtai_credential::Claim {
        name: "registered_capital".to_owned(),
        value: ClaimValue::Decimal("5000000.00".to_owned()),
    }));
    let established = claims
        .iter()
        .find(|claim| claim.name == "established")
        .unwrap();
    assert_eq!(established.value, ClaimValue::Date("2021-03-18".to_owned()));
}

#[test]
fn a_certificate_without_an_end_stays_valid() {
    let world = world();
    let payload = zhongtai_credential::CertificatePayload {
        exp: None,
        ..licence()
    };
    let check = verify_certificate(
        &certificate(&world.market_regulation, &payload),
        &world.trust,
        now() + Duration::days(365 * 50),
    )
    .unwrap();
    assert_eq!(check.outcome, Outcome::Valid);
}

/// The token with its payload replaced, keeping the original signature.
fn with_payload(token: &str, payload: &impl serde::Serialize) -> String {
    let parts: Vec<&str> = token.split('.').collect();
    let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(payload).unwrap());
    format!("{}.{payload}.{}", parts[0], parts[2])
}

#[test]
fn an_altered_certificate_has_an_invalid_signature() {
    let world = world();
    let token = certificate(&world.market_regulation, &licence());
    let altered = zhongtai_credential::CertificatePayload {
        exp: None,
        ..licence()
    };
    let check = check_certificate(&world, &with_payload(&token, &altered));
    assert_eq!(check.outcome, Outcome::SignatureInvalid);
    assert!(check.detail.contains("altered"), "{}", check.detail);
    assert_eq!(
        check.payload.as_ref(),
        Some(&altered),
        "the payload is shown, marked untrusted by the outcome"
    );

    let mut signature_flipped = token.clone().into_bytes();
    let last = signature_flipped.len() - 2;
    signature_flipped[last] = if signature_flipped[last] == b'A' {
        b'B'
    } else {
        b'A'
    };
    let check = check_certificate(&world, &String::from_utf8(signature_flipped).unwrap());
    assert_eq!(check.outcome, Outcome::SignatureInvalid);
    let check = check_certificate(&world, &qr_payload(&with_payload(&token, &altered)));
    assert_eq!(check.outcome, Outcome::SignatureInvalid);
}

#[test]
fn keys_outside_the_trust_list_are_untrusted() {
    let world = world();
    let stranger = SigningKey::generate("mr-2027").unwrap().0;
    let check = check_certificate(&world, &certificate(&stranger, &licence()));
    assert_eq!(check.outcome, Outcome::UntrustedKey);
    assert_eq!(check.key_id, "mr-2027");
    assert!(
        check.detail.contains("not in the trust list"),
        "{}",
        check.detail
    );
    assert_eq!(check.payload, Some(licence()));

    // The right kid, but not the key the trust list has under it.
    let impostor = SigningKey::generate("mr-2026").unwrap().0;
    let check = check_certificate(&world, &certificate(&impostor, &licence()));
    assert_eq!(check.outcome, Outcome::SignatureInvalid);
}

#[test]
fn another_issuers_key_cannot_sign_for_an_issuer() {
    let world = world();
    // Civil affairs signs a certificate claiming to come from market regulation.
    let check = check_certificate(&world, &certificate(&world.civil_affairs, &licence()));
    assert_eq!(check.outcome, Outcome::UntrustedKey);
    assert!(
        check.detail.contains(fixtures::CIVIL_AFFAIRS),
        "{}",
        check.detail
    );
    // A platform key is no issuer key either.
    let check = check_certificate(&world, &certificate(&world.platform, &licence()));
    assert_eq!(check.outcome, Outcome::UntrustedKey);
}

#[test]
fn a_retired_key_verifies_only_until_its_date() {
    let world = world();
    let token = certificate(&world.retired, &licence());
    let check = check_certificate(&world, &token);
    assert_eq!(check.outcome, Outcome::UntrustedKey);
    assert!(
        check.detail.contains("2025-12-31T16:00:00"),
        "{}",
        check.detail
    );
    // Before its date, the same key verified.
    let in_2025 = chrono::TimeZone::with_ymd_and_hms(&chrono::Utc, 2025, 11, 1, 0, 0, 0).unwrap();
    let payload = zhongtai_credential::CertificatePayload {
        nbf: in_2025.timestamp() - 10,
        ..licence()
    };
    let token = certificate(&world.retired, &payload);
    let check = verify_certificate(&token, &world.trust, in_2025).unwrap();
    assert_eq!(check.outcome, Outcome::Valid, "{}", check.detail);
}

#[test]
fn an_issuer_cannot_issue_a_type_it_is_not_authorized_for() {
    let world = world();
    let payload = zhongtai_credential::CertificatePayload {
        vct: "marriage-certificate".to_owned(),
        ..licence()
    };
    let check = check_certificate(&world, &certificate(&world.market_regulation, &payload));
    assert_eq!(check.outcome, Outcome::IssuerNotAuthorized);
    assert!(
        check.detail.contains("marriage-certificate"),
        "{}",
        check.detail
    );
    let food = zhongtai_credential::CertificatePayload {
        vct: "food-licence".to_owned(),
        ..licence()
    };
    assert_eq!(
        check_certificate(&world, &certificate(&world.market_regulation, &food)).outcome,
        Outcome::Valid
    );
}

#[test]
fn the_validity_window_is_checked_last() {
    let world = world();
    let future = zhongtai_credential::CertificatePayload {
        nbf: now().timestamp() + 1,
        ..licence()
    };
    let check = check_certificate(&world, &certificate(&world.market_regulation, &future));
    assert_eq!(check.outcome, Outcome::NotYetValid);
    assert!(
        check.detail.contains("valid from 2026-06-01T08:00:01"),
        "{}",
        check.detail
    );

    let at_nbf = zhongtai_credential::CertificatePayload {
        nbf: now().timestamp(),
        ..licence()
    };
    assert_eq!(
        check_certificate(&world, &certificate(&world.market_regulation, &at_nbf)).outcome,
        Outcome::Valid
    );

    let expired = zhongtai_credential::CertificatePayload {
        exp: Some(now().timestamp()),
        ..licence()
    };
    let check = check_certificate(&world, &certificate(&world.market_regulation, &expired));
    assert_eq!(check.outcome, Outcome::Expired);
    assert!(
        check.detail.contains("expired at 2026-06-01T08:00:00"),
        "{}",
        check.detail
    );

    // An unauthorized type is reported before the dates.
    let both = zhongtai_credential::CertificatePayload {
        vct: "x".to_owned(),
        ..expired
    };
    let check = check_certificate(&world, &certificate(&world.market_regulation, &both));
    assert_eq!(check.outcome, Outcome::IssuerNotAuthorized);
}

#[test]
fn a_signed_payload_of_the_wrong_shape_is_a_format_error() {
    let world = world();
    let token = zhongtai_credential::sign_compact(
        &world.market_regulation,
        zhongtai_credential::CERTIFICATE_TYP,
        &serde_json::json!({"iss": "zhongtai:issuer:x", "sub": 5}),
    );
    assert!(matches!(
        verify_certificate(&token, &world.trust, now()),
        Err(FormatError::Payload { .. })
    ));
}

#[test]
fn a_code_verifies_as_a_token_and_as_a_qr_payload() {
    let world = world();
    let token = code(&world.platform, &personal_code());
    for presentation in [token.clone(), qr_payload(&token)] {
        let check = check_code(&world, &presentation);
        assert_eq!(check.outcome, Outcome::Valid, "{}", check.detail);
        assert_eq!(check.key_id, "platform-2026");
        assert_eq!(check.payload, Some(personal_code()));
    }
    let holder = personal_code().holder;
    let zhongtai_credential::Holder::Person { id_number, .. } = holder else {
        panic!("a person")
    };
    assert_eq!(id_number, "**************123X");
}

#[test]
fn codes_fail_like_certificates() {
    let world = world();
    let expired = zhongtai_credential::CodePayload {
        exp: now().timestamp(),
        ..personal_code()
    };
    assert_eq!(
        check_code(&world, &code(&world.platform, &expired)).outcome,
        Outcome::Expired
    );

    let skewed = zhongtai_credential::CodePayload {
        iat: now().timestamp() + CODE_CLOCK_SKEW_SECS,
        exp: now().timestamp() + CODE_CLOCK_SKEW_SECS + 60,
        ..personal_code()
    };
    assert_eq!(
        check_code(&world, &code(&world.platform, &skewed)).outcome,
        Outcome::Valid
    );
    let future = zhongtai_credential::CodePayload {
        iat: skewed.iat + 1,
        ..skewed
    };
    assert_eq!(
        check_code(&world, &code(&world.platform, &future)).outcome,
        Outcome::NotYetValid
    );

    let not_platform = zhongtai_credential::CodePayload {
        iss: "zhongtai:issuer:x".to_owned(),
        ..personal_code()
    };
    let check = check_code(&world, &code(&world.platform, &not_platform));
    assert_eq!(check.outcome, Outcome::UntrustedKey);

    // Issuer keys do not sign codes.
    let check = check_code(&world, &code(&world.market_regulation, &personal_code()));
    assert_eq!(check.outcome, Outcome::UntrustedKey);
    assert_eq!(check.payload, Some(personal_code()));

    let token = code(&world.platform, &personal_code());
    let altered = zhongtai_credential::CodePayload {
        st: zhongtai_credential::HolderStatus::Normal,
        exp: personal_code().exp + 3600,
        ..personal_code()
    };
    let check = check_code(&world, &with_payload(&token, &altered));
    assert_eq!(check.outcome, Outcome::SignatureInvalid);
}

#[test]
fn a_token_of_the_other_kind_is_refused_as_a_format_error() {
    let world = world();
    let certificate = certificate(&world.market_regulation, &licence());
    assert_eq!(
        verify_code(&certificate, &world.trust, now()).err(),
        Some(FormatError::WrongType {
            expected: "zt-code+jwt",
            found: Some("zt-cert+jwt".to_owned())
        })
    );
    let code = code(&world.platform, &personal_code());
    assert_eq!(
        verify_certificate(&qr_payload(&code), &world.trust, now()).err(),
        Some(FormatError::WrongType {
            expected: "zt-cert+jwt",
            found: Some("zt-code+jwt".to_owned())
        })
    );
}
