//! Issuers: `ListIssuers` over seeded rows, on SQLite and on PostgreSQL.

use chrono::{DateTime, Utc};
use sea_orm::{ActiveModelTrait, DatabaseConnection, IntoActiveModel};
use tonic::{Code, Request, Status};
use uuid::Uuid;
use zhongtai_certificate::CertificateApi;
use zhongtai_certificate::issuers::entities::issuer;
use zhongtai_contracts::certificate::v1 as pb;
use zhongtai_contracts::certificate::v1::certificate_service_server::CertificateService;
use zhongtai_contracts::common::v1::{PageRequest, Tenant};

use crate::support::Harness;

#[tokio::test]
async fn lists_issuers_on_sqlite() {
    check_issuer_listing(Harness::sqlite().await).await;
}

#[tokio::test]
async fn lists_issuers_on_postgres() {
    check_issuer_listing(Harness::postgres().await).await;
}

/// (name, division, department, state), in id order.
const ISSUERS: [(&str, &str, &str, &str); 4] = [
    (
        "浙江省市场监督管理局",
        "330000",
        "market-regulation",
        "active",
    ),
    ("丽水市民政局", "331100", "civil-affairs", "active"),
    (
        "丽水市市场监督管理局",
        "331100",
        "market-regulation",
        "suspended",
    ),
    ("丽水市人民政府", "331100", "", "active"),
];

async fn insert_issuers(db: &DatabaseConnection, created_at: DateTime<Utc>) {
    for (n, (name, division, department, state)) in (1..).zip(ISSUERS) {
        let row = issuer::Model {
            id: Uuid::from_u128(n).to_string(),
            tenant_division: division.into(),
            tenant_department: department.into(),
            name: name.into(),
            state: state.into(),
            version: 2,
            created_at,
            updated_at: created_at,
        };
        row.into_active_model().insert(db).await.unwrap();
    }
}

async fn check_issuer_listing(h: Harness) {
    let created_at = DateTime::from_timestamp(1_760_000_000, 0).unwrap();
    insert_issuers(&h.db, created_at).await;
    let api = &h.api;

    let all = list_issuers(api, None, None).await.unwrap();
    assert_eq!(names(&all), ISSUERS.map(|issuer| issuer.0));
    let suspended = &all.issuers[2];
    assert_eq!(suspended.state(), pb::IssuerState::Suspended);
    assert_eq!(suspended.id, Uuid::from_u128(3).to_string());
    assert_eq!(
        suspended.tenant,
        Some(tenant("331100", "market-regulation"))
    );
    assert_eq!(suspended.version, 2);
    assert_eq!(
        suspended.update_time.unwrap().seconds,
        created_at.timestamp()
    );

    let civil_affairs = list_issuers(api, Some(tenant("331100", "civil-affairs")), None)
        .await
        .unwrap();
    assert_eq!(names(&civil_affairs), ["丽水市民政局"]);
    let city_government = list_issuers(api, Some(tenant("331100", "")), None)
        .await
        .unwrap();
    assert_eq!(names(&city_government), ["丽水市人民政府"]);
    let empty_tenant = list_issuers(api, Some(tenant("331121", "")), None)
        .await
        .unwrap();
    assert!(empty_tenant.issuers.is_empty());
    // A tenant outside the caller's scope is refused, not answered with nothing.
    let outside = list_issuers(api, Some(tenant("110000", "")), None)
        .await
        .unwrap_err();
    assert_eq!(outside.code(), Code::PermissionDenied, "{outside:?}");

    let mut seen = Vec::new();
    let mut page_token = String::new();
    for _ in 0..ISSUERS.len() {
        let page = list_issuers(
            api,
            None,
            Some(PageRequest {
                page_size: 1,
                page_token,
            }),
        )
        .await
        .unwrap();
        assert_eq!(page.issuers.len(), 1);
        seen.extend(names(&page).into_iter().map(str::to_string));
        page_token = page.page.unwrap().next_page_token;
    }
    assert!(page_token.is_empty(), "the fourth page is the last");
    assert_eq!(seen, ISSUERS.map(|issuer| issuer.0));

    let negative_size = list_issuers(
        api,
        None,
        Some(PageRequest {
            page_size: -5,
            page_token: String::new(),
        }),
    )
    .await;
    let forged_token = list_issuers(
        api,
        None,
        Some(PageRequest {
            page_size: 1,
            page_token: "v1:zz".into(),
        }),
    )
    .await;
    let bad_division = list_issuers(api, Some(tenant("3311", "")), None).await;
    for result in [negative_size, forged_token, bad_division] {
        assert_eq!(result.unwrap_err().code(), Code::InvalidArgument);
    }
}

async fn list_issuers(
    api: &CertificateApi,
    tenant: Option<Tenant>,
    page: Option<PageRequest>,
) -> Result<pb::ListIssuersResponse, Status> {
    let request = acting(pb::ListIssuersRequest { page, tenant });
    Ok(api.list_issuers(request).await?.into_inner())
}

fn names(response: &pb::ListIssuersResponse) -> Vec<&str> {
    response.issuers.iter().map(|i| i.name.as_str()).collect()
}

fn tenant(division: &str, department: &str) -> Tenant {
    Tenant {
        division_code: division.into(),
        department: department.into(),
    }
}

/// Calls as a province-wide reviewer holding a cross-tenant read grant, so
/// every seeded tenant is in scope and the filters are what is tested.
fn acting<T>(message: T) -> Request<T> {
    let reviewer = zhongtai_kit::Caller::new(
        "reviewer",
        zhongtai_kit::TenantId::parse("330000", "big-data").unwrap(),
        &[zhongtai_kit::Role::Auditor],
    )
    .with_cross_tenant_read(vec![zhongtai_kit::DivisionCode::parse("330000").unwrap()]);
    zhongtai_kit::auth::acting_as(Request::new(message), reviewer)
}
