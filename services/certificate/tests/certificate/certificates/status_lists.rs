//! Revocation, suspension and reinstatement, and the status lists that
//! publish them: the bits match the certificates, the lists are signed,
//! versioned and cacheable, and bad requests change nothing.

use tonic::Code;
use zhongtai_certificate::shared::Keyring;
use zhongtai_contracts::certificate::v1 as pb;
use zhongtai_contracts::certificate::v1::certificate_service_server::CertificateService;
use zhongtai_credential::{Bitstring, CompactJws, MIN_STATUS_LIST_BITS};
use zhongtai_kit::Role;

use super::{counts, violations};
use crate::support::*;

async fn status_list(h: &Harness, id: &str, if_newer_than: i64) -> pb::GetStatusListResponse {
    h.api
        .get_status_list(tonic::Request::new(pb::GetStatusListRequest {
            id: id.into(),
            if_newer_than_version: if_newer_than,
        }))
        .await
        .unwrap()
        .into_inner()
}

fn bits(list: &pb::StatusList) -> Bitstring {
    Bitstring::decode_gzip(&list.encoded_list, usize::try_from(list.size).unwrap()).unwrap()
}

fn index(certificate: &pb::Certificate) -> usize {
    usize::try_from(certificate.status_entry.as_ref().unwrap().index).unwrap()
}

async fn reinstate(h: &Harness, id: &str) -> Result<pb::Certificate, tonic::Status> {
    Ok(h.api
        .reinstate_certificate(by(
            &issuer_operator(MARKET),
            pb::ReinstateCertificateRequest {
                id: id.into(),
                reason: "核查完毕".into(),
            },
        ))
        .await?
        .into_inner()
        .certificate
        .unwrap())
}

#[tokio::test]
async fn the_lists_bits_are_exactly_the_revoked_and_the_suspended_certificates() {
    let h = Harness::postgres().await;
    let kept = issue_licence(&h).await;
    let revoked = issue_licence_to(&h, "龙泉宝剑有限公司", "91331100MA2A0B1C3E").await;
    let suspended = issue_licence_to(&h, "缙云烧饼有限公司", "91331100MA2A0B1C4F").await;
    let initial = status_list(&h, "1-revocation", 0)
        .await
        .status_list
        .unwrap();

    let revoked = revoke(&h, MARKET, &revoked.id, "吊销").await;
    assert_eq!(revoked.status(), pb::CertificateStatus::Revoked);
    assert_eq!(revoked.status_reason, "吊销");
    assert_eq!(revoked.version, 2);
    let suspended = suspend(&h, MARKET, &suspended.id, "核查中").await;
    assert_eq!(suspended.status(), pb::CertificateStatus::Suspended);

    let revocation = status_list(&h, "1-revocation", 0)
        .await
        .status_list
        .unwrap();
    assert_eq!(revocation.purpose(), pb::StatusPurpose::Revocation);
    assert!(revocation.size >= MIN_STATUS_LIST_BITS as i64);
    assert_eq!(revocation.version, initial.version + 1);
    let revocation_bits = bits(&revocation);
    assert_eq!(revocation_bits.get(index(&revoked)), Some(true));
    assert_eq!(revocation_bits.get(index(&kept)), Some(false));
    assert_eq!(revocation_bits.get(index(&suspended)), Some(false));
    let set: usize = revocation_bits
        .as_bytes()
        .iter()
        .map(|b| b.count_ones() as usize)
        .sum();
    assert_eq!(set, 1);
    let suspension = status_list(&h, "1-suspension", 0)
        .await
        .status_list
        .unwrap();
    let suspension_bits = bits(&suspension);
    assert_eq!(suspension_bits.get(index(&suspended)), Some(true));
    assert_eq!(suspension_bits.get(index(&revoked)), Some(false));

    // The signed form carries the same list, under the platform's key.
    let jws = CompactJws::parse(&revocation.token).unwrap();
    let platform = h.center.issuers.platform_signer().await.unwrap();
    assert_eq!(jws.header().kid, platform.key_id());
    assert!(jws.verify(&platform.public_key()));
    let payload: serde_json::Value = jws.payload_json().unwrap();
    assert_eq!(payload["statusPurpose"], "revocation");
    assert_eq!(payload["version"], revocation.version);
    let text = format!("u{}", payload["encodedList"].as_str().unwrap());
    assert_eq!(
        Bitstring::from_encoded_list(&text, MIN_STATUS_LIST_BITS).unwrap(),
        revocation_bits
    );
    assert!(revocation.valid_until_time.unwrap().seconds > revocation.issue_time.unwrap().seconds);

    // Cheap polling: nothing newer, nothing sent.
    let current = status_list(&h, "1-revocation", revocation.version).await;
    assert!(current.not_modified && current.status_list.is_none());
    assert!(
        status_list(&h, "1-revocation", revocation.version - 1)
            .await
            .status_list
            .is_some()
    );

    // Each change published the list's new version.
    assert_eq!(
        h.count("event_outbox WHERE event_type = 'certificate.status_list.published'")
            .await,
        2
    );
}

#[tokio::test]
async fn revocation_is_final_and_suspension_is_lifted_by_reinstatement() {
    let h = Harness::postgres().await;
    let licence = issue_licence(&h).await;
    let suspended = suspend(&h, MARKET, &licence.id, "核查中").await;
    let again = suspend(&h, MARKET, &licence.id, "再次核查").await;
    assert_eq!(
        again.version, suspended.version,
        "suspending again changes nothing"
    );
    let reinstated = reinstate(&h, &licence.id).await.unwrap();
    assert_eq!(reinstated.status(), pb::CertificateStatus::Valid);
    let suspension = status_list(&h, "1-suspension", 0)
        .await
        .status_list
        .unwrap();
    assert_eq!(bits(&suspension).get(index(&licence)), Some(false));
    assert_eq!(
        verify(&h, &issuer_operator(MARKET), &licence.token, false)
            .await
            .unwrap()
            .outcome(),
        pb::VerificationOutcome::Valid
    );

    suspend(&h, MARKET, &licence.id, "核查中").await;
    let revoked = revoke(&h, MARKET, &licence.id, "吊销").await;
    let suspension = status_list(&h, "1-suspension", 0)
        .await
        .status_list
        .unwrap();
    assert_eq!(
        bits(&suspension).get(index(&licence)),
        Some(false),
        "a revoked certificate leaves the suspension list"
    );
    let before = counts(&h).await;
    let again = revoke(&h, MARKET, &licence.id, "再次吊销").await;
    assert_eq!(again.version, revoked.version);
    assert_eq!(
        again.status_reason, "吊销",
        "revoking again returns it unchanged"
    );
    let refused = reinstate(&h, &licence.id).await.unwrap_err();
    assert_eq!(refused.code(), Code::FailedPrecondition);
    let refused = h
        .api
        .suspend_certificate(by(
            &issuer_operator(MARKET),
            pb::SuspendCertificateRequest {
                id: licence.id.clone(),
                reason: "x".into(),
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::FailedPrecondition);
    assert_eq!(counts(&h).await, before);
}

#[tokio::test]
async fn bad_status_requests_change_nothing() {
    let h = Harness::postgres().await;
    let licence = issue_licence(&h).await;
    let before = counts(&h).await;
    let revoke_as = |caller: zhongtai_kit::Caller, id: &str, reason: &str| {
        let request = by(
            &caller,
            pb::RevokeCertificateRequest {
                id: id.into(),
                reason: reason.into(),
            },
        );
        let api = &h.api;
        async move { api.revoke_certificate(request).await.unwrap_err() }
    };
    let operator = || issuer_operator(MARKET);
    assert_eq!(
        violations(&revoke_as(operator(), "not-a-uuid", "").await),
        ["id", "reason"]
    );
    assert_eq!(
        violations(&revoke_as(operator(), &licence.id, "   ").await),
        ["reason"]
    );
    assert_eq!(
        violations(&revoke_as(operator(), &licence.id, &"因".repeat(2001)).await),
        ["reason"]
    );
    let unknown = uuid::Uuid::new_v4().to_string();
    assert_eq!(
        revoke_as(operator(), &unknown, "x").await.code(),
        Code::NotFound
    );
    assert_eq!(
        revoke_as(issuer_operator(HEALTH), &licence.id, "x")
            .await
            .code(),
        Code::NotFound,
        "another department's certificates are not found"
    );
    assert_eq!(
        revoke_as(staff("viewer", MARKET, &[Role::Viewer]), &licence.id, "x")
            .await
            .code(),
        Code::PermissionDenied
    );
    assert_eq!(
        revoke_as(citizen("33110019900101123X"), &licence.id, "x")
            .await
            .code(),
        Code::NotFound
    );
    let reinstate_bad = h
        .api
        .reinstate_certificate(by(
            &operator(),
            pb::ReinstateCertificateRequest {
                id: licence.id.clone(),
                reason: String::new(),
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(violations(&reinstate_bad), ["reason"]);
    assert_eq!(counts(&h).await, before);
    assert_eq!(h.count("certificates WHERE status <> 'valid'").await, 0);

    for (id, code) in [
        ("", Code::InvalidArgument),
        ("1-expiry", Code::InvalidArgument),
        ("../1-revocation", Code::InvalidArgument),
        ("99-revocation", Code::NotFound),
    ] {
        let refused = h
            .api
            .get_status_list(tonic::Request::new(pb::GetStatusListRequest {
                id: id.into(),
                if_newer_than_version: 0,
            }))
            .await
            .unwrap_err();
        assert_eq!(refused.code(), code, "{id:?}");
    }
    assert_eq!(counts(&h).await, before);
}

#[tokio::test]
async fn lists_are_listed_by_purpose_and_paged() {
    let h = Harness::postgres().await;
    issue_licence(&h).await;
    let list = |purpose: pb::StatusPurpose, page_size: i32, token: String| {
        let api = &h.api;
        async move {
            api.list_status_lists(tonic::Request::new(pb::ListStatusListsRequest {
                page: Some(zhongtai_contracts::common::v1::PageRequest {
                    page_size,
                    page_token: token,
                }),
                purpose: purpose as i32,
            }))
            .await
            .unwrap()
            .into_inner()
        }
    };
    let all = list(pb::StatusPurpose::Unspecified, 0, String::new()).await;
    let ids: Vec<&str> = all.status_lists.iter().map(|l| l.id.as_str()).collect();
    assert_eq!(ids, ["1-revocation", "1-suspension"]);
    let first = list(pb::StatusPurpose::Unspecified, 1, String::new()).await;
    assert_eq!(first.status_lists[0].id, "1-revocation");
    let token = first.page.unwrap().next_page_token;
    assert!(!token.is_empty());
    let second = list(pb::StatusPurpose::Unspecified, 1, token).await;
    assert_eq!(second.status_lists[0].id, "1-suspension");
    assert!(second.page.unwrap().next_page_token.is_empty());
    let suspension = list(pb::StatusPurpose::Suspension, 0, String::new()).await;
    assert_eq!(suspension.status_lists.len(), 1);
    assert_eq!(
        suspension.status_lists[0].purpose(),
        pb::StatusPurpose::Suspension
    );
}
