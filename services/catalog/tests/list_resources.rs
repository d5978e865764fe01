//! `ListResources` over a migrated database, on SQLite and on PostgreSQL.

// Helpers run only inside tests, where a panic is a failure with a location.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use chrono::{DateTime, Utc};
use sea_orm::{ActiveModelTrait, DatabaseConnection, IntoActiveModel};
use tonic::{Code, Request, Status};
use uuid::Uuid;
use zhongtai_catalog::api::CatalogApi;
use zhongtai_catalog::migration::Migrator;
use zhongtai_catalog::store::SeaResources;
use zhongtai_catalog::store::entities::resource;
use zhongtai_contracts::catalog::v1 as pb;
use zhongtai_contracts::catalog::v1::catalog_service_server::CatalogService;
use zhongtai_contracts::common::v1::{PageRequest, Tenant};
use zhongtai_store::StoreConfig;
use zhongtai_testkit::TestDatabase;

#[tokio::test]
async fn lists_resources_on_sqlite() {
    check_listing(migrated("sqlite::memory:").await).await;
}

#[tokio::test]
async fn lists_resources_on_postgres() {
    let database = TestDatabase::create().await;
    check_listing(migrated(database.url()).await).await;
}

async fn migrated(url: &str) -> DatabaseConnection {
    let config = StoreConfig {
        url: url.to_string(),
        ..StoreConfig::default()
    };
    let db = zhongtai_store::connect(&config).await.unwrap();
    zhongtai_store::migrate::<Migrator>(&db).await.unwrap();
    db
}

/// Rows as (code, division, department, layer, state), inserted in id order.
const ROWS: [(&str, &str, &str, &str, &str); 5] = [
    (
        "marriage-registration",
        "331100",
        "civil-affairs",
        "raw",
        "published",
    ),
    (
        "old-marriage-index",
        "331100",
        "civil-affairs",
        "base",
        "retired",
    ),
    (
        "housing-fund-accounts",
        "331100",
        "housing-fund",
        "base",
        "published",
    ),
    (
        "hangzhou-marriages",
        "330100",
        "civil-affairs",
        "theme",
        "published",
    ),
    ("city-population", "331100", "", "base", "published"),
];

fn registered_at() -> DateTime<Utc> {
    DateTime::from_timestamp(1_750_000_000, 0).unwrap()
}

async fn seed(db: &DatabaseConnection) {
    for (n, (code, division, department, layer, state)) in (1..).zip(ROWS) {
        resource::Model {
            id: Uuid::from_u128(n).to_string(),
            owner_division: division.into(),
            owner_department: department.into(),
            code: code.into(),
            title: format!("{code} title"),
            layer: layer.into(),
            state: state.into(),
            version: 1,
            created_at: registered_at(),
            updated_at: registered_at(),
        }
        .into_active_model()
        .insert(db)
        .await
        .unwrap();
    }
}

async fn check_listing(db: DatabaseConnection) {
    seed(&db).await;
    let api = CatalogApi::new(Arc::new(SeaResources::new(db)));

    let everything = list(&api, pb::ListResourcesRequest::default())
        .await
        .unwrap();
    assert_eq!(
        codes(&everything),
        [
            "marriage-registration",
            "housing-fund-accounts",
            "hangzhou-marriages",
            "city-population"
        ]
    );
    assert!(everything.page.unwrap().next_page_token.is_empty());
    let first = &everything.resources[0];
    assert_eq!(first.owner, Some(tenant("331100", "civil-affairs")));
    assert_eq!(first.title, "marriage-registration title");
    assert_eq!(first.layer(), pb::ResourceLayer::Raw);
    assert_eq!(first.state(), pb::ResourceState::Published);
    assert_eq!(first.version, 1);
    assert_eq!(
        first.create_time.unwrap().seconds,
        registered_at().timestamp()
    );

    let with_retired = list(
        &api,
        pb::ListResourcesRequest {
            include_retired: true,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(with_retired.resources.len(), ROWS.len());
    assert_eq!(
        with_retired.resources[1].state(),
        pb::ResourceState::Retired
    );

    let division = list(
        &api,
        pb::ListResourcesRequest {
            owner: Some(tenant("331100", "")),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(
        codes(&division),
        [
            "marriage-registration",
            "housing-fund-accounts",
            "city-population"
        ]
    );

    let department = list(
        &api,
        pb::ListResourcesRequest {
            owner: Some(tenant("331100", "civil-affairs")),
            include_retired: true,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(
        codes(&department),
        ["marriage-registration", "old-marriage-index"]
    );

    let base = list(
        &api,
        pb::ListResourcesRequest {
            layer: pb::ResourceLayer::Base as i32,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(codes(&base), ["housing-fund-accounts", "city-population"]);

    check_paging(&api).await;
    check_bad_input(&api).await;
}

async fn check_paging(api: &CatalogApi) {
    let mut token = String::new();
    let mut pages = Vec::new();
    loop {
        let response = list(
            api,
            pb::ListResourcesRequest {
                page: Some(PageRequest {
                    page_size: 3,
                    page_token: token,
                }),
                include_retired: true,
                ..Default::default()
            },
        )
        .await
        .unwrap();
        pages.push(codes(&response).join(","));
        token = response.page.unwrap().next_page_token;
        if token.is_empty() {
            break;
        }
    }
    let codes: Vec<&str> = ROWS.iter().map(|row| row.0).collect();
    assert_eq!(pages, [codes[..3].join(","), codes[3..].join(",")]);
}

async fn check_bad_input(api: &CatalogApi) {
    let bad_requests = [
        pb::ListResourcesRequest {
            page: Some(PageRequest {
                page_size: -1,
                page_token: String::new(),
            }),
            ..Default::default()
        },
        pb::ListResourcesRequest {
            page: Some(PageRequest {
                page_size: 10,
                page_token: "not-a-token".into(),
            }),
            ..Default::default()
        },
        pb::ListResourcesRequest {
            owner: Some(tenant("33", "")),
            ..Default::default()
        },
        pb::ListResourcesRequest {
            owner: Some(tenant("331100", "Civil Affairs")),
            ..Default::default()
        },
        pb::ListResourcesRequest {
            layer: 99,
            ..Default::default()
        },
    ];
    for request in bad_requests {
        let status = list(api, request.clone()).await.unwrap_err();
        assert_eq!(status.code(), Code::InvalidArgument, "{request:?}");
    }
}

async fn list(
    api: &CatalogApi,
    request: pb::ListResourcesRequest,
) -> Result<pb::ListResourcesResponse, Status> {
    api.list_resources(acting(request))
        .await
        .map(tonic::Response::into_inner)
}

fn codes(response: &pb::ListResourcesResponse) -> Vec<&str> {
    response.resources.iter().map(|r| r.code.as_str()).collect()
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
