//! Register → get → list → update → disable → enable, idempotency and
//! tenant isolation.

use prost_types::FieldMask;
use tonic::Code;
use zhongtai_contracts::gateway::v1 as pb;
use zhongtai_gateway::domain::ConfigSource;

use crate::fixture::{
    CITY, Engine, OTHER_CITY, PLATFORM, Plane, as_admin, as_viewer, register, violated_fields,
};

#[tokio::test]
async fn app_lifecycle_on_sqlite() {
    app_lifecycle(Plane::on(Engine::Sqlite).await).await;
}

#[tokio::test]
async fn app_lifecycle_on_postgres() {
    app_lifecycle(Plane::on(Engine::Postgres).await).await;
}

async fn app_lifecycle(plane: Plane) {
    let api = &plane.apps;
    let first = api
        .register_app(as_admin(CITY, register("req-1", CITY, "公积金查询")))
        .await
        .unwrap()
        .into_inner()
        .app
        .unwrap();
    assert_eq!(first.state(), pb::AppState::Active);
    assert_eq!(first.version, 1);
    assert_eq!(first.owner.as_ref().unwrap().name, "浙江某银行");
    let again = api
        .register_app(as_admin(CITY, register("req-1", CITY, "another name")))
        .await
        .unwrap()
        .into_inner()
        .app
        .unwrap();
    assert_eq!(again, first, "one request_id, one app");

    let got = api
        .get_app(as_viewer(
            CITY,
            pb::GetAppRequest {
                id: first.id.clone(),
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .app
        .unwrap();
    assert_eq!(got, first);
    let hidden = api
        .get_app(as_admin(
            OTHER_CITY,
            pb::GetAppRequest {
                id: first.id.clone(),
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(hidden.code(), Code::NotFound);
    let listed = api
        .list_apps(as_admin(OTHER_CITY, pb::ListAppsRequest::default()))
        .await
        .unwrap()
        .into_inner();
    assert!(listed.apps.is_empty());
    let platform = api
        .list_apps(as_admin(PLATFORM, pb::ListAppsRequest::default()))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(platform.apps.len(), 1, "platform admins see every app");

    let foreign = api
        .register_app(as_admin(CITY, register("req-2", OTHER_CITY, "x")))
        .await
        .unwrap_err();
    assert_eq!(foreign.code(), Code::PermissionDenied);
    let sponsored = api
        .register_app(as_admin(PLATFORM, register("req-3", OTHER_CITY, "y")))
        .await
        .unwrap();
    assert_eq!(
        sponsored
            .into_inner()
            .app
            .unwrap()
            .sponsor
            .unwrap()
            .division_code,
        "330100"
    );

    let mut bad = register("", CITY, " ");
    bad.allowed_capabilities = vec!["Not A Name".into()];
    bad.sponsor = None;
    let status = api.register_app(as_admin(CITY, bad)).await.unwrap_err();
    assert_eq!(
        violated_fields(&status),
        ["request_id", "sponsor", "allowed_capabilities[0]", "name"]
    );

    let update = |version: i64, paths: &[&str]| pb::UpdateAppRequest {
        app: Some(pb::App {
            id: first.id.clone(),
            version,
            name: "公积金查询 2".into(),
            contact: Some(pb::Contact {
                name: "ignored".into(),
                ..Default::default()
            }),
            ..Default::default()
        }),
        update_mask: Some(FieldMask {
            paths: paths.iter().map(|p| p.to_string()).collect(),
        }),
    };
    let updated = api
        .update_app(as_admin(CITY, update(1, &["name"])))
        .await
        .unwrap()
        .into_inner()
        .app
        .unwrap();
    assert_eq!(
        (updated.name.as_str(), updated.version),
        ("公积金查询 2", 2)
    );
    assert_eq!(updated.contact, first.contact, "unmasked fields stay");
    let stale = api
        .update_app(as_admin(CITY, update(1, &["name"])))
        .await
        .unwrap_err();
    assert_eq!(stale.code(), Code::Aborted);
    let unknown = api
        .update_app(as_admin(CITY, update(2, &["state"])))
        .await
        .unwrap_err();
    assert_eq!(violated_fields(&unknown), ["update_mask"]);
    let mut bad_names = update(2, &["allowed_capabilities"]);
    bad_names.app.as_mut().unwrap().allowed_capabilities = vec!["ok.name".into(), "Bad".into()];
    let status = api.update_app(as_admin(CITY, bad_names)).await.unwrap_err();
    assert_eq!(violated_fields(&status), ["app.allowed_capabilities[1]"]);
    let mut moved = update(2, &["sponsor"]);
    moved.app.as_mut().unwrap().sponsor = register("r", OTHER_CITY, "n").sponsor;
    let status = api.update_app(as_admin(CITY, moved)).await.unwrap_err();
    assert_eq!(
        status.code(),
        Code::PermissionDenied,
        "cannot hand an app to another tenant"
    );
    let elsewhere = api
        .update_app(as_admin(OTHER_CITY, update(2, &["name"])))
        .await
        .unwrap_err();
    assert_eq!(elsewhere.code(), Code::NotFound);

    let reasonless = api
        .disable_app(as_admin(
            CITY,
            pb::DisableAppRequest {
                id: first.id.clone(),
                reason: " ".into(),
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(violated_fields(&reasonless), ["reason"]);
    let disabled = api
        .disable_app(as_admin(
            CITY,
            pb::DisableAppRequest {
                id: first.id.clone(),
                reason: "key leaked".into(),
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .app
        .unwrap();
    assert_eq!(disabled.state(), pb::AppState::Disabled);
    assert_eq!(disabled.disabled_reason, "key leaked");
    let enabled = api
        .enable_app(as_admin(
            CITY,
            pb::EnableAppRequest {
                id: first.id.clone(),
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .app
        .unwrap();
    assert_eq!(
        (enabled.state(), enabled.version),
        (pb::AppState::Active, 4)
    );
    assert!(enabled.disabled_reason.is_empty());

    // Two registrations (the repeat changes nothing), an update, a disable
    // and an enable.
    assert_eq!(plane.config.revision().await.unwrap(), 5);
    let actions = audited_actions(&plane).await;
    for action in [
        "gateway.app.register",
        "gateway.app.update",
        "gateway.app.disable",
        "gateway.app.enable",
    ] {
        assert!(
            actions.iter().any(|a| a == action),
            "{action} not audited: {actions:?}"
        );
    }

    let not_uuid = api
        .get_app(as_admin(CITY, pb::GetAppRequest { id: "app-1".into() }))
        .await
        .unwrap_err();
    assert_eq!(violated_fields(&not_uuid), ["id"]);
}

async fn audited_actions(plane: &Plane) -> Vec<String> {
    use sea_orm::{ConnectionTrait, Statement};
    let backend = plane.db.get_database_backend();
    let rows = plane
        .db
        .query_all_raw(Statement::from_string(
            backend,
            "SELECT action FROM audit_log",
        ))
        .await
        .unwrap();
    rows.iter()
        .map(|row| row.try_get::<String>("", "action").unwrap())
        .collect()
}
