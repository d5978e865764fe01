//! Issuing: what comes back, idempotency on the request id and on the
//! application, who may issue, and bad requests that change nothing.

use std::collections::HashSet;

use tonic::Code;
use zhongtai_contracts::certificate::v1 as pb;
use zhongtai_kit::Role;

use super::{counts, violations};
use crate::support::*;

#[tokio::test]
async fn an_issued_licence_carries_its_claims_serial_and_status_entry() {
    let h = Harness::postgres().await;
    let issuer = licence_issuer(&h).await;
    let licence = issue(&h, &issuer_operator(MARKET), licence_request(&issuer))
        .await
        .unwrap();

    assert_eq!(licence.status(), pb::CertificateStatus::Valid);
    assert_eq!(licence.issuer_id, issuer.id);
    assert_eq!(licence.key_id, issuer.active_key_id);
    assert_eq!(licence.version, 1);
    assert_eq!(licence.claims.len(), 4);
    let (year, digits) = licence.serial_number.split_once('-').unwrap();
    assert_eq!(year.len(), 4, "{}", licence.serial_number);
    assert!(digits.len() == 8 && digits.bytes().all(|b| b.is_ascii_digit()));
    let entry = licence.status_entry.clone().unwrap();
    assert_eq!(entry.status_list_id, "1");
    assert!((0..131_072).contains(&entry.index));
    assert!(licence.qr_payload.starts_with("ZT1:"));
    let until = licence.valid_until_time.unwrap().seconds;
    let from = licence.valid_from_time.unwrap().seconds;
    assert_eq!(
        until - from,
        10 * 365 * 86_400,
        "the type's default validity"
    );
    assert_eq!(h.count("certificates").await, 1);
    assert_eq!(
        h.count("event_outbox WHERE event_type = 'certificate.certificate.issued'")
            .await,
        1
    );
    assert_eq!(
        h.count("audit_log WHERE action = 'certificate.certificate.issue'")
            .await,
        1
    );
}

#[tokio::test]
async fn the_same_request_id_returns_the_same_certificate_and_another_request_is_refused() {
    let h = Harness::postgres().await;
    let issuer = licence_issuer(&h).await;
    let operator = issuer_operator(MARKET);
    let request = licence_request(&issuer);
    let first = issue(&h, &operator, request.clone()).await.unwrap();
    let again = issue(&h, &operator, request.clone()).await.unwrap();
    assert_eq!(again.id, first.id);
    assert_eq!(again.token, first.token);

    let before = counts(&h).await;
    let mut different = request;
    different.claims[0] = text("company_name", "另一家公司");
    let refused = issue(&h, &operator, different).await.unwrap_err();
    assert_eq!(violations(&refused), ["request_id"]);
    assert_eq!(counts(&h).await, before);
    assert_eq!(h.count("certificates").await, 1);
}

#[tokio::test]
async fn an_application_gets_one_certificate() {
    let h = Harness::postgres().await;
    let issuer = licence_issuer(&h).await;
    let operator = issuer_operator(MARKET);
    let application = uuid::Uuid::new_v4().to_string();
    let mut request = licence_request(&issuer);
    request.application_id = application.clone();
    let first = issue(&h, &operator, request.clone()).await.unwrap();
    assert_eq!(first.application_id, application);
    request.request_id = rid();
    let retried = issue(&h, &operator, request.clone()).await.unwrap();
    assert_eq!(retried.id, first.id);

    request.request_id = rid();
    request.holder = Some(organization("别的公司", "91331100MA2A0B1C3E"));
    let conflict = issue(&h, &operator, request).await.unwrap_err();
    assert_eq!(conflict.code(), Code::AlreadyExists, "{conflict:?}");
    assert_eq!(h.count("certificates").await, 1);
}

#[tokio::test]
async fn only_the_issuers_operators_and_admins_issue() {
    let h = Harness::postgres().await;
    let issuer = licence_issuer(&h).await;
    let before = counts(&h).await;
    for caller in [
        issuer_operator(HEALTH),
        staff("viewer", MARKET, &[Role::Viewer]),
        staff("approver", MARKET, &[Role::Approver]),
        citizen("33110019900101123X"),
    ] {
        let refused = issue(&h, &caller, licence_request(&issuer))
            .await
            .unwrap_err();
        assert_eq!(refused.code(), Code::PermissionDenied, "{caller:?}");
    }
    assert_eq!(counts(&h).await, before);
    let admin = staff("admin", MARKET, &[Role::Admin]);
    assert!(issue(&h, &admin, licence_request(&issuer)).await.is_ok());
}

#[tokio::test]
async fn bad_issue_requests_name_their_fields_and_write_nothing() {
    let h = Harness::postgres().await;
    let issuer = licence_issuer(&h).await;
    let operator = issuer_operator(MARKET);
    let good = licence_request(&issuer);
    let with = |change: &dyn Fn(&mut pb::IssueCertificateRequest)| {
        let mut request = good.clone();
        request.request_id = rid();
        change(&mut request);
        request
    };
    let claim = |name: &str, value| pb::Claim {
        name: name.into(),
        value: Some(value),
    };
    use pb::claim::Value;
    let cases: Vec<(&str, pb::IssueCertificateRequest, Vec<&str>)> = vec![
        (
            "no request id",
            with(&|r| r.request_id.clear()),
            vec!["request_id"],
        ),
        (
            "request id too long",
            with(&|r| r.request_id = "r".repeat(129)),
            vec!["request_id"],
        ),
        (
            "issuer id not a uuid",
            with(&|r| r.issuer_id = "market".into()),
            vec!["issuer_id"],
        ),
        (
            "type code malformed",
            with(&|r| r.certificate_type = "营业执照".into()),
            vec!["certificate_type"],
        ),
        (
            "unknown type",
            with(&|r| r.certificate_type = "no-such-type".into()),
            vec!["certificate_type"],
        ),
        ("no holder", with(&|r| r.holder = None), vec!["holder"]),
        (
            "a person for an organisation's type",
            with(&|r| r.holder = Some(person("张三", "33110019900101123X"))),
            vec!["holder"],
        ),
        (
            "bad credit code",
            with(&|r| r.holder = Some(organization(COMPANY, "123"))),
            vec!["holder.organization.unified_social_credit_code"],
        ),
        (
            "claim without a value",
            with(&|r| r.claims[1].value = None),
            vec!["claims[1].value"],
        ),
        (
            "unknown claim",
            with(&|r| r.claims.push(text("colour", "青"))),
            vec!["claims[4].name"],
        ),
        (
            "claim of the wrong kind",
            with(&|r| r.claims[2] = claim("registered_capital", Value::IntValue(100))),
            vec!["claims[2].value"],
        ),
        (
            "impossible date",
            with(&|r| r.claims[3] = claim("established_on", Value::DateValue("2026-02-30".into()))),
            vec!["claims[3].value"],
        ),
        (
            "malformed decimal",
            with(&|r| {
                r.claims[2] = claim("registered_capital", Value::DecimalValue("1,000".into()))
            }),
            vec!["claims[2].value"],
        ),
        (
            "claim twice",
            with(&|r| r.claims.push(text("company_name", COMPANY))),
            vec!["claims[4].name"],
        ),
        (
            "required claim missing",
            with(&|r| {
                r.claims.remove(1);
            }),
            vec!["claims"],
        ),
        (
            "claims over 8 KiB",
            with(&|r| r.claims[1] = text("legal_representative", &"王".repeat(3000))),
            vec!["claims"],
        ),
        (
            "too many claims",
            with(&|r| r.claims = (0..101).map(|i| text(&format!("c{i}"), "x")).collect()),
            vec!["claims"],
        ),
        (
            "zero validity",
            with(&|r| r.validity = Some(prost_types::Duration::default())),
            vec!["validity"],
        ),
        (
            "negative validity",
            with(&|r| {
                r.validity = Some(prost_types::Duration {
                    seconds: -86_400,
                    nanos: 0,
                })
            }),
            vec!["validity"],
        ),
        (
            "validity past any calendar",
            with(&|r| {
                r.validity = Some(prost_types::Duration {
                    seconds: i64::MAX,
                    nanos: 0,
                })
            }),
            vec!["validity"],
        ),
        (
            "bad valid-from",
            with(&|r| {
                r.valid_from_time = Some(prost_types::Timestamp {
                    seconds: 0,
                    nanos: -1,
                })
            }),
            vec!["valid_from_time"],
        ),
        (
            "application id not a uuid",
            with(&|r| r.application_id = "app-1".into()),
            vec!["application_id"],
        ),
    ];
    let before = counts(&h).await;
    for (case, request, fields) in cases {
        let refused = issue(&h, &operator, request).await.unwrap_err();
        let mut named = violations(&refused);
        named.dedup();
        assert_eq!(named, fields, "{case}: {refused:?}");
    }
    let unknown_issuer = with(&|r| r.issuer_id = uuid::Uuid::new_v4().to_string());
    let refused = issue(&h, &operator, unknown_issuer).await.unwrap_err();
    assert_eq!(refused.code(), Code::NotFound, "{refused:?}");
    assert_eq!(counts(&h).await, before, "nothing was written");
}

#[tokio::test]
async fn status_positions_are_drawn_at_random_and_never_shared() {
    let h = Harness::postgres().await;
    let issuer = licence_issuer(&h).await;
    let operator = issuer_operator(MARKET);
    let mut positions = HashSet::new();
    let mut serials = HashSet::new();
    for _ in 0..24 {
        let licence = issue(&h, &operator, licence_request(&issuer))
            .await
            .unwrap();
        let entry = licence.status_entry.unwrap();
        assert_eq!(entry.status_list_id, "1");
        assert!(
            positions.insert(entry.index),
            "position {} reused",
            entry.index
        );
        assert!(serials.insert(licence.serial_number));
    }
    // Issued in order, positions would be 0..24; drawn, they spread over
    // the list (all below 24 by chance: about one in 10^100).
    assert!(positions.iter().any(|&index| index >= 24), "{positions:?}");
    assert_eq!(h.count("status_lists").await, 2);
}

#[tokio::test]
async fn issuing_and_revoking_work_on_sqlite_too() {
    let h = Harness::sqlite().await;
    let licence = issue_licence(&h).await;
    let bank = staff("teller", "331100/agricultural-bank", &[Role::Viewer]);
    let valid = verify(&h, &bank, &licence.token, false).await.unwrap();
    assert_eq!(valid.outcome(), pb::VerificationOutcome::Valid, "{valid:?}");
    revoke(&h, MARKET, &licence.id, "吊销").await;
    let revoked = verify(&h, &bank, &licence.token, false).await.unwrap();
    assert_eq!(revoked.outcome(), pb::VerificationOutcome::Revoked);
    let second = issue_licence_to(&h, "龙泉宝剑有限公司", "91331100MA2A0B1C3E").await;
    assert_ne!(second.status_entry, licence.status_entry);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_instances_issuing_at_once_never_share_a_position() {
    let h = Harness::postgres().await;
    let issuer = licence_issuer(&h).await;
    let instances = [h.center.clone(), h.another_instance()];
    let mut issuing = tokio::task::JoinSet::new();
    for n in 0..16 {
        let center = instances[n % 2].clone();
        let request = licence_request(&issuer);
        issuing.spawn(async move {
            use zhongtai_contracts::certificate::v1::certificate_service_server::CertificateService;
            center
                .certificate_api()
                .issue_certificate(by(&issuer_operator(MARKET), request))
                .await
                .map(|response| response.into_inner().certificate.unwrap())
        });
    }
    let mut positions = HashSet::new();
    while let Some(issued) = issuing.join_next().await {
        let licence = issued.unwrap().unwrap();
        let entry = licence.status_entry.unwrap();
        assert!(
            positions.insert((entry.status_list_id, entry.index)),
            "a position was given twice"
        );
    }
    assert_eq!(positions.len(), 16);
    assert_eq!(h.count("certificates").await, 16);
    assert_eq!(h.count("status_list_groups").await, 1);
}
