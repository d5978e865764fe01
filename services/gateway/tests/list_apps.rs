//! `ListApps` over a migrated database, on SQLite and on PostgreSQL.

// Helpers run only inside tests, where a panic is a failure with a location.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use chrono::{DateTime, Utc};
use sea_orm::{ActiveModelTrait, DatabaseConnection, IntoActiveModel};
use tonic::{Code, Request, Status};
use uuid::Uuid;
use zhongtai_contracts::common::v1::PageRequest;
use zhongtai_contracts::gateway::v1 as pb;

use zhongtai_gateway::admin::AppsApi;
use zhongtai_gateway::domain::AdminAccess;
use zhongtai_gateway::migration::Migrator;
use zhongtai_gateway::store::SeaApps;
use zhongtai_gateway::store::entities::app;
use zhongtai_store::StoreConfig;
use zhongtai_testkit::TestDatabase;

#[tokio::test]
async fn lists_apps_on_sqlite() {
    let db = migrated_database("sqlite::memory:").await;
    apps_are_filtered_and_paged(AppsApi::new(Arc::new(SeaApps::new(db)), platform_access())).await;
}

#[tokio::test]
async fn lists_apps_on_postgres() {
    let database = TestDatabase::create().await;
    let db = migrated_database(database.url()).await;
    apps_are_filtered_and_paged(AppsApi::new(Arc::new(SeaApps::new(db)), platform_access())).await;
}

async fn migrated_database(url: &str) -> DatabaseConnection {
    let db = zhongtai_store::connect(&StoreConfig {
        url: url.into(),
        ..StoreConfig::default()
    })
    .await
    .unwrap();
    zhongtai_store::migrate::<Migrator>(&db).await.unwrap();
    seed_apps(&db).await;
    db
}

/// (name, state, allowed capabilities), in id order.
const APPS: [(&str, &str, &[&str]); 4] = [
    (
        "浙里办",
        "active",
        &["certificate.verify", "catalog.search"],
    ),
    ("license-kiosk", "disabled", &["certificate.verify"]),
    ("batch-checker", "active", &["certificate.verify-batch"]),
    ("search-portal", "active", &["catalog_search"]),
];

async fn seed_apps(db: &DatabaseConnection) {
    let registered = DateTime::<Utc>::from_timestamp(1_780_000_000, 0).unwrap();
    for (n, (name, state, capabilities)) in (1..).zip(APPS) {
        let row = app::Model {
            id: Uuid::from_u128(n).to_string(),
            name: name.into(),
            state: state.into(),
            allowed_capabilities: serde_json::to_string(capabilities).unwrap(),
            version: 1,
            created_at: registered,
            updated_at: registered,
            sponsor_division: "331100".into(),
            sponsor_department: "big-data".into(),
            owner: "{}".into(),
            contact: "{}".into(),
            disabled_reason: String::new(),
            request_id: None,
        };
        row.into_active_model().insert(db).await.unwrap();
    }
}

async fn apps_are_filtered_and_paged(api: AppsApi) {
    let all = list_apps(&api, request(0, "")).await.unwrap();
    assert_eq!(
        app_names(&all),
        ["浙里办", "license-kiosk", "batch-checker", "search-portal"]
    );
    assert_eq!(
        all.apps[0].allowed_capabilities,
        ["certificate.verify", "catalog.search"]
    );
    assert_eq!(all.apps[1].state(), pb::AppState::Disabled);
    assert_eq!(all.apps[0].create_time.unwrap().seconds, 1_780_000_000);

    let active = list_apps(
        &api,
        pb::ListAppsRequest {
            state: pb::AppState::Active as i32,
            ..request(0, "")
        },
    )
    .await
    .unwrap();
    assert_eq!(
        app_names(&active),
        ["浙里办", "batch-checker", "search-portal"]
    );

    let verifiers = with_capability(&api, "certificate.verify").await;
    assert_eq!(app_names(&verifiers), ["浙里办", "license-kiosk"]);
    // '_' is a LIKE wildcard; it must match only itself.
    let underscored = with_capability(&api, "catalog_search").await;
    assert_eq!(app_names(&underscored), ["search-portal"]);
    let nobody = with_capability(&api, "exchange.push").await;
    assert!(nobody.apps.is_empty());

    let first = list_apps(&api, request(3, "")).await.unwrap();
    assert_eq!(first.apps.len(), 3);
    let token = first.page.unwrap().next_page_token;
    let rest = list_apps(&api, request(3, &token)).await.unwrap();
    assert_eq!(app_names(&rest), ["search-portal"]);
    assert!(rest.page.unwrap().next_page_token.is_empty());

    for bad in [
        request(-10, ""),
        request(3, "page-2"),
        pb::ListAppsRequest {
            state: 7,
            ..request(0, "")
        },
        pb::ListAppsRequest {
            capability: "Certificate.Verify".into(),
            ..request(0, "")
        },
        pb::ListAppsRequest {
            capability: "catalog.%".into(),
            ..request(0, "")
        },
    ] {
        let status = list_apps(&api, bad.clone()).await.unwrap_err();
        assert_eq!(status.code(), Code::InvalidArgument, "{bad:?}");
    }
}

async fn with_capability(api: &AppsApi, capability: &str) -> pb::ListAppsResponse {
    let filtered = pb::ListAppsRequest {
        capability: capability.into(),
        ..request(0, "")
    };
    list_apps(api, filtered).await.unwrap()
}

fn request(page_size: i32, page_token: &str) -> pb::ListAppsRequest {
    pb::ListAppsRequest {
        page: Some(PageRequest {
            page_size,
            page_token: page_token.into(),
        }),
        ..Default::default()
    }
}

async fn list_apps(
    api: &AppsApi,
    request: pb::ListAppsRequest,
) -> Result<pb::ListAppsResponse, Status> {
    Ok(api.list_apps(acting(request)).await?.into_inner())
}

fn app_names(response: &pb::ListAppsResponse) -> Vec<&str> {
    response.apps.iter().map(|a| a.name.as_str()).collect()
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

fn platform_access() -> AdminAccess {
    AdminAccess::new(zhongtai_kit::TenantId::from_key("330000/big-data-bureau").unwrap())
}
