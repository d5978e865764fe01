//! Certificate types: created once per request id by the platform, read by
//! anyone, changed only by adding optional claims, with their events.

use tonic::Code;
use zhongtai_certificate::shared::{HolderKind, TypeRegistry};
use zhongtai_contracts::certificate::v1 as pb;
use zhongtai_contracts::certificate::v1::certificate_service_server::CertificateService;
use zhongtai_contracts::common::v1::PageRequest;
use zhongtai_kit::Role;

use super::{Spoil, assert_denied, assert_invalid};
use crate::support::*;

fn create_request(
    request_id: &str,
    certificate_type: pb::CertificateType,
) -> pb::CreateCertificateTypeRequest {
    pb::CreateCertificateTypeRequest {
        request_id: request_id.into(),
        certificate_type: Some(certificate_type),
    }
}

#[tokio::test]
async fn a_type_is_created_once_and_read_back_by_anyone() {
    let h = Harness::postgres().await;
    let created = create_type(&h, business_licence_type()).await.unwrap();
    assert_eq!(created.code, "business-licence");
    assert_eq!(created.version, 1);
    assert_eq!(created.claims.len(), 4);
    assert_eq!(created.claims[2].r#type(), pb::ClaimType::Decimal);
    assert_eq!(created.holder_kind(), pb::HolderKind::Organization);
    assert_eq!(created.default_validity.unwrap().seconds, 10 * 365 * 86_400);
    assert_eq!(
        h.count("event_outbox WHERE event_type = 'certificate.certificate_type.created' AND subject = 'business-licence'").await,
        1
    );
    assert_eq!(
        h.count("audit_log WHERE action = 'certificate.certificate_type.create'")
            .await,
        1
    );

    // Any reader of any tenant sees it, as the other parts of the center do.
    let reader = staff("viewer", HEALTH, &[Role::Viewer]);
    let got = h
        .api
        .get_certificate_type(by(
            &reader,
            pb::GetCertificateTypeRequest {
                code: "business-licence".into(),
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .certificate_type
        .unwrap();
    assert_eq!(got, created);
    let registered = h
        .center
        .issuers
        .certificate_type("business-licence")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(registered.holder_kind, HolderKind::Organization);
    assert_eq!(
        registered.claim("company_name").map(|c| c.required),
        Some(true)
    );
    assert!(
        h.center
            .issuers
            .certificate_type("no-such-type")
            .await
            .unwrap()
            .is_none()
    );

    let missing = h
        .api
        .get_certificate_type(by(
            &reader,
            pb::GetCertificateTypeRequest {
                code: "no-such-type".into(),
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(missing.code(), Code::NotFound);
}

#[tokio::test]
async fn the_same_request_id_answers_the_same_and_a_different_body_is_refused() {
    let h = Harness::postgres().await;
    let admin = platform_admin();
    let first = h
        .api
        .create_certificate_type(by(
            &admin,
            create_request("type-req-1", health_certificate_type()),
        ))
        .await
        .unwrap()
        .into_inner();
    let again = h
        .api
        .create_certificate_type(by(
            &admin,
            create_request("type-req-1", health_certificate_type()),
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(first, again);
    assert_eq!(h.count("certificate_types").await, 1);
    assert_eq!(
        h.count("event_outbox WHERE event_type = 'certificate.certificate_type.created'")
            .await,
        1
    );

    let mut changed = health_certificate_type();
    changed.name = "另一个名字".into();
    let reused = h
        .api
        .create_certificate_type(by(&admin, create_request("type-req-1", changed)))
        .await
        .unwrap_err();
    assert_invalid(&reused, "request_id");

    // The same code under another request id is taken.
    let taken = h
        .api
        .create_certificate_type(by(
            &admin,
            create_request("type-req-2", health_certificate_type()),
        ))
        .await
        .unwrap_err();
    assert_eq!(taken.code(), Code::AlreadyExists, "{taken:?}");
}

#[tokio::test]
async fn bad_types_name_each_field_and_write_nothing() {
    let h = Harness::postgres().await;
    let admin = platform_admin();
    let cases: Vec<(&str, Spoil<pb::CertificateType>)> = vec![
        ("certificate_type.code", Box::new(|t| t.code = "BL".into())),
        (
            "certificate_type.code",
            Box::new(|t| t.code = "a".repeat(65)),
        ),
        (
            "certificate_type.name",
            Box::new(|t| t.name = String::new()),
        ),
        ("certificate_type.claims", Box::new(|t| t.claims.clear())),
        (
            "certificate_type.claims",
            Box::new(|t| {
                t.claims = (0..101)
                    .map(|i| claim_def(&format!("c{i}"), pb::ClaimType::String, false, false))
                    .collect()
            }),
        ),
        (
            "certificate_type.claims[1].name",
            Box::new(|t| t.claims[1].name = "company_name".into()),
        ),
        (
            "certificate_type.claims[0].name",
            Box::new(|t| t.claims[0].name = "CompanyName".into()),
        ),
        (
            "certificate_type.claims[0].type",
            Box::new(|t| t.claims[0].r#type = 0),
        ),
        (
            "certificate_type.claims[0].type",
            Box::new(|t| t.claims[0].r#type = 99),
        ),
        (
            "certificate_type.holder_kind",
            Box::new(|t| t.holder_kind = 0),
        ),
        (
            "certificate_type.default_validity",
            Box::new(|t| {
                t.default_validity = Some(prost_types::Duration {
                    seconds: -1,
                    nanos: 0,
                })
            }),
        ),
        (
            "certificate_type.default_validity",
            Box::new(|t| {
                t.default_validity = Some(prost_types::Duration {
                    seconds: i64::MAX,
                    nanos: 999_999_999,
                })
            }),
        ),
    ];
    for (field, spoil) in cases {
        let mut t = business_licence_type();
        spoil(&mut t);
        let error = h
            .api
            .create_certificate_type(by(&admin, create_request(&rid(), t)))
            .await
            .unwrap_err();
        assert_invalid(&error, field);
    }
    let no_type = h
        .api
        .create_certificate_type(by(
            &admin,
            pb::CreateCertificateTypeRequest {
                request_id: rid(),
                certificate_type: None,
            },
        ))
        .await
        .unwrap_err();
    assert_invalid(&no_type, "certificate_type");
    for request_id in [String::new(), "r".repeat(129)] {
        let error = h
            .api
            .create_certificate_type(by(
                &admin,
                create_request(&request_id, business_licence_type()),
            ))
            .await
            .unwrap_err();
        assert_invalid(&error, "request_id");
    }
    // No expiry at all is fine.
    let mut forever = business_licence_type();
    forever.code = "marriage-certificate".into();
    forever.default_validity = None;
    let created = create_type(&h, forever).await.unwrap();
    assert!(created.default_validity.is_none());
    assert_eq!(h.count("certificate_types").await, 1);
}

#[tokio::test]
async fn only_the_platform_defines_types() {
    let h = Harness::postgres().await;
    let platform_operator = staff("op", PLATFORM, &[Role::Operator]);
    assert!(
        h.api
            .create_certificate_type(by(
                &platform_operator,
                create_request(&rid(), health_certificate_type())
            ))
            .await
            .is_ok()
    );
    for caller in [
        staff("admin", MARKET, &[Role::Admin]),
        staff("viewer", PLATFORM, &[Role::Viewer]),
    ] {
        let error = h
            .api
            .create_certificate_type(by(&caller, create_request(&rid(), business_licence_type())))
            .await
            .unwrap_err();
        assert_denied(&error, "NOT_PLATFORM_MAINTAINER");
        let mut update = health_certificate_type();
        update.version = 1;
        update.name = "x".into();
        let error = h
            .api
            .update_certificate_type(by(
                &caller,
                pb::UpdateCertificateTypeRequest {
                    certificate_type: Some(update),
                    update_mask: Some(prost_types::FieldMask {
                        paths: vec!["name".into()],
                    }),
                },
            ))
            .await
            .unwrap_err();
        assert_denied(&error, "NOT_PLATFORM_MAINTAINER");
    }
    assert_eq!(h.count("certificate_types").await, 1);
}

fn update_request(t: pb::CertificateType, paths: &[&str]) -> pb::UpdateCertificateTypeRequest {
    pb::UpdateCertificateTypeRequest {
        certificate_type: Some(t),
        update_mask: Some(prost_types::FieldMask {
            paths: paths.iter().map(|p| p.to_string()).collect(),
        }),
    }
}

#[tokio::test]
async fn updates_add_optional_claims_and_check_the_version() {
    let h = Harness::postgres().await;
    let admin = platform_admin();
    let created = create_type(&h, health_certificate_type()).await.unwrap();

    let mut added = created.clone();
    added
        .claims
        .push(claim_def("employer", pb::ClaimType::String, false, false));
    added.name = "从业人员健康证".into();
    let updated = h
        .api
        .update_certificate_type(by(
            &admin,
            update_request(added.clone(), &["claims", "name"]),
        ))
        .await
        .unwrap()
        .into_inner()
        .certificate_type
        .unwrap();
    assert_eq!(updated.version, 2);
    assert_eq!(updated.claims.len(), 3);
    assert_eq!(updated.name, "从业人员健康证");
    assert_eq!(
        h.count("event_outbox WHERE event_type = 'certificate.certificate_type.updated'")
            .await,
        1
    );

    // The version read before the change is stale now.
    let stale = h
        .api
        .update_certificate_type(by(&admin, update_request(added, &["name"])))
        .await
        .unwrap_err();
    assert_eq!(stale.code(), Code::Aborted, "{stale:?}");

    let mut required = updated.clone();
    required
        .claims
        .push(claim_def("blood_type", pb::ClaimType::String, true, false));
    let error = h
        .api
        .update_certificate_type(by(&admin, update_request(required, &["claims"])))
        .await
        .unwrap_err();
    assert_invalid(&error, "certificate_type.claims[3].required");

    let mut removed = updated.clone();
    removed.claims.remove(0);
    let error = h
        .api
        .update_certificate_type(by(&admin, update_request(removed, &["claims"])))
        .await
        .unwrap_err();
    assert_invalid(&error, "certificate_type.claims");

    let error = h
        .api
        .update_certificate_type(by(&admin, update_request(updated.clone(), &["code"])))
        .await
        .unwrap_err();
    assert_invalid(&error, "update_mask.paths[0]");

    let mut unknown = updated.clone();
    unknown.code = "no-such-type".into();
    let error = h
        .api
        .update_certificate_type(by(&admin, update_request(unknown, &["name"])))
        .await
        .unwrap_err();
    assert_eq!(error.code(), Code::NotFound);

    let stored = h
        .center
        .issuers
        .certificate_type("health-certificate")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.version, 2);
    assert_eq!(stored.claims.len(), 3);
}

#[tokio::test]
async fn types_list_in_code_order_page_by_page() {
    let h = Harness::postgres().await;
    for code in ["c-type", "a-type", "b-type"] {
        let mut t = health_certificate_type();
        t.code = code.into();
        create_type(&h, t).await.unwrap();
    }
    let reader = staff("viewer", MARKET, &[Role::Viewer]);
    let mut seen = Vec::new();
    let mut page_token = String::new();
    loop {
        let page = h
            .api
            .list_certificate_types(by(
                &reader,
                pb::ListCertificateTypesRequest {
                    page: Some(PageRequest {
                        page_size: 2,
                        page_token,
                    }),
                },
            ))
            .await
            .unwrap()
            .into_inner();
        seen.extend(page.certificate_types.into_iter().map(|t| t.code));
        page_token = page.page.unwrap().next_page_token;
        if page_token.is_empty() {
            break;
        }
    }
    assert_eq!(seen, ["a-type", "b-type", "c-type"]);
}

#[tokio::test]
async fn types_work_on_sqlite() {
    let h = Harness::sqlite().await;
    create_type(&h, business_licence_type()).await.unwrap();
    let stored = h
        .center
        .issuers
        .certificate_type("business-licence")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.claims.len(), 4);
    assert_eq!(stored.default_validity.map(|d| d.num_days()), Some(3650));
}
