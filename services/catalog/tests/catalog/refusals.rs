//! Requests refused: others' private data, one's own private or retired
//! data, unknown fields, and bad data of every kind, all changing nothing.

use crate::support::requests::*;
use crate::support::*;
use tonic::Code;
use zhongtai_contracts::catalog::v1 as pb;
use zhongtai_contracts::catalog::v1::catalog_service_server::CatalogService;
use zhongtai_contracts::common::v1::{
    MaskingKind, MaskingRule, Period, RowCondition, RowFilter, RowOperator,
};
use zhongtai_kit::Role;

#[tokio::test]
async fn requests_are_refused_for_private_retired_or_badly_described_access() {
    let t = TestCatalog::postgres().await;
    let civil = operator(CIVIL_AFFAIRS);
    let housing = caller(HOUSING_FUND, &[Role::Operator, Role::Admin]);
    let shared = t.register(&civil, marriage_registration()).await;
    let private = t
        .register(
            &civil,
            simple_resource(
                "internal-ledger",
                "内部台账",
                pb::SharingAttribute::NotShared,
            ),
        )
        .await;
    let own_private = t
        .register(
            &housing,
            simple_resource("own-ledger", "自有台账", pb::SharingAttribute::NotShared),
        )
        .await;
    let retired = t
        .register(
            &housing,
            simple_resource("old-data", "旧数据", pb::SharingAttribute::Conditional),
        )
        .await;
    t.api
        .retire_resource(acting(
            &housing,
            pb::RetireResourceRequest {
                id: retired.id.clone(),
                reason: String::new(),
            },
        ))
        .await
        .unwrap();
    let before = t.snapshot().await;

    let status = request(&t, &housing, ask("p-1", &private.id, &["holder_name"]))
        .await
        .unwrap_err();
    assert_eq!(
        status.code(),
        Code::NotFound,
        "others' private data does not exist for the caller"
    );
    let status = request(&t, &housing, ask("p-2", &own_private.id, &["holder_name"]))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::FailedPrecondition, "{status:?}");
    let status = request(&t, &housing, ask("p-3", &retired.id, &["holder_name"]))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::FailedPrecondition, "{status:?}");

    let status = request(
        &t,
        &housing,
        ask("u-1", &shared.id, &["husband_name", "wife_name"]),
    )
    .await
    .unwrap_err();
    assert_eq!(violations(&status), ["fields[1].field"]);

    // Every problem at once.
    let mut bad = ask("", "not-a-uuid", &[]);
    bad.purpose = " ".into();
    bad.period = Some(Period {
        start_time: Some(in_days(10)),
        end_time: Some(in_days(5)),
    });
    bad.grantee = Some(tenant("12345"));
    let status = request(&t, &housing, bad).await.unwrap_err();
    assert_eq!(
        violations(&status),
        [
            "request_id",
            "resource_id",
            "purpose",
            "fields",
            "grantee",
            "period.end_time"
        ]
    );
    let mut bad = ask(
        "b-2",
        &shared.id,
        &["husband_name", "husband_name", "registration_date"],
    );
    bad.fields[2].masking = Some(MaskingRule {
        kind: MaskingKind::Redact as i32,
        keep_first: 3,
        mask_character: "##".into(),
        ..Default::default()
    });
    bad.period = Some(Period {
        start_time: None,
        end_time: Some(in_days(4 * 365)),
    });
    bad.row_filter = Some(RowFilter {
        conditions: vec![
            RowCondition {
                field: "district_code".into(),
                operator: RowOperator::WithinDivision as i32,
                values: vec!["3311".into()],
            },
            RowCondition {
                field: "nope".into(),
                operator: RowOperator::In as i32,
                values: vec![],
            },
            RowCondition {
                field: "husband_name".into(),
                operator: 0,
                values: vec!["x".into()],
            },
        ],
    });
    let status = request(&t, &housing, bad).await.unwrap_err();
    assert_eq!(
        violations(&status),
        [
            "fields[2].masking.keep_first",
            "fields[2].masking.mask_character",
            "period.end_time",
            "fields[1].field",
            "row_filter.conditions[0].values[0]",
            "row_filter.conditions[1].field",
            "row_filter.conditions[1].values",
            "row_filter.conditions[2].operator",
        ]
    );
    let mut too_many = ask("b-3", &shared.id, &["husband_name"]);
    too_many.row_filter = Some(RowFilter {
        conditions: vec![
            RowCondition {
                field: "husband_name".into(),
                operator: RowOperator::Equals as i32,
                values: vec!["x".into()],
            };
            17
        ],
    });
    assert_eq!(
        violations(&request(&t, &housing, too_many).await.unwrap_err()),
        ["row_filter.conditions"]
    );
    assert_eq!(t.snapshot().await, before, "nothing was written");

    // Naming another tenant as the receiver is allowed.
    let mut for_city = ask("g-1", &shared.id, &["husband_name"]);
    for_city.grantee = Some(tenant(OTHER_CITY));
    let requested = request(&t, &housing, for_city).await.unwrap();
    assert_eq!(requested.grantee, Some(tenant(OTHER_CITY)));
    assert_eq!(requested.requester, Some(tenant(HOUSING_FUND)));
}
