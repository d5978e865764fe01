//! Capability validation, uniqueness, publishing rules and the versions
//! GetCapability picks.

use prost_types::FieldMask;
use tonic::Code;
use zhongtai_contracts::gateway::v1 as pb;
use zhongtai_gateway::domain::ConfigSource;

use crate::fixture::{CITY, Engine, PLATFORM, Plane, as_admin, as_viewer, violated_fields};

const READ_ONLY: &str = "/zhongtai.gateway.v1.GatewayAdminService/GetApp";
const SIDE_EFFECTS: &str = "/zhongtai.gateway.v1.GatewayAdminService/IssueCredential";

#[tokio::test]
async fn capabilities_on_sqlite() {
    capability_rules(Plane::on(Engine::Sqlite).await).await;
}

#[tokio::test]
async fn capabilities_on_postgres() {
    capability_rules(Plane::on(Engine::Postgres).await).await;
}

pub fn capability(version: &str, template: &str) -> pb::Capability {
    pb::Capability {
        name: "gateway.app-get".into(),
        version: version.into(),
        title: "Read an app".into(),
        http: Some(pb::HttpRoute {
            method: pb::HttpMethod::Get as i32,
            route_template: template.into(),
            body: String::new(),
        }),
        backend: Some(pb::BackendMethod {
            service: "gateway".into(),
            grpc_method: READ_ONLY.into(),
        }),
        idempotent: true,
        ..Default::default()
    }
}

fn create(request_id: &str, capability: pb::Capability) -> pb::CreateCapabilityRequest {
    pb::CreateCapabilityRequest {
        request_id: request_id.into(),
        capability: Some(capability),
    }
}

fn key(version: &str) -> (String, String) {
    ("gateway.app-get".into(), version.into())
}

async fn capability_rules(plane: Plane) {
    let api = &plane.capabilities;
    let created = api
        .create_capability(as_admin(
            PLATFORM,
            create("c-1", capability("v1", "/v1/apps/{id}")),
        ))
        .await
        .unwrap()
        .into_inner()
        .capability
        .unwrap();
    assert!(!created.published);
    assert_eq!(created.timeout.unwrap().seconds, 5, "unset timeout is 5 s");
    assert_eq!(created.priority(), pb::CapabilityPriority::Normal);
    let again = api
        .create_capability(as_admin(
            PLATFORM,
            create("c-1", capability("v1", "/v1/apps/{id}")),
        ))
        .await
        .unwrap()
        .into_inner()
        .capability
        .unwrap();
    assert_eq!(again, created);

    let city = api
        .create_capability(as_admin(
            CITY,
            create("c-2", capability("v2", "/v2/apps/{id}")),
        ))
        .await
        .unwrap_err();
    assert_eq!(city.code(), Code::PermissionDenied);

    let mut unknown = capability("v2", "/v2/apps/{id}");
    unknown.backend.as_mut().unwrap().grpc_method = "/zhongtai.nope.v1.Nope/Get".into();
    let status = api
        .create_capability(as_admin(PLATFORM, create("c-3", unknown)))
        .await
        .unwrap_err();
    assert_eq!(violated_fields(&status), ["capability.backend.grpc_method"]);

    let status = api
        .create_capability(as_admin(
            PLATFORM,
            create("c-4", capability("v2", "/apps/{id}")),
        ))
        .await
        .unwrap_err();
    assert_eq!(violated_fields(&status), ["capability.http.route_template"]);

    let status = api
        .create_capability(as_admin(
            PLATFORM,
            create("c-4b", capability("v2", "/v2/apps/{nope}")),
        ))
        .await
        .unwrap_err();
    assert_eq!(
        violated_fields(&status),
        ["capability.http.route_template"],
        "the template names a field GetAppRequest does not have"
    );

    let mut retried = capability("v2", "/v2/credentials");
    retried.backend.as_mut().unwrap().grpc_method = SIDE_EFFECTS.into();
    let status = api
        .create_capability(as_admin(PLATFORM, create("c-5", retried)))
        .await
        .unwrap_err();
    assert_eq!(violated_fields(&status), ["capability.idempotent"]);

    let mut bad = capability("2", "/v2/apps/{id}");
    bad.title = String::new();
    bad.http.as_mut().unwrap().method = 0;
    let status = api
        .create_capability(as_admin(PLATFORM, create("c-6", bad)))
        .await
        .unwrap_err();
    assert_eq!(violated_fields(&status), ["capability.http.method"]);

    let mut same_route = capability("v1", "/v1/apps/{id}");
    same_route.name = "gateway.other".into();
    let status = api
        .create_capability(as_admin(PLATFORM, create("c-7", same_route)))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::AlreadyExists);
    assert!(
        status.message().contains("GET /v1/apps/{id}"),
        "{}",
        status.message()
    );
    let status = api
        .create_capability(as_admin(
            PLATFORM,
            create("c-8", capability("v1", "/v1/other")),
        ))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::AlreadyExists);

    for (request_id, version) in [("c-9", "v9"), ("c-10", "v10")] {
        api.create_capability(as_admin(
            PLATFORM,
            create(
                request_id,
                capability(version, &format!("/{version}/apps/{{id}}")),
            ),
        ))
        .await
        .unwrap();
    }
    let get = |version: &str| pb::GetCapabilityRequest {
        name: "gateway.app-get".into(),
        version: version.into(),
    };
    let none = api
        .get_capability(as_viewer(CITY, get("")))
        .await
        .unwrap_err();
    assert_eq!(none.code(), Code::NotFound, "nothing published yet");

    let revision = plane.config.revision().await.unwrap();
    for version in ["v9", "v10"] {
        let (name, version) = key(version);
        api.publish_capability(as_admin(
            PLATFORM,
            pb::PublishCapabilityRequest { name, version },
        ))
        .await
        .unwrap();
    }
    assert_eq!(plane.config.revision().await.unwrap(), revision + 2);
    let latest = api
        .get_capability(as_viewer(CITY, get("")))
        .await
        .unwrap()
        .into_inner()
        .capability
        .unwrap();
    assert_eq!(latest.version, "v10", "v10 is above v9");
    let snapshot = plane.config.load().await.unwrap();
    assert_eq!(snapshot.capabilities.len(), 2, "only published ones load");

    let (name, version) = key("v10");
    let status = api
        .delete_capability(as_admin(
            PLATFORM,
            pb::DeleteCapabilityRequest {
                name: name.clone(),
                version: version.clone(),
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::FailedPrecondition);
    api.unpublish_capability(as_admin(
        PLATFORM,
        pb::UnpublishCapabilityRequest {
            name: name.clone(),
            version: version.clone(),
        },
    ))
    .await
    .unwrap();
    api.delete_capability(as_admin(
        PLATFORM,
        pb::DeleteCapabilityRequest { name, version },
    ))
    .await
    .unwrap();
    let latest = api
        .get_capability(as_viewer(CITY, get("")))
        .await
        .unwrap()
        .into_inner()
        .capability
        .unwrap();
    assert_eq!(latest.version, "v9");

    let listed = api
        .list_capabilities(as_viewer(CITY, pb::ListCapabilitiesRequest::default()))
        .await
        .unwrap()
        .into_inner();
    let versions: Vec<_> = listed
        .capabilities
        .iter()
        .map(|c| c.version.as_str())
        .collect();
    assert_eq!(versions, ["v1", "v9"]);
    let published = api
        .list_capabilities(as_viewer(
            CITY,
            pb::ListCapabilitiesRequest {
                published_only: true,
                ..Default::default()
            },
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(published.capabilities.len(), 1);

    // One per page: versions of one name follow each other, then the end.
    let mut paged = Vec::new();
    let mut page_token = String::new();
    loop {
        let page = api
            .list_capabilities(as_viewer(
                CITY,
                pb::ListCapabilitiesRequest {
                    page: Some(zhongtai_contracts::common::v1::PageRequest {
                        page_size: 1,
                        page_token: page_token.clone(),
                    }),
                    ..Default::default()
                },
            ))
            .await
            .unwrap()
            .into_inner();
        paged.extend(page.capabilities.into_iter().map(|c| c.version));
        page_token = page.page.map(|p| p.next_page_token).unwrap_or_default();
        if page_token.is_empty() {
            break;
        }
    }
    assert_eq!(paged, ["v1", "v9"]);
    let forged = api
        .list_capabilities(as_viewer(
            CITY,
            pb::ListCapabilitiesRequest {
                page: Some(zhongtai_contracts::common::v1::PageRequest {
                    page_size: 1,
                    page_token: "not-a-token".into(),
                }),
                ..Default::default()
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(forged.code(), Code::InvalidArgument, "{forged:?}");

    let update = |revision: i64, title: &str| pb::UpdateCapabilityRequest {
        capability: Some(pb::Capability {
            name: "gateway.app-get".into(),
            version: "v1".into(),
            revision,
            title: title.into(),
            ..Default::default()
        }),
        update_mask: Some(FieldMask {
            paths: vec!["title".into()],
        }),
    };
    let updated = api
        .update_capability(as_admin(PLATFORM, update(1, "Get an app")))
        .await
        .unwrap()
        .into_inner()
        .capability
        .unwrap();
    assert_eq!(
        (updated.title.as_str(), updated.revision),
        ("Get an app", 2)
    );
    assert_eq!(updated.http, created.http, "unmasked fields stay");
    let stale = api
        .update_capability(as_admin(PLATFORM, update(1, "x")))
        .await
        .unwrap_err();
    assert_eq!(stale.code(), Code::Aborted);
    let empty = api
        .update_capability(as_admin(PLATFORM, update(2, "")))
        .await
        .unwrap_err();
    assert_eq!(violated_fields(&empty), ["capability.title"]);
}
