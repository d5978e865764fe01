//! A holder's own code: signed from her certificates as they stand, and
//! each failure of a code its own answer.

use tonic::Code;
use zhongtai_contracts::certificate::v1 as pb;
use zhongtai_credential::QR_PREFIX;
use zhongtai_kit::config::CertificateConfig;

use super::world::*;
use crate::support::{HEALTH, Harness, citizen, config, revoke, suspend};

#[tokio::test]
async fn a_shown_code_verifies_with_the_holder_masked_and_her_claims() {
    let w = World::new().await;
    w.parent_certified().await;

    let code = w.show(&parent()).await.unwrap();
    assert_eq!(code.kind(), pb::CodeKind::Personal);
    assert_eq!(code.holder_status(), pb::HolderStatus::Normal);
    assert!(code.qr_payload.starts_with(QR_PREFIX));
    let shown = format!("{:?}", code.holder);
    assert!(
        shown.contains(PARENT_NAME) && shown.contains("**************4321"),
        "{shown}"
    );
    assert!(!code.token.contains(PARENT_ID) && !shown.contains(PARENT_ID));
    assert_eq!(
        code.claims
            .iter()
            .map(|c| c.name.as_str())
            .collect::<Vec<_>>(),
        ["occupation"],
        "only the claims the type shows in codes"
    );

    for payload in [&code.qr_payload, &code.token] {
        let answer = w.verify(payload).await.unwrap();
        let result = answer.result.clone().unwrap();
        assert_eq!(
            result.outcome(),
            pb::VerificationOutcome::Valid,
            "{result:?}"
        );
        assert_eq!(answer.code_kind(), pb::CodeKind::Personal);
        assert_eq!(answer.holder_status(), pb::HolderStatus::Normal);
        assert_eq!(result.certificate_id, code.id);
        assert_eq!(result.key_id, code.key_id);
        assert_eq!(result.claims.len(), 1);
    }
    assert_eq!(
        w.footprint().await[0..4],
        [0, 0, 0, 0],
        "showing writes nothing"
    );
}

#[tokio::test]
async fn the_code_colour_follows_suspension_and_revocation() {
    let w = World::new().await;
    let certificate = w.parent_certified().await;
    let second = w.parent_certified().await;
    suspend(&w.h, HEALTH, &second.id, "复检中").await;
    let code = w.show(&parent()).await.unwrap();
    assert_eq!(code.holder_status(), pb::HolderStatus::Attention);
    assert_eq!(
        code.claims.len(),
        1,
        "claims still come from the valid certificate"
    );

    revoke(&w.h, HEALTH, &certificate.id, "体检造假").await;
    let code = w.show(&parent()).await.unwrap();
    assert_eq!(code.holder_status(), pb::HolderStatus::Restricted);
    assert!(code.claims.is_empty(), "no certificate in force is left");
    let answer = w.verify(&code.qr_payload).await.unwrap();
    assert_eq!(answer.holder_status(), pb::HolderStatus::Restricted);
}

#[tokio::test]
async fn codes_live_for_the_configured_validity() {
    let h = Harness::postgres_with(CertificateConfig {
        code_validity_secs: 30,
        ..config()
    })
    .await;
    let w = World::on(h);
    w.parent_certified().await;
    let code = w.show(&parent()).await.unwrap();
    let issued = code.issue_time.unwrap().seconds;
    assert_eq!(code.expire_time.unwrap().seconds - issued, 30);
}

#[tokio::test]
async fn expired_tampered_foreign_and_future_codes_each_have_their_answer() {
    let w = World::new().await;
    w.parent_certified().await;

    let expired = w.signed_code(120, 30).await;
    assert_eq!(w.outcome(&expired).await, pb::VerificationOutcome::Expired);
    let future = w.signed_code(-3_600, 7_200).await;
    assert_eq!(
        w.outcome(&future).await,
        pb::VerificationOutcome::NotYetValid
    );

    let code = w.show(&parent()).await.unwrap();
    let (head, rest) = code.token.split_once('.').unwrap();
    let (_, signature) = rest.split_once('.').unwrap();
    let forged_body = base64::Engine::encode(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD,
        br#"{"iss":"zhongtai:platform","jti":"x","iat":1,"exp":99999999999,"kind":"personal","holder":{"person":{"name":"x","id_type":"passport","id_number":"1"}},"st":"normal"}"#,
    );
    let tampered = format!("{head}.{forged_body}.{signature}");
    assert_eq!(
        w.outcome(&tampered).await,
        pb::VerificationOutcome::SignatureInvalid
    );

    let (stranger, _) = zhongtai_credential::SigningKey::generate("not-the-platform").unwrap();
    let foreign = zhongtai_credential::sign_compact(
        &stranger,
        zhongtai_credential::CODE_TYP,
        &serde_json::json!({"iss":"zhongtai:platform","jti":"y","iat":1,"exp":99_999_999_999_i64,
            "kind":"personal","holder":{"person":{"name":"x","id_type":"passport","id_number":"1"}},
            "st":"normal"}),
    );
    assert_eq!(
        w.outcome(&foreign).await,
        pb::VerificationOutcome::UntrustedKey
    );
}

#[tokio::test]
async fn only_holders_with_certificates_show_codes() {
    let w = World::new().await;
    let nobody = w.show(&citizen(STRANGER_ID)).await.unwrap_err();
    assert_eq!(nobody.code(), Code::FailedPrecondition, "{nobody:?}");
    assert!(nobody.message().contains("no certificates to show"));

    let staff = w.show(&gate_clerk()).await.unwrap_err();
    assert_eq!(staff.code(), Code::PermissionDenied, "{staff:?}");
}

#[tokio::test]
async fn a_certificate_is_not_a_code() {
    let w = World::new().await;
    let certificate = w.parent_certified().await;
    for presentation in [&certificate.token, &certificate.qr_payload] {
        let refused = w.verify(presentation).await.unwrap_err();
        assert_eq!(refused.code(), Code::InvalidArgument, "{refused:?}");
        assert_eq!(fields(&refused), ["payload"]);
        assert!(
            refused.message().contains("VerifyCertificate"),
            "{refused:?}"
        );
    }
}
