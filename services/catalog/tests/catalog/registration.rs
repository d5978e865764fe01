//! Registration: idempotent on the request id, validated (every problem
//! named, nothing written), recorded with its event, audit record, history
//! and index.

use crate::support::*;
use tonic::Code;
use zhongtai_contracts::catalog::v1 as pb;
use zhongtai_contracts::catalog::v1::catalog_service_server::CatalogService;
use zhongtai_contracts::common::v1::MaskingRule;

fn register_request(request_id: &str, resource: pb::Resource) -> pb::RegisterResourceRequest {
    pb::RegisterResourceRequest {
        request_id: request_id.into(),
        resource: Some(resource),
    }
}

async fn get(
    t: &TestCatalog,
    caller: &zhongtai_kit::Caller,
    id: &str,
    version: i64,
) -> Result<pb::Resource, tonic::Status> {
    t.api
        .get_resource(acting(
            caller,
            pb::GetResourceRequest {
                id: id.into(),
                version,
            },
        ))
        .await
        .map(|r| r.into_inner().resource.unwrap())
}

#[tokio::test]
async fn registration_is_idempotent_validated_and_recorded() {
    let t = TestCatalog::postgres().await;
    let owner = operator(CIVIL_AFFAIRS);

    let registered = t
        .api
        .register_resource(acting(
            &owner,
            register_request("reg-1", marriage_registration()),
        ))
        .await
        .unwrap()
        .into_inner()
        .resource
        .unwrap();
    assert_eq!(registered.version, 1);
    assert_eq!(registered.state(), pb::ResourceState::Published);
    assert_eq!(registered.owner, Some(tenant(CIVIL_AFFAIRS)));
    assert_eq!(registered.fields.len(), 5);
    assert_eq!(registered.fields[2].default_masking, Some(keep_last(4)));
    assert_eq!(registered.sharing_conditions, "仅用于法定职责");
    // What registration answered is exactly what a read returns.
    assert_eq!(
        get(&t, &owner, &registered.id, 0).await.unwrap(),
        registered
    );
    assert_eq!(t.events("catalog.resource.published").await, 1);
    assert_eq!(
        t.count("audit_log WHERE action = 'catalog.resource.register'")
            .await,
        1
    );
    assert_eq!(t.count("resource_versions").await, 1);
    assert!(t.count("search_terms").await > 10);
    assert_eq!(t.count("resource_tags").await, 2);

    // The same request again returns the first resource and writes nothing.
    let before = t.snapshot().await;
    let again = t
        .api
        .register_resource(acting(
            &owner,
            register_request("reg-1", marriage_registration()),
        ))
        .await
        .unwrap()
        .into_inner()
        .resource
        .unwrap();
    assert_eq!(again, registered);
    assert_eq!(t.snapshot().await, before);

    // The request id with something else is a client bug.
    let other = simple_resource("other-data", "其他", pb::SharingAttribute::Conditional);
    let status = t
        .api
        .register_resource(acting(&owner, register_request("reg-1", other)))
        .await
        .unwrap_err();
    assert_eq!(violations(&status), ["request_id"]);

    // The code is unique per owner, not across owners.
    let status = t
        .api
        .register_resource(acting(
            &owner,
            register_request("reg-2", marriage_registration()),
        ))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::AlreadyExists, "{status:?}");
    assert_eq!(t.snapshot().await, before);
    let elsewhere = t
        .register(&operator(OTHER_CITY), marriage_registration())
        .await;
    assert_eq!(elsewhere.owner, Some(tenant(OTHER_CITY)));
}

#[tokio::test]
async fn bad_registrations_name_every_field_and_change_nothing() {
    let t = TestCatalog::postgres().await;
    let owner = operator(CIVIL_AFFAIRS);
    let before = t.snapshot().await;

    let mut bad = marriage_registration();
    bad.code = "Marriage Registration".into();
    bad.title = "".into();
    bad.description = "长".repeat(8001);
    bad.fields[0].name = "RegistrationId".into();
    bad.fields[1].name = "husband_id_number".into();
    bad.fields[3].r#type = 0;
    bad.fields[3].sensitivity = 42;
    bad.fields[2].default_masking = Some(MaskingRule {
        kind: 2,
        keep_first: -1,
        mask_character: "**".into(),
        ..Default::default()
    });
    bad.layer = 0;
    bad.sharing = 9;
    bad.open = 0;
    bad.update_frequency = 0;
    bad.line_id = "line-7".into();
    bad.source_table = "marriage registration; DROP TABLE resources".into();
    bad.tags = vec!["".into(), "t".repeat(65), "民政".into(), "民政".into()];
    let status = t
        .api
        .register_resource(acting(&owner, register_request("", bad)))
        .await
        .unwrap_err();
    assert_eq!(
        violations(&status),
        [
            "request_id",
            "resource.code",
            "resource.title",
            "resource.description",
            "resource.fields[0].name",
            "resource.fields[2].name",
            "resource.fields[2].default_masking.keep_first",
            "resource.fields[2].default_masking.mask_character",
            "resource.fields[3].type",
            "resource.fields[3].sensitivity",
            "resource.layer",
            "resource.sharing",
            "resource.open",
            "resource.update_frequency",
            "resource.line_id",
            "resource.source_table",
            "resource.tags[0]",
            "resource.tags[1]",
            "resource.tags[3]",
        ]
    );

    // No resource at all is every required part missing.
    let status = t
        .api
        .register_resource(acting(
            &owner,
            pb::RegisterResourceRequest {
                request_id: "r".into(),
                resource: None,
            },
        ))
        .await
        .unwrap_err();
    let named = violations(&status);
    for required in [
        "resource.code",
        "resource.title",
        "resource.fields",
        "resource.layer",
    ] {
        assert!(
            named.contains(&required.to_string()),
            "{required} in {named:?}"
        );
    }
    let mut too_many = marriage_registration();
    too_many.fields = (0..501)
        .map(|i| field(&format!("f{i}"), "", pb::SensitivityLevel::Public))
        .collect();
    let status = t
        .api
        .register_resource(acting(&owner, register_request("r2", too_many)))
        .await
        .unwrap_err();
    assert_eq!(violations(&status), ["resource.fields"]);
    assert_eq!(t.snapshot().await, before, "nothing was written");
}
