//! The approval center's service items through its gRPC handler, on
//! PostgreSQL and on SQLite: idempotent creation with its event in the same
//! transaction, uniqueness, validation that changes nothing, paging.

use std::sync::Arc;

use sea_orm::{ConnectionTrait, DatabaseConnection};
use tonic::{Code, Request};
use zhongtai_approval::api::ApprovalApi;
use zhongtai_approval::migration::Migrator;
use zhongtai_contracts::approval::v1::approval_service_server::ApprovalService;
use zhongtai_contracts::approval::v1::{
    CreateServiceItemRequest, GetServiceItemRequest, ListServiceItemsRequest,
};
use zhongtai_contracts::common::v1::{PageRequest, Tenant};
use zhongtai_kit::{Caller, Role, TenantId};
use zhongtai_store::{StoreConfig, connect, migrate};
use zhongtai_testkit::TestDatabase;

async fn api_on(url: &str) -> (ApprovalApi, DatabaseConnection) {
    let db = connect(&StoreConfig {
        url: url.to_string(),
        ..StoreConfig::default()
    })
    .await
    .unwrap();
    migrate::<Migrator>(&db).await.unwrap();
    (
        zhongtai_approval::api(db.clone(), Arc::new(tokio::sync::Notify::new())),
        db,
    )
}

fn create(request_id: &str, code: &str) -> CreateServiceItemRequest {
    CreateServiceItemRequest {
        request_id: request_id.into(),
        tenant: Some(Tenant {
            division_code: "331100".into(),
            department: "market-regulation".into(),
        }),
        code: code.into(),
        name: format!("事项 {code}"),
        ..Default::default()
    }
}

async fn count(db: &DatabaseConnection, table: &str) -> i64 {
    let row = db
        .query_one_raw(sea_orm::Statement::from_string(
            db.get_database_backend(),
            format!("SELECT COUNT(*) AS n FROM {table}"),
        ))
        .await
        .unwrap()
        .unwrap();
    row.try_get::<i64>("", "n").unwrap()
}

async fn exercise(url: &str) {
    let (api, db) = api_on(url).await;

    // Created once, with exactly one event in the outbox.
    let first = api
        .create_service_item(as_operator(create("req-1", "business-licence")))
        .await
        .unwrap()
        .into_inner()
        .item
        .unwrap();
    assert_eq!(first.code, "business-licence");
    assert_eq!(first.version, 1);
    assert_eq!(
        count(
            &db,
            "event_outbox WHERE event_type = 'approval.service_item.created'"
        )
        .await,
        1
    );
    // The creation is audited in the same transaction.
    assert_eq!(count(&db, "audit_log").await, 1);

    // The same request again (a client retry) returns the same item and
    // publishes nothing new.
    let again = api
        .create_service_item(as_operator(create("req-1", "business-licence")))
        .await
        .unwrap()
        .into_inner()
        .item
        .unwrap();
    assert_eq!(again.id, first.id);
    assert_eq!(count(&db, "service_items").await, 1);
    assert_eq!(
        count(
            &db,
            "event_outbox WHERE event_type = 'approval.service_item.created'"
        )
        .await,
        1
    );

    // A request id reused for something else, and a taken code, are refused.
    let reused = api
        .create_service_item(as_operator(create("req-1", "other-code")))
        .await
        .unwrap_err();
    assert_eq!(reused.code(), Code::InvalidArgument, "{reused:?}");
    let taken = api
        .create_service_item(as_operator(create("req-2", "business-licence")))
        .await
        .unwrap_err();
    assert_eq!(taken.code(), Code::AlreadyExists, "{taken:?}");

    // Bad input: a clear error naming the field, and nothing written.
    for (request, field) in [
        (create("", "x-1"), "request_id"),
        (
            CreateServiceItemRequest {
                tenant: Some(Tenant {
                    division_code: "33A100".into(),
                    department: String::new(),
                }),
                ..create("req-4", "x-3")
            },
            "tenant",
        ),
        (create("req-5", "Not A Code!"), "code"),
        (
            CreateServiceItemRequest {
                name: String::new(),
                ..create("req-6", "x-4")
            },
            "name",
        ),
    ] {
        let status = api
            .create_service_item(as_operator(request))
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::InvalidArgument, "{field}: {status:?}");
        let details = format!("{:?} {}", status.details(), status.message());
        assert!(details.contains(field), "{field} not named: {status:?}");
    }
    assert_eq!(count(&db, "service_items").await, 1);
    assert_eq!(
        count(
            &db,
            "event_outbox WHERE event_type = 'approval.service_item.created'"
        )
        .await,
        1
    );

    // Get by id; unknown and malformed ids.
    let got = api
        .get_service_item(as_operator(GetServiceItemRequest {
            id: first.id.clone(),
        }))
        .await
        .unwrap()
        .into_inner()
        .item
        .unwrap();
    assert_eq!(got, first);
    let missing = api
        .get_service_item(as_operator(GetServiceItemRequest {
            id: uuid::Uuid::new_v4().to_string(),
        }))
        .await
        .unwrap_err();
    assert_eq!(missing.code(), Code::NotFound);
    let malformed = api
        .get_service_item(as_operator(GetServiceItemRequest { id: "nope".into() }))
        .await
        .unwrap_err();
    assert_eq!(malformed.code(), Code::InvalidArgument);

    // Paging walks every item exactly once.
    for n in 0..4 {
        api.create_service_item(as_operator(create(
            &format!("page-{n}"),
            &format!("item-{n}"),
        )))
        .await
        .unwrap();
    }
    let mut seen = Vec::new();
    let mut token = String::new();
    loop {
        let page = api
            .list_service_items(as_operator(ListServiceItemsRequest {
                page: Some(PageRequest {
                    page_size: 2,
                    page_token: token,
                }),
                ..Default::default()
            }))
            .await
            .unwrap()
            .into_inner();
        seen.extend(page.items.into_iter().map(|i| i.code));
        token = page.page.unwrap().next_page_token;
        if token.is_empty() {
            break;
        }
    }
    seen.sort();
    assert_eq!(
        seen,
        ["business-licence", "item-0", "item-1", "item-2", "item-3"]
    );
    let bad_token = api
        .list_service_items(as_operator(ListServiceItemsRequest {
            page: Some(PageRequest {
                page_size: 2,
                page_token: "garbage".into(),
            }),
            ..Default::default()
        }))
        .await
        .unwrap_err();
    assert_eq!(bad_token.code(), Code::InvalidArgument);
}

#[tokio::test]
async fn service_items_on_postgres() {
    let db = TestDatabase::create().await;
    exercise(db.url()).await;
}

#[tokio::test]
async fn service_items_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    exercise(&format!(
        "sqlite://{}",
        dir.path().join("approval.db").display()
    ))
    .await;
}

/// Calls as an operator of the tenant the test's items belong to.
fn as_operator<T>(message: T) -> Request<T> {
    acting(message, "331100", "market-regulation", &[Role::Operator])
}

fn acting<T>(message: T, division: &str, department: &str, roles: &[Role]) -> Request<T> {
    let caller = Caller::new(
        "tester",
        TenantId::parse(division, department).unwrap(),
        roles,
    );
    zhongtai_kit::auth::acting_as(Request::new(message), caller)
}

/// Calls as an operator of a neighbouring department.
fn other<T>(message: T) -> Request<T> {
    acting(message, "331100", "civil-affairs", &[Role::Operator])
}

/// Another tenant's operator neither sees nor creates the first tenant's items.
async fn tenants_are_isolated(url: &str) {
    let (api, db) = api_on(url).await;
    let mine = api
        .create_service_item(as_operator(create("iso-1", "business-licence")))
        .await
        .unwrap()
        .into_inner()
        .item
        .unwrap();

    let status = api
        .get_service_item(other(GetServiceItemRequest {
            id: mine.id.clone(),
        }))
        .await
        .unwrap_err();
    assert_eq!(
        status.code(),
        Code::NotFound,
        "another tenant's item must not be visible"
    );
    let listed = api
        .list_service_items(other(ListServiceItemsRequest::default()))
        .await
        .unwrap()
        .into_inner();
    assert!(listed.items.is_empty(), "{listed:?}");
    let status = api
        .list_service_items(other(ListServiceItemsRequest {
            tenant: mine.tenant.clone(),
            ..Default::default()
        }))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied);
    let status = api
        .create_service_item(other(create("iso-2", "other-code")))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied);
    assert!(
        status.message().contains("331100/market-regulation"),
        "{status:?}"
    );
    assert_eq!(
        count(&db, "service_items").await,
        1,
        "the refused create wrote nothing"
    );

    // Without a department the division-level tenant is a tenant of its own.
    let city = api
        .list_service_items(acting(
            ListServiceItemsRequest::default(),
            "331100",
            "",
            &[Role::Viewer],
        ))
        .await
        .unwrap()
        .into_inner();
    assert!(city.items.is_empty());
    // A cross-tenant read grant over the city opens it, for reading only.
    let grant = Caller::new(
        "auditor",
        TenantId::parse("330000", "big-data").unwrap(),
        &[Role::Auditor],
    )
    .with_cross_tenant_read(vec![zhongtai_kit::DivisionCode::parse("331100").unwrap()]);
    let seen = api
        .get_service_item(zhongtai_kit::auth::acting_as(
            Request::new(GetServiceItemRequest {
                id: mine.id.clone(),
            }),
            grant,
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(seen.item.unwrap().id, mine.id);
}

#[tokio::test]
async fn tenants_are_isolated_on_postgres() {
    let database = TestDatabase::create().await;
    tenants_are_isolated(database.url()).await;
}

#[tokio::test]
async fn tenants_are_isolated_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    tenants_are_isolated(&format!("sqlite://{}", dir.path().join("a.db").display())).await;
}

fn update(
    item: &zhongtai_contracts::approval::v1::ServiceItem,
    paths: &[&str],
) -> zhongtai_contracts::approval::v1::UpdateServiceItemRequest {
    zhongtai_contracts::approval::v1::UpdateServiceItemRequest {
        item: Some(item.clone()),
        update_mask: Some(prost_types::FieldMask {
            paths: paths.iter().map(|p| p.to_string()).collect(),
        }),
    }
}

async fn outbox_updates(
    db: &DatabaseConnection,
) -> Vec<zhongtai_contracts::events::v1::ServiceItemUpdated> {
    use prost::Message;
    let rows = db
        .query_all_raw(sea_orm::Statement::from_string(
            db.get_database_backend(),
            "SELECT envelope FROM event_outbox WHERE event_type = 'approval.service_item.updated' \
             ORDER BY seq"
                .to_string(),
        ))
        .await
        .unwrap();
    rows.into_iter()
        .map(|row| {
            let envelope = zhongtai_contracts::events::v1::EventEnvelope::decode(
                row.try_get::<Vec<u8>>("", "envelope").unwrap().as_slice(),
            )
            .unwrap();
            zhongtai_contracts::events::v1::ServiceItemUpdated::decode(
                envelope.payload.unwrap().value.as_slice(),
            )
            .unwrap()
        })
        .collect()
}

/// Field-mask updates with a version check, the state's lifecycle, and
/// one event per real change.
async fn updates(url: &str) {
    use zhongtai_contracts::approval::v1::{Material, ServiceItemState};
    let (api, db) = api_on(url).await;
    let item = api
        .create_service_item(as_operator(create("upd-1", "business-licence")))
        .await
        .unwrap()
        .into_inner()
        .item
        .unwrap();

    let mut changed = item.clone();
    changed.name = "营业执照变更登记".into();
    changed.description = "新的说明".into();
    changed.code = "ignored-unless-named".into();
    changed.materials = vec![Material {
        code: "articles".into(),
        name: "公司章程".into(),
        required: true,
        ..Default::default()
    }];
    let v2 = api
        .update_service_item(as_operator(update(
            &changed,
            &["name", "description", "materials"],
        )))
        .await
        .unwrap()
        .into_inner()
        .item
        .unwrap();
    assert_eq!(v2.version, 2);
    assert_eq!(v2.name, "营业执照变更登记");
    assert_eq!(v2.code, "business-licence", "fields outside the mask stay");
    assert_eq!(v2.materials.len(), 1);
    assert_eq!(
        api.get_service_item(as_operator(GetServiceItemRequest {
            id: item.id.clone()
        }))
        .await
        .unwrap()
        .into_inner()
        .item
        .unwrap(),
        v2
    );
    let events = outbox_updates(&db).await;
    assert_eq!(events.len(), 1);
    assert_eq!(
        events[0].changed_fields.as_ref().unwrap().paths,
        ["name", "description", "materials"]
    );
    assert_eq!(events[0].actor.as_ref().unwrap().subject, "tester");
    assert_eq!(events[0].item.as_ref().unwrap(), &v2);
    assert_eq!(
        count(
            &db,
            "audit_log WHERE action = 'approval.service_item.update'"
        )
        .await,
        1
    );

    // A stale version is refused and changes nothing.
    let stale = api
        .update_service_item(as_operator(update(&changed, &["name"])))
        .await
        .unwrap_err();
    assert_eq!(stale.code(), Code::Aborted, "{stale:?}");
    // Asking for what is already there changes nothing either.
    let same = api
        .update_service_item(as_operator(update(&v2, &["name"])))
        .await
        .unwrap()
        .into_inner()
        .item
        .unwrap();
    assert_eq!(same, v2);
    assert_eq!(outbox_updates(&db).await.len(), 1);

    // ACTIVE ↔ SUSPENDED, then RETIRED for good.
    let mut current = v2;
    for state in [
        ServiceItemState::Suspended,
        ServiceItemState::Active,
        ServiceItemState::Retired,
    ] {
        let mut next = current.clone();
        next.state = state as i32;
        current = api
            .update_service_item(as_operator(update(&next, &["state"])))
            .await
            .unwrap()
            .into_inner()
            .item
            .unwrap();
        assert_eq!(current.state(), state);
    }
    assert_eq!(current.version, 5);
    let mut revived = current.clone();
    revived.state = ServiceItemState::Active as i32;
    let refused = api
        .update_service_item(as_operator(update(&revived, &["state"])))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::FailedPrecondition);
    let mut renamed = current.clone();
    renamed.name = "改名".into();
    let refused = api
        .update_service_item(as_operator(update(&renamed, &["name"])))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::FailedPrecondition);
    assert_eq!(outbox_updates(&db).await.len(), 4);

    // Another tenant's operator cannot reach it.
    let hidden = api
        .update_service_item(other(update(&renamed, &["name"])))
        .await
        .unwrap_err();
    assert_eq!(hidden.code(), Code::NotFound);
}

#[tokio::test]
async fn updates_on_postgres() {
    let database = TestDatabase::create().await;
    updates(database.url()).await;
}

#[tokio::test]
async fn updates_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    updates(&format!("sqlite://{}", dir.path().join("u.db").display())).await;
}
