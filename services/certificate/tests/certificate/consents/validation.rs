//! Bad input on every RPC is INVALID_ARGUMENT naming the field, and
//! writes nothing; asking as another app is PERMISSION_DENIED.

use chrono::{Duration, Utc};
use tonic::Status;
use zhongtai_contracts::certificate::v1 as pb;
use zhongtai_contracts::certificate::v1::consent_service_server::ConsentService;
use zhongtai_contracts::common::v1 as common;
use zhongtai_kit::proto::timestamp;

use super::world::*;
use crate::support::{business_licence_type, by, create_type, organization, person};

/// Asserts `answer` is INVALID_ARGUMENT naming `field`.
fn assert_invalid<T: std::fmt::Debug>(what: &str, answer: Result<T, Status>, field: &str) {
    let status = match answer {
        Ok(ok) => panic!("{what}: accepted {ok:?}"),
        Err(status) => status,
    };
    assert_eq!(
        status.code(),
        tonic::Code::InvalidArgument,
        "{what}: {status:?}"
    );
    assert!(
        details(&status).contains(field),
        "{what}: {field} not named in {status:?}"
    );
}

fn period(start: chrono::DateTime<Utc>, end: chrono::DateTime<Utc>) -> Option<common::Period> {
    Some(common::Period {
        start_time: Some(timestamp(start)),
        end_time: Some(timestamp(end)),
    })
}

#[tokio::test]
async fn bad_consent_requests_name_the_field_and_write_nothing() {
    let w = World::postgres().await;
    create_type(&w.h, business_licence_type()).await.unwrap();
    let now = Utc::now();
    let good = w.request();
    let cases: Vec<(&str, pb::RequestConsentRequest, &str)> = vec![
        (
            "empty request id",
            pb::RequestConsentRequest {
                request_id: String::new(),
                ..good.clone()
            },
            "request_id",
        ),
        (
            "long request id",
            pb::RequestConsentRequest {
                request_id: "r".repeat(129),
                ..good.clone()
            },
            "request_id",
        ),
        (
            "no app",
            pb::RequestConsentRequest {
                app_id: String::new(),
                ..good.clone()
            },
            "app_id",
        ),
        (
            "bad app id",
            pb::RequestConsentRequest {
                app_id: "home service!".into(),
                ..good.clone()
            },
            "app_id",
        ),
        (
            "no requester",
            pb::RequestConsentRequest {
                requester_name: " ".into(),
                ..good.clone()
            },
            "requester_name",
        ),
        (
            "long requester",
            pb::RequestConsentRequest {
                requester_name: "家".repeat(201),
                ..good.clone()
            },
            "requester_name",
        ),
        (
            "no holder",
            pb::RequestConsentRequest {
                holder: None,
                ..good.clone()
            },
            "holder",
        ),
        (
            "bad id number",
            pb::RequestConsentRequest {
                holder: Some(person(NANNY_NAME, "12345")),
                ..good.clone()
            },
            "holder.person.id_number",
        ),
        (
            "an organisation",
            pb::RequestConsentRequest {
                holder: Some(organization("丽水青瓷有限公司", "91331100MA2A0B1C2D")),
                ..good.clone()
            },
            "holder",
        ),
        (
            "no custodian",
            pb::RequestConsentRequest {
                custodian: None,
                ..good.clone()
            },
            "custodian",
        ),
        (
            "bad custodian",
            pb::RequestConsentRequest {
                custodian: Some(tenant("33/x")),
                ..good.clone()
            },
            "custodian",
        ),
        (
            "no types",
            pb::RequestConsentRequest {
                certificate_types: Vec::new(),
                ..good.clone()
            },
            "certificate_types",
        ),
        (
            "21 types",
            pb::RequestConsentRequest {
                certificate_types: (0..21).map(|i| format!("type-{i}")).collect(),
                ..good.clone()
            },
            "certificate_types",
        ),
        (
            "bad type code",
            pb::RequestConsentRequest {
                certificate_types: vec!["健康证".into()],
                ..good.clone()
            },
            "certificate_types[0]",
        ),
        (
            "type twice",
            pb::RequestConsentRequest {
                certificate_types: vec![QUALIFICATION.into(), QUALIFICATION.into()],
                ..good.clone()
            },
            "certificate_types[1]",
        ),
        (
            "unknown type",
            pb::RequestConsentRequest {
                certificate_types: vec![QUALIFICATION.into(), "driving-licence".into()],
                ..good.clone()
            },
            "certificate_types[1]",
        ),
        (
            "a type for organisations",
            pb::RequestConsentRequest {
                certificate_types: vec!["business-licence".into()],
                claims: Vec::new(),
                ..good.clone()
            },
            "certificate_types[0]",
        ),
        (
            "unknown claim",
            pb::RequestConsentRequest {
                claims: vec!["blood_type".into()],
                ..good.clone()
            },
            "claims[0]",
        ),
        (
            "claim twice",
            pb::RequestConsentRequest {
                claims: vec!["level".into(), "level".into()],
                ..good.clone()
            },
            "claims[1]",
        ),
        (
            "no purpose",
            pb::RequestConsentRequest {
                purpose: String::new(),
                ..good.clone()
            },
            "purpose",
        ),
        (
            "long purpose",
            pb::RequestConsentRequest {
                purpose: "查".repeat(2001),
                ..good.clone()
            },
            "purpose",
        ),
        (
            "no period",
            pb::RequestConsentRequest {
                period: None,
                ..good.clone()
            },
            "period",
        ),
        (
            "no end",
            pb::RequestConsentRequest {
                period: Some(common::Period {
                    start_time: Some(timestamp(now)),
                    end_time: None,
                }),
                ..good.clone()
            },
            "period.end_time",
        ),
        (
            "bad start",
            pb::RequestConsentRequest {
                period: Some(common::Period {
                    start_time: Some(prost_types::Timestamp {
                        seconds: 0,
                        nanos: -1,
                    }),
                    end_time: Some(timestamp(now + Duration::days(1))),
                }),
                ..good.clone()
            },
            "period.start_time",
        ),
        (
            "end before start",
            pb::RequestConsentRequest {
                period: period(now + Duration::days(2), now + Duration::days(1)),
                ..good.clone()
            },
            "period.end_time",
        ),
        (
            "over a year",
            pb::RequestConsentRequest {
                period: period(now, now + Duration::days(367)),
                ..good.clone()
            },
            "period.end_time",
        ),
        (
            "already over",
            pb::RequestConsentRequest {
                period: period(now - Duration::days(30), now - Duration::days(1)),
                ..good.clone()
            },
            "period.end_time",
        ),
        (
            "no reads",
            pb::RequestConsentRequest {
                read_limit: 0,
                ..good.clone()
            },
            "read_limit",
        ),
        (
            "too many reads",
            pb::RequestConsentRequest {
                read_limit: 10_001,
                ..good.clone()
            },
            "read_limit",
        ),
    ];
    let before = w.footprint().await;
    for (what, request, field) in cases {
        assert_invalid(what, w.ask(request).await, field);
    }
    assert_eq!(w.footprint().await, before, "nothing written");

    for (who, reason) in [(other_app(), "APP_MISMATCH"), (custodian(), "NOT_AN_APP")] {
        let status = w.ask_as(&who, w.request()).await.unwrap_err();
        assert_eq!(status.code(), tonic::Code::PermissionDenied, "{status:?}");
        assert!(details(&status).contains(reason), "{status:?}");
    }
    assert_eq!(w.footprint().await, before, "nothing written");
}

#[tokio::test]
async fn a_request_id_is_the_same_consent_for_the_same_request_only() {
    let w = World::postgres().await;
    let request = w.request();
    let first = w.ask(request.clone()).await.unwrap();
    let again = w.ask(request.clone()).await.unwrap();
    assert_eq!(again, first, "the same consent again");
    assert_eq!(w.h.count("consents").await, 1);
    let other = pb::RequestConsentRequest {
        read_limit: 5,
        ..request
    };
    let status = w.ask(other).await.unwrap_err();
    assert_eq!(status.code(), tonic::Code::InvalidArgument);
    assert!(details(&status).contains("request_id"));
    assert_eq!(w.h.count("consents").await, 1);
}

#[tokio::test]
async fn bad_input_to_every_other_rpc_is_refused_and_writes_nothing() {
    let w = World::postgres().await;
    let consent = w.pending().await;
    let api = &w.h.consents;
    let before = w.footprint().await;
    let id = consent.id.clone();

    assert_invalid(
        "get: bad id",
        api.get_consent(by(&nanny(), pb::GetConsentRequest { id: "nope".into() }))
            .await,
        "id",
    );
    for (what, request, field) in [
        (
            "list: bad state",
            pb::ListConsentsRequest {
                states: vec![99],
                ..Default::default()
            },
            "states[0]",
        ),
        (
            "list: bad party",
            pb::ListConsentsRequest {
                awaiting_party: 99,
                ..Default::default()
            },
            "awaiting_party",
        ),
        (
            "list: negative page",
            pb::ListConsentsRequest {
                page: Some(common::PageRequest {
                    page_size: -1,
                    page_token: String::new(),
                }),
                ..Default::default()
            },
            "page.page_size",
        ),
        (
            "list: foreign token",
            pb::ListConsentsRequest {
                page: Some(common::PageRequest {
                    page_size: 1,
                    page_token: "garbage".into(),
                }),
                ..Default::default()
            },
            "page.page_token",
        ),
    ] {
        assert_invalid(what, api.list_consents(by(&nanny(), request)).await, field);
    }
    for (what, request, field) in [
        (
            "unlock: bad id",
            pb::UnlockConsentRequest {
                id: "x".into(),
                party: pb::ConsentParty::Holder as i32,
            },
            "id",
        ),
        (
            "unlock: no party",
            pb::UnlockConsentRequest {
                id: id.clone(),
                party: 0,
            },
            "party",
        ),
        (
            "unlock: unknown party",
            pb::UnlockConsentRequest {
                id: id.clone(),
                party: 7,
            },
            "party",
        ),
    ] {
        assert_invalid(what, api.unlock_consent(by(&nanny(), request)).await, field);
    }
    for (what, request, field) in [
        (
            "decline: no reason",
            pb::DeclineConsentRequest {
                id: id.clone(),
                party: pb::ConsentParty::Holder as i32,
                reason: String::new(),
            },
            "reason",
        ),
        (
            "decline: no party",
            pb::DeclineConsentRequest {
                id: id.clone(),
                party: 0,
                reason: "x".into(),
            },
            "party",
        ),
        (
            "decline: bad id",
            pb::DeclineConsentRequest {
                id: String::new(),
                party: pb::ConsentParty::Holder as i32,
                reason: "x".into(),
            },
            "id",
        ),
    ] {
        assert_invalid(
            what,
            api.decline_consent(by(&nanny(), request)).await,
            field,
        );
    }
    for (what, request, field) in [
        (
            "revoke: long reason",
            pb::RevokeConsentRequest {
                id: id.clone(),
                party: pb::ConsentParty::Holder as i32,
                reason: "不".repeat(2001),
            },
            "reason",
        ),
        (
            "revoke: no party",
            pb::RevokeConsentRequest {
                id: id.clone(),
                party: 0,
                reason: "x".into(),
            },
            "party",
        ),
    ] {
        assert_invalid(what, api.revoke_consent(by(&nanny(), request)).await, field);
    }
    for (what, request, field) in [
        (
            "read: no request id",
            pb::ReadConsentedDataRequest {
                request_id: String::new(),
                consent_id: id.clone(),
            },
            "request_id",
        ),
        (
            "read: bad consent id",
            pb::ReadConsentedDataRequest {
                request_id: "r".into(),
                consent_id: "nope".into(),
            },
            "consent_id",
        ),
    ] {
        assert_invalid(
            what,
            api.read_consented_data(by(&app(), request)).await,
            field,
        );
    }
    for (what, request, field) in [
        (
            "usage: no consent id",
            pb::ListConsentUsageRequest {
                consent_id: String::new(),
                page: None,
            },
            "consent_id",
        ),
        (
            "usage: foreign token",
            pb::ListConsentUsageRequest {
                consent_id: id.clone(),
                page: Some(common::PageRequest {
                    page_size: 1,
                    page_token: "v1:zz".into(),
                }),
            },
            "page.page_token",
        ),
    ] {
        assert_invalid(
            what,
            api.list_consent_usage(by(&nanny(), request)).await,
            field,
        );
    }
    assert_eq!(w.footprint().await, before, "nothing written");

    let unknown = uuid::Uuid::new_v4().to_string();
    let status = w.read(&unknown).await.unwrap_err();
    assert_eq!(status.code(), tonic::Code::NotFound);
    let status = w
        .unlock(&nanny(), &unknown, pb::ConsentParty::Holder)
        .await
        .unwrap_err();
    assert_eq!(status.code(), tonic::Code::NotFound);
    assert_eq!(w.footprint().await, before, "nothing written");
}
