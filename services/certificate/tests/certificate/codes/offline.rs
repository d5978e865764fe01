//! Offline codes: printed at a counter, verifiable for months, revocable
//! one by one on every instance.

use std::time::Duration;

use tonic::Code;
use zhongtai_contracts::certificate::v1 as pb;
use zhongtai_contracts::certificate::v1::code_service_server::CodeService;
use zhongtai_testkit::eventually;

use super::world::*;
use crate::support::{by, rid, staff};

fn revoke_request(id: &str) -> pb::RevokeOfflineCodeRequest {
    pb::RevokeOfflineCodeRequest {
        id: id.into(),
        reason: "遗失补办".into(),
    }
}

#[tokio::test]
async fn an_offline_code_verifies_until_revoked_here_and_on_another_instance() {
    let w = World::new().await;
    w.parent_certified().await;
    let code = w.issue_offline(&rid(), PARENT_ID, 90).await.unwrap();
    assert_eq!(code.kind(), pb::CodeKind::Offline);
    let days = (code.expire_time.unwrap().seconds - code.issue_time.unwrap().seconds) / 86_400;
    assert_eq!(days, 90);
    let image = code.qr_image.clone().unwrap();
    assert_eq!(image.format(), pb::QrImageFormat::Png, "PNG by default");
    assert_eq!(image.size, 1024, "print quality by default");
    assert!(image.data.starts_with(b"\x89PNG"));
    assert_eq!(
        code.claims.len(),
        1,
        "the holder's claims, as in her own code"
    );
    assert_eq!(
        w.events("certificate.offline_code.issued", &code.id).await,
        1
    );

    let other = w.h.another_instance();
    let other_api = other.codes.api();
    let verify_there = |payload: String| {
        let api = other_api.clone();
        async move {
            api.verify_code(by(&gate_clerk(), pb::VerifyCodeRequest { payload }))
                .await
                .unwrap()
                .into_inner()
                .result
                .unwrap()
                .outcome()
        }
    };
    assert_eq!(
        w.outcome(&code.qr_payload).await,
        pb::VerificationOutcome::Valid
    );
    assert_eq!(
        verify_there(code.qr_payload.clone()).await,
        pb::VerificationOutcome::Valid
    );

    let revoked =
        w.h.codes
            .revoke_offline_code(by(&counter_clerk(), revoke_request(&code.id)))
            .await
            .unwrap()
            .into_inner();
    let revoked_verifications = || {
        // Other tests of this binary count into the same registry: compare
        // before and after rather than expect an exact value.
        let prefix =
            "zhongtai_certificate_verifications_total{kind=\"offline_code\",result=\"revoked\"} ";
        zhongtai_telemetry::metrics::encode()
            .lines()
            .find_map(|line| line.strip_prefix(prefix)?.parse::<u64>().ok())
            .unwrap_or(0)
    };
    let revoked_before = revoked_verifications();
    assert_eq!(
        w.outcome(&code.qr_payload).await,
        pb::VerificationOutcome::Revoked
    );
    assert!(
        revoked_verifications() > revoked_before,
        "a revoked offline code is counted as such"
    );
    eventually(
        Duration::from_secs(10),
        "the revocation reaches the other instance",
        || {
            let outcome = verify_there(code.qr_payload.clone());
            async move { (outcome.await == pb::VerificationOutcome::Revoked).then_some(()) }
        },
    )
    .await;

    let again =
        w.h.codes
            .revoke_offline_code(by(&counter_clerk(), revoke_request(&code.id)))
            .await
            .unwrap()
            .into_inner();
    assert_eq!(
        again.revoke_time, revoked.revoke_time,
        "revoking again changes nothing"
    );
    assert_eq!(
        w.events("certificate.offline_code.revoked", &code.id).await,
        1
    );
}

#[tokio::test]
async fn an_instance_started_after_the_revocation_knows_it_at_once() {
    let w = World::new().await;
    let code = w.issue_offline(&rid(), PARENT_ID, 30).await.unwrap();
    w.h.codes
        .revoke_offline_code(by(&counter_clerk(), revoke_request(&code.id)))
        .await
        .unwrap();
    let fresh = w.h.another_instance().codes.api();
    let outcome = fresh
        .verify_code(by(
            &gate_clerk(),
            pb::VerifyCodeRequest {
                payload: code.qr_payload.clone(),
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .result
        .unwrap()
        .outcome();
    assert_eq!(outcome, pb::VerificationOutcome::Revoked);
}

#[tokio::test]
async fn a_repeated_issue_answers_the_same_code() {
    let w = World::new().await;
    let request_id = rid();
    let first = w.issue_offline(&request_id, PARENT_ID, 30).await.unwrap();
    let again = w.issue_offline(&request_id, PARENT_ID, 30).await.unwrap();
    assert_eq!(again.id, first.id);
    assert_eq!(again.token, first.token);
    let reused = w
        .issue_offline(&request_id, PARENT_ID, 31)
        .await
        .unwrap_err();
    assert_eq!(reused.code(), Code::InvalidArgument, "{reused:?}");
    assert_eq!(w.h.count("offline_codes").await, 1);
    assert_eq!(
        w.h.count(&format!(
            "offline_codes WHERE payload::text LIKE '%{PARENT_ID}%'"
        ))
        .await,
        0,
        "the stored claim set names the holder masked only"
    );
}

#[tokio::test]
async fn validity_and_counters_are_checked() {
    let w = World::new().await;
    for days in [0, 367] {
        let refused = w.issue_offline(&rid(), PARENT_ID, days).await.unwrap_err();
        assert_eq!(refused.code(), Code::InvalidArgument, "{days}: {refused:?}");
        assert_eq!(fields(&refused), ["validity"]);
    }
    let code = w.issue_offline(&rid(), PARENT_ID, 1).await.unwrap();
    // Another counter cannot revoke it, nor can a viewer call it at all
    // (the access layer refuses them; here the domain refuses the tenant).
    let elsewhere = staff(
        "clerk",
        "331121/service-center",
        &[zhongtai_kit::Role::Operator],
    );
    let refused =
        w.h.codes
            .revoke_offline_code(by(&elsewhere, revoke_request(&code.id)))
            .await
            .unwrap_err();
    assert_eq!(refused.code(), Code::NotFound);
    assert_eq!(
        w.outcome(&code.qr_payload).await,
        pb::VerificationOutcome::Valid
    );
}
