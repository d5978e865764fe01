//! Online verification: one distinct answer per failure, unreadable input
//! refused without a panic, holders masked for third parties, key
//! rotation, and revocation seen by another instance.

use std::time::Duration;

use chrono::Utc;
use tonic::Code;
use zhongtai_certificate::shared::Keyring;
use zhongtai_contracts::certificate::v1 as pb;
use zhongtai_contracts::certificate::v1::certificate_service_server::CertificateService;
use zhongtai_contracts::common::v1 as common;
use zhongtai_credential::{
    CERTIFICATE_TYP, CertificatePayload, CompactJws, SigningKey, sign_compact,
};
use zhongtai_kit::{Caller, Role};

use super::{counts, violations};
use crate::support::*;

const BANK: &str = "331100/agricultural-bank";

fn bank() -> Caller {
    staff("teller", BANK, &[Role::Viewer])
}

/// Flips one character in the middle of the payload part, to another
/// base64url character.
fn tampered(token: &str) -> String {
    let (header, rest) = token.split_once('.').unwrap();
    let (payload, signature) = rest.split_once('.').unwrap();
    let mut bytes = payload.as_bytes().to_vec();
    let middle = bytes.len() / 2;
    bytes[middle] = if bytes[middle] == b'A' { b'B' } else { b'A' };
    format!("{header}.{}.{signature}", String::from_utf8(bytes).unwrap())
}

fn payload_of(token: &str) -> CertificatePayload {
    CompactJws::parse(token).unwrap().payload_json().unwrap()
}

fn outcome(result: &pb::VerificationResult) -> pb::VerificationOutcome {
    result.outcome()
}

async fn verify_qr(h: &Harness, qr_payload: &str) -> Result<pb::VerificationResult, tonic::Status> {
    Ok(h.api
        .verify_certificate(by(
            &bank(),
            pb::VerifyCertificateRequest {
                presentation: Some(pb::verify_certificate_request::Presentation::QrPayload(
                    qr_payload.into(),
                )),
                include_claims: false,
            },
        ))
        .await?
        .into_inner()
        .result
        .unwrap())
}

/// A licence valid from `from_days` days from now for `validity_days`.
async fn licence_in_window(h: &Harness, from_days: i64, validity_days: i64) -> pb::Certificate {
    let issuer = licence_issuer(h).await;
    let mut request = licence_request(&issuer);
    request.valid_from_time = Some(prost_types::Timestamp {
        seconds: Utc::now().timestamp() + from_days * 86_400,
        nanos: 0,
    });
    request.validity = Some(prost_types::Duration {
        seconds: validity_days * 86_400,
        nanos: 0,
    });
    issue(h, &issuer_operator(MARKET), request).await.unwrap()
}

#[tokio::test]
async fn an_issued_licence_verifies_by_token_and_qr_payload() {
    let h = Harness::postgres().await;
    let licence = issue_licence(&h).await;
    let result = verify(&h, &bank(), &licence.token, true).await.unwrap();
    assert_eq!(
        outcome(&result),
        pb::VerificationOutcome::Valid,
        "{result:?}"
    );
    assert!(result.status_checked);
    assert_eq!(result.certificate_id, licence.id);
    assert_eq!(result.certificate_type, "business-licence");
    assert_eq!(result.issuer_id, licence.issuer_id);
    assert_eq!(result.key_id, licence.key_id);
    assert_eq!(result.valid_until_time, licence.valid_until_time);
    assert_eq!(
        result.claims, licence.claims,
        "asked-for claims of a valid one"
    );
    assert!(result.trust_list_version > 0);
    assert!(result.check_time.is_some());

    let by_qr = verify_qr(&h, &licence.qr_payload).await.unwrap();
    assert_eq!(outcome(&by_qr), pb::VerificationOutcome::Valid);
    assert!(by_qr.claims.is_empty(), "claims only when asked for");
}

#[tokio::test]
async fn each_failure_has_its_own_outcome() {
    let h = Harness::postgres().await;
    let licence = issue_licence(&h).await;
    let check = |token: String| {
        let h = &h;
        async move { outcome(&verify(h, &bank(), &token, true).await.unwrap()) }
    };

    let forged = verify(&h, &bank(), &tampered(&licence.token), true)
        .await
        .unwrap();
    assert_eq!(outcome(&forged), pb::VerificationOutcome::SignatureInvalid);
    assert!(forged.claims.is_empty(), "no claims from a forgery");

    // Signed by a key the trust list does not hold.
    let (rogue, _) = SigningKey::generate("rogue-key-1").unwrap();
    let foreign = sign_compact(&rogue, CERTIFICATE_TYP, &payload_of(&licence.token));
    assert_eq!(check(foreign).await, pb::VerificationOutcome::UntrustedKey);
    // Under the real key id, a rogue key's signature does not match.
    let (impostor, _) = SigningKey::generate(licence.key_id.clone()).unwrap();
    let impersonated = sign_compact(&impostor, CERTIFICATE_TYP, &payload_of(&licence.token));
    assert_eq!(
        check(impersonated).await,
        pb::VerificationOutcome::SignatureInvalid
    );

    let expired = licence_in_window(&h, -3, 1).await;
    assert_eq!(check(expired.token).await, pb::VerificationOutcome::Expired);
    let future = licence_in_window(&h, 2, 30).await;
    assert_eq!(
        check(future.token).await,
        pb::VerificationOutcome::NotYetValid
    );

    // The issuer's own key over a type it may not issue.
    ensure_type(&h, health_certificate_type()).await;
    let issuer_id = licence.issuer_id.parse().unwrap();
    let signer = h
        .center
        .issuers
        .issuer_signer(issuer_id, "business-licence")
        .await
        .unwrap();
    let mut other_type = payload_of(&licence.token);
    other_type.vct = "health-certificate".into();
    let unauthorized = sign_compact(&signer.key, CERTIFICATE_TYP, &other_type);
    assert_eq!(
        check(unauthorized).await,
        pb::VerificationOutcome::IssuerNotAuthorized
    );

    let suspended = issue_licence_to(&h, "龙泉宝剑有限公司", "91331100MA2A0B1C3E").await;
    suspend(&h, MARKET, &suspended.id, "核查中").await;
    assert_eq!(
        check(suspended.token.clone()).await,
        pb::VerificationOutcome::Suspended
    );
    revoke(&h, MARKET, &licence.id, "吊销").await;
    assert_eq!(
        check(licence.token.clone()).await,
        pb::VerificationOutcome::Revoked
    );
    assert_eq!(
        check(tampered(&licence.token)).await,
        pb::VerificationOutcome::SignatureInvalid,
        "a forgery of a revoked licence is still a forgery"
    );
}

#[tokio::test]
async fn unreadable_presentations_are_invalid_arguments_and_change_nothing() {
    let h = Harness::postgres().await;
    let licence = issue_licence(&h).await;
    let before = counts(&h).await;
    let token = licence.token.clone();
    let qr = licence.qr_payload.clone();
    let token_cases = [
        ("garbage", "not a token at all".to_string()),
        ("empty", String::new()),
        ("two parts", token.rsplit_once('.').unwrap().0.to_string()),
        ("truncated base64", token[..token.len() - 5].to_string()),
        ("bad base64", format!("{token}!")),
        ("1 MiB", "a".repeat(1024 * 1024)),
        ("a code, not a certificate", {
            let (key, _) = SigningKey::generate("k").unwrap();
            sign_compact(&key, "zt-code+jwt", &payload_of(&token))
        }),
    ];
    for (case, presentation) in token_cases {
        let refused = verify(&h, &bank(), &presentation, true).await.unwrap_err();
        assert_eq!(violations(&refused), ["token"], "{case}: {refused:?}");
    }
    let qr_cases = [
        ("truncated base45", qr[..qr.len() - 7].to_string()),
        ("base45 out of alphabet", format!("{qr}~~")),
        ("prefix only", "ZT1:".to_string()),
        ("1 MiB", format!("ZT1:{}", "0".repeat(1024 * 1024))),
    ];
    for (case, presentation) in qr_cases {
        let refused = verify_qr(&h, &presentation).await.unwrap_err();
        assert_eq!(violations(&refused), ["qr_payload"], "{case}: {refused:?}");
    }
    let neither = h
        .api
        .verify_certificate(by(&bank(), pb::VerifyCertificateRequest::default()))
        .await
        .unwrap_err();
    assert_eq!(violations(&neither), ["presentation"]);

    // A readable token naming an unknown key is an answer, not an error.
    let (stranger, _) = SigningKey::generate("no-such-key").unwrap();
    let unknown_kid = sign_compact(&stranger, CERTIFICATE_TYP, &payload_of(&token));
    let answer = verify(&h, &bank(), &unknown_kid, true).await.unwrap();
    assert_eq!(outcome(&answer), pb::VerificationOutcome::UntrustedKey);
    assert_eq!(answer.key_id, "no-such-key");
    assert_eq!(counts(&h).await, before);
}

#[tokio::test]
async fn holders_are_masked_for_everyone_but_the_holder_and_the_issuer() {
    let h = Harness::postgres().await;
    let certificate = issue_health_certificate(&h, "33110019900101123X", "李娟").await;
    let id_number = |result: &pb::VerificationResult| match result
        .holder
        .as_ref()
        .and_then(|holder| holder.holder.clone())
    {
        Some(common::holder::Holder::Person(person)) => person.id_number,
        other => panic!("expected a person, got {other:?}"),
    };
    let for_bank = verify(&h, &bank(), &certificate.token, false)
        .await
        .unwrap();
    assert_eq!(id_number(&for_bank), "**************123X");
    let for_holder = verify(
        &h,
        &citizen("33110019900101123X"),
        &certificate.token,
        false,
    )
    .await
    .unwrap();
    assert_eq!(id_number(&for_holder), "33110019900101123X");
    let for_issuer = verify(
        &h,
        &staff("clerk", HEALTH, &[Role::Viewer]),
        &certificate.token,
        false,
    )
    .await
    .unwrap();
    assert_eq!(id_number(&for_issuer), "33110019900101123X");
    let forged = verify(
        &h,
        &citizen("33110019900101123X"),
        &tampered(&certificate.token),
        false,
    )
    .await
    .unwrap();
    if forged.holder.is_some() {
        assert_eq!(id_number(&forged), "**************123X");
    }
}

#[tokio::test]
async fn after_a_key_rotation_old_certificates_verify_and_new_ones_carry_the_new_key() {
    let h = Harness::postgres().await;
    let issuer = licence_issuer(&h).await;
    let old = issue_licence(&h).await;
    let rotated = h
        .api
        .rotate_signing_key(by(
            &platform_admin(),
            pb::RotateSigningKeyRequest {
                request_id: rid(),
                issuer_id: issuer.id.clone(),
            },
        ))
        .await
        .unwrap()
        .into_inner();
    let new_key = rotated.new_key.unwrap().key_id;
    assert_ne!(new_key, old.key_id);
    let new = issue_licence_to(&h, "龙泉宝剑有限公司", "91331100MA2A0B1C3E").await;
    assert_eq!(new.key_id, new_key);
    assert_eq!(CompactJws::parse(&new.token).unwrap().header().kid, new_key);
    let old_check = verify(&h, &bank(), &old.token, false).await.unwrap();
    assert_eq!(
        outcome(&old_check),
        pb::VerificationOutcome::Valid,
        "{old_check:?}"
    );
    assert_eq!(old_check.key_id, old.key_id);
    let new_check = verify(&h, &bank(), &new.token, false).await.unwrap();
    assert_eq!(outcome(&new_check), pb::VerificationOutcome::Valid);
}

#[tokio::test]
async fn a_revocation_on_one_instance_reaches_the_verifiers_of_another() {
    let h = Harness::postgres().await;
    let licence = issue_licence(&h).await;
    let other = h.another_instance();
    let other_api = other.certificate_api();
    let check_there = || {
        let request = by(
            &bank(),
            pb::VerifyCertificateRequest {
                presentation: Some(pb::verify_certificate_request::Presentation::Token(
                    licence.token.clone(),
                )),
                include_claims: false,
            },
        );
        let api = &other_api;
        async move {
            api.verify_certificate(request)
                .await
                .unwrap()
                .into_inner()
                .result
                .unwrap()
                .outcome()
        }
    };
    assert_eq!(check_there().await, pb::VerificationOutcome::Valid);

    revoke(&h, MARKET, &licence.id, "吊销").await;
    // The other instance answers from memory; it re-reads changed lists
    // every refresh interval (50 ms here).
    zhongtai_testkit::eventually(
        Duration::from_secs(10),
        "the other instance reports the revocation",
        || async { (check_there().await == pb::VerificationOutcome::Revoked).then_some(()) },
    )
    .await;
    let verdict = verify(&h, &bank(), &licence.token, false).await.unwrap();
    assert_eq!(outcome(&verdict), pb::VerificationOutcome::Revoked);
}

#[tokio::test]
async fn verification_needs_no_role() {
    let h = Harness::postgres().await;
    let licence = issue_licence(&h).await;
    let anyone = staff("someone", "330100/transport", &[]);
    let result = verify(&h, &anyone, &licence.token, false).await.unwrap();
    assert_eq!(outcome(&result), pb::VerificationOutcome::Valid);
    let refused = verify(&h, &anyone, "", false).await.unwrap_err();
    assert_eq!(refused.code(), Code::InvalidArgument);
}
