//! Bad input on every RPC of the codes part: the precise field, the right
//! code, nothing written.

use chrono::{Duration, Utc};
use tonic::Code;
use zhongtai_contracts::certificate::v1 as pb;
use zhongtai_contracts::certificate::v1::code_service_server::CodeService;
use zhongtai_contracts::common::v1 as common;
use zhongtai_kit::proto::timestamp;

use super::world::*;
use crate::support::{by, rid};

fn assert_invalid<T: std::fmt::Debug>(answer: Result<T, tonic::Status>, field: &str) {
    let status = answer.expect_err("refused");
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    assert!(
        fields(&status).iter().any(|f| f == field),
        "{field} not in {:?}: {status:?}",
        fields(&status)
    );
}

#[tokio::test]
async fn garbage_truncated_and_huge_payloads_are_invalid_arguments() {
    let w = World::new().await;
    w.parent_certified().await;
    let code = w.show(&parent()).await.unwrap();
    let truncated_qr = &code.qr_payload[..code.qr_payload.len() / 2];
    let truncated_token = &code.token[..code.token.len() - 10];
    let huge = "A".repeat(1024 * 1024);
    let bad_base45 = format!("{}~~", &code.qr_payload[..20]);
    for payload in [
        "",
        "garbage",
        "ZT1:",
        truncated_qr,
        truncated_token,
        &bad_base45,
        "a.b.c",
        &huge,
    ] {
        assert_invalid(w.verify(payload).await, "payload");
    }
    assert_eq!(
        w.footprint().await,
        [
            0,
            0,
            0,
            0,
            w.h.count("event_outbox").await,
            w.h.count("audit_log").await
        ]
    );
}

#[tokio::test]
async fn bad_scans_are_refused_and_nothing_is_written() {
    let w = World::new().await;
    w.parent_certified().await;
    let venue = w.register_venue(&gate_clerk(), "体育馆").await.unwrap();
    let code = w.show(&parent()).await.unwrap();
    let before = w.footprint().await;
    let good = pb::ScanCodeRequest {
        scan_id: rid(),
        venue_id: venue.id.clone(),
        payload: code.qr_payload.clone(),
        scan_time: None,
        device_id: "gate-1".into(),
    };
    let scan = |request: pb::ScanCodeRequest| w.h.codes.scan_code(by(&gate_clerk(), request));
    let cases = [
        (
            "scan_id",
            pb::ScanCodeRequest {
                scan_id: String::new(),
                ..good.clone()
            },
        ),
        (
            "scan_id",
            pb::ScanCodeRequest {
                scan_id: "scan-1".into(),
                ..good.clone()
            },
        ),
        (
            "venue_id",
            pb::ScanCodeRequest {
                venue_id: "library".into(),
                ..good.clone()
            },
        ),
        (
            "payload",
            pb::ScanCodeRequest {
                payload: "A".repeat(1024 * 1024),
                ..good.clone()
            },
        ),
        (
            "payload",
            pb::ScanCodeRequest {
                payload: String::new(),
                ..good.clone()
            },
        ),
        (
            "device_id",
            pb::ScanCodeRequest {
                device_id: "d".repeat(65),
                ..good.clone()
            },
        ),
        (
            "scan_time",
            pb::ScanCodeRequest {
                scan_time: Some(timestamp(Utc::now() - Duration::hours(25))),
                ..good.clone()
            },
        ),
        (
            "scan_time",
            pb::ScanCodeRequest {
                scan_time: Some(timestamp(Utc::now() + Duration::minutes(10))),
                ..good.clone()
            },
        ),
        (
            "scan_time",
            pb::ScanCodeRequest {
                scan_time: Some(prost_types::Timestamp {
                    seconds: 0,
                    nanos: -1,
                }),
                ..good.clone()
            },
        ),
    ];
    for (field, request) in cases {
        assert_invalid(scan(request).await, field);
    }
    let unknown = scan(pb::ScanCodeRequest {
        venue_id: uuid::Uuid::new_v4().to_string(),
        ..good.clone()
    })
    .await
    .unwrap_err();
    assert_eq!(unknown.code(), Code::NotFound, "{unknown:?}");
    // A venue of another tenant is unknown to this clerk.
    let foreign = crate::support::staff("clerk", OTHER_CITY, &[zhongtai_kit::Role::Operator]);
    let elsewhere =
        w.h.codes
            .scan_code(by(&foreign, good.clone()))
            .await
            .unwrap_err();
    assert_eq!(elsewhere.code(), Code::NotFound);
    assert_eq!(w.footprint().await, before, "nothing written");
    scan(good).await.unwrap();
}

#[tokio::test]
async fn bad_requests_to_the_other_rpcs_name_their_fields() {
    let w = World::new().await;
    let birth = w.birth_certificate(0).await;
    let before = w.footprint().await;
    let codes = &w.h.codes;

    assert_invalid(
        codes
            .show_code(by(
                &parent(),
                pb::ShowCodeRequest {
                    qr_image_format: 9,
                    qr_image_size: 0,
                },
            ))
            .await,
        "qr_image_format",
    );
    assert_invalid(
        codes
            .show_family_codes(by(
                &parent(),
                pb::ShowFamilyCodesRequest {
                    dependant_ids: vec!["x".into()],
                    qr_image_format: pb::QrImageFormat::Svg as i32,
                    qr_image_size: 10,
                },
            ))
            .await,
        "qr_image_size",
    );
    assert_invalid(
        codes
            .show_family_codes(by(
                &parent(),
                pb::ShowFamilyCodesRequest {
                    dependant_ids: vec!["x".into()],
                    ..Default::default()
                },
            ))
            .await,
        "dependant_ids[0]",
    );
    let link = |request: pb::LinkDependantRequest| codes.link_dependant(by(&parent(), request));
    let good_link = pb::LinkDependantRequest {
        request_id: rid(),
        dependant: Some(person_message(CHILD_NAMES[0], CHILD_IDS[0])),
        relationship: pb::Relationship::Parent as i32,
        evidence_certificate_id: birth.id.clone(),
    };
    assert_invalid(
        link(pb::LinkDependantRequest {
            request_id: String::new(),
            ..good_link.clone()
        })
        .await,
        "request_id",
    );
    assert_invalid(
        link(pb::LinkDependantRequest {
            dependant: None,
            ..good_link.clone()
        })
        .await,
        "dependant",
    );
    assert_invalid(
        link(pb::LinkDependantRequest {
            dependant: Some(person_message(CHILD_NAMES[0], "12345")),
            ..good_link.clone()
        })
        .await,
        "dependant.id_number",
    );
    assert_invalid(
        link(pb::LinkDependantRequest {
            relationship: 0,
            ..good_link.clone()
        })
        .await,
        "relationship",
    );
    assert_invalid(
        link(pb::LinkDependantRequest {
            evidence_certificate_id: "birth".into(),
            ..good_link.clone()
        })
        .await,
        "evidence_certificate_id",
    );
    assert_invalid(
        link(pb::LinkDependantRequest {
            dependant: Some(person_message(PARENT_NAME, PARENT_ID)),
            ..good_link.clone()
        })
        .await,
        "dependant",
    );
    assert_invalid(
        codes
            .unlink_dependant(by(&parent(), pb::UnlinkDependantRequest { id: "x".into() }))
            .await,
        "id",
    );
    assert_invalid(
        codes
            .list_dependants(by(
                &parent(),
                pb::ListDependantsRequest {
                    page: Some(common::PageRequest {
                        page_size: 1,
                        page_token: "garbage".into(),
                    }),
                },
            ))
            .await,
        "page.page_token",
    );

    let issue = |request: pb::IssueOfflineCodeRequest| {
        codes.issue_offline_code(by(&counter_clerk(), request))
    };
    let good_issue = pb::IssueOfflineCodeRequest {
        request_id: rid(),
        holder: Some(person_message(PARENT_NAME, PARENT_ID)),
        validity: Some(prost_types::Duration {
            seconds: 86_400,
            nanos: 0,
        }),
        qr_image_format: 0,
        qr_image_size: 0,
    };
    assert_invalid(
        issue(pb::IssueOfflineCodeRequest {
            holder: None,
            ..good_issue.clone()
        })
        .await,
        "holder",
    );
    assert_invalid(
        issue(pb::IssueOfflineCodeRequest {
            validity: None,
            ..good_issue.clone()
        })
        .await,
        "validity",
    );
    assert_invalid(
        issue(pb::IssueOfflineCodeRequest {
            qr_image_size: 4096,
            ..good_issue.clone()
        })
        .await,
        "qr_image_size",
    );
    assert_invalid(
        codes
            .revoke_offline_code(by(
                &counter_clerk(),
                pb::RevokeOfflineCodeRequest {
                    id: "code".into(),
                    reason: String::new(),
                },
            ))
            .await,
        "id",
    );
    let unknown_code = codes
        .revoke_offline_code(by(
            &counter_clerk(),
            pb::RevokeOfflineCodeRequest {
                id: uuid::Uuid::new_v4().to_string(),
                reason: String::new(),
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(unknown_code.code(), Code::NotFound);

    let register =
        |request: pb::RegisterVenueRequest| codes.register_venue(by(&gate_clerk(), request));
    let good_venue = pb::RegisterVenueRequest {
        request_id: rid(),
        name: "体育馆".into(),
        address: String::new(),
        division_code: "331102".into(),
    };
    assert_invalid(
        register(pb::RegisterVenueRequest {
            name: " ".into(),
            ..good_venue.clone()
        })
        .await,
        "name",
    );
    assert_invalid(
        register(pb::RegisterVenueRequest {
            address: "路".repeat(501),
            ..good_venue.clone()
        })
        .await,
        "address",
    );
    assert_invalid(
        register(pb::RegisterVenueRequest {
            division_code: "33".into(),
            ..good_venue.clone()
        })
        .await,
        "division_code",
    );
    assert_invalid(
        codes
            .get_venue(by(&gate_clerk(), pb::GetVenueRequest { id: "x".into() }))
            .await,
        "id",
    );
    let missing = codes
        .get_venue(by(
            &gate_clerk(),
            pb::GetVenueRequest {
                id: uuid::Uuid::new_v4().to_string(),
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(missing.code(), Code::NotFound);
    assert_invalid(
        codes
            .list_venues(by(
                &gate_clerk(),
                pb::ListVenuesRequest {
                    division_code: "3311".into(),
                    ..Default::default()
                },
            ))
            .await,
        "division_code",
    );

    let venue_scans = |period: Option<common::Period>, venue_id: &str| {
        codes.list_venue_scans(by(
            &venue_auditor(),
            pb::ListVenueScansRequest {
                page: None,
                venue_id: venue_id.into(),
                period,
            },
        ))
    };
    let some_venue = uuid::Uuid::new_v4().to_string();
    assert_invalid(venue_scans(Some(window(10, 0)), "x").await, "venue_id");
    assert_invalid(venue_scans(None, &some_venue).await, "period.start_time");
    assert_invalid(
        venue_scans(Some(window(0, 10)), &some_venue).await,
        "period",
    );
    assert_invalid(
        venue_scans(Some(window(32 * 24 * 60, 0)), &some_venue).await,
        "period",
    );
    let unknown_venue = venue_scans(Some(window(10, 0)), &some_venue)
        .await
        .unwrap_err();
    assert_eq!(unknown_venue.code(), Code::NotFound);
    assert_invalid(
        codes
            .list_holder_scans(by(
                &parent(),
                pb::ListHolderScansRequest {
                    page: None,
                    holder: None,
                    period: Some(common::Period {
                        start_time: Some(timestamp(Utc::now())),
                        end_time: None,
                    }),
                },
            ))
            .await,
        "period.end_time",
    );
    assert_invalid(
        codes
            .list_holder_scans(by(
                &venue_auditor(),
                pb::ListHolderScansRequest {
                    page: None,
                    holder: Some(crate::support::person("", "123")),
                    period: Some(window(10, 0)),
                },
            ))
            .await,
        "holder.person.id_number",
    );

    assert_eq!(w.footprint().await, before, "nothing written");
}
