//! Updates by field mask with optimistic concurrency, past versions and
//! the history, retirement, and what others may not see or change.

use crate::support::*;
use tonic::Code;
use zhongtai_contracts::catalog::v1 as pb;
use zhongtai_contracts::catalog::v1::catalog_service_server::CatalogService;
use zhongtai_contracts::common::v1::{ErrorReason, PageRequest};
use zhongtai_kit::Role;

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

async fn update(
    t: &TestCatalog,
    caller: &zhongtai_kit::Caller,
    resource: pb::Resource,
    paths: &[&str],
    note: &str,
) -> Result<pb::Resource, tonic::Status> {
    t.api
        .update_resource(acting(
            caller,
            pb::UpdateResourceRequest {
                resource: Some(resource),
                update_mask: Some(prost_types::FieldMask {
                    paths: paths.iter().map(|p| p.to_string()).collect(),
                }),
                change_note: note.into(),
            },
        ))
        .await
        .map(|r| r.into_inner().resource.unwrap())
}

#[tokio::test]
async fn updates_create_versions_and_refuse_stale_or_foreign_changes() {
    let t = TestCatalog::postgres().await;
    let owner = operator(CIVIL_AFFAIRS);
    let v1 = t.register(&owner, marriage_registration()).await;

    // Title and fields change; the code is immutable and other parts stay.
    let mut changed = v1.clone();
    changed.title = "婚姻登记信息（全省）".into();
    changed.fields.push(field(
        "wife_name",
        "女方姓名",
        pb::SensitivityLevel::Sensitive,
    ));
    changed.layer = pb::ResourceLayer::Theme as i32; // not in the mask: ignored
    let v2 = update(
        &t,
        &owner,
        changed.clone(),
        &["title", "fields"],
        "加入女方姓名",
    )
    .await
    .unwrap();
    assert_eq!(v2.version, 2);
    assert_eq!(v2.title, "婚姻登记信息（全省）");
    assert_eq!(v2.fields.len(), 6);
    assert_eq!(v2.layer(), pb::ResourceLayer::Base);
    assert_eq!(get(&t, &owner, &v1.id, 0).await.unwrap(), v2);
    assert_eq!(
        get(&t, &owner, &v1.id, 1).await.unwrap(),
        v1,
        "the past version as it was"
    );
    assert_eq!(get(&t, &owner, &v1.id, 2).await.unwrap(), v2);
    let status = get(&t, &owner, &v1.id, 7).await.unwrap_err();
    assert_eq!(status.code(), Code::NotFound);
    assert_eq!(t.events("catalog.resource.updated").await, 1);

    // The new wording is searchable at once.
    let found = t
        .api
        .search_resources(acting(
            &owner,
            pb::SearchResourcesRequest {
                query: "女方姓名".into(),
                ..Default::default()
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .results;
    assert_eq!(found.len(), 1);

    // A stale version is a conflict and changes nothing.
    let before = t.snapshot().await;
    let status = update(&t, &owner, changed.clone(), &["title"], "")
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Aborted, "{status:?}");
    assert_eq!(
        zhongtai_kit::status::reason_of(&status),
        Some(ErrorReason::VersionConflict)
    );

    // Parts outside the updatable set, and bad values of named parts.
    let mut bad = v2.clone();
    bad.title = String::new();
    bad.layer = 0;
    let status = update(&t, &owner, bad.clone(), &["code", "title", "state"], "")
        .await
        .unwrap_err();
    assert_eq!(
        violations(&status),
        ["update_mask", "update_mask", "resource.title"]
    );
    let status = update(&t, &owner, bad.clone(), &[], "").await.unwrap_err();
    assert_eq!(violations(&status), ["update_mask"]);
    let status = update(&t, &owner, bad, &["layer"], &"x".repeat(2001))
        .await
        .unwrap_err();
    assert_eq!(violations(&status), ["change_note", "resource.layer"]);

    // Another tenant sees the shared resource but may not change it.
    let stranger = caller(HOUSING_FUND, &[Role::Operator, Role::Admin]);
    let status = update(&t, &stranger, v2.clone(), &["title"], "")
        .await
        .unwrap_err();
    assert_eq!(denial(&status), "NOT_OWNER");
    let status = t
        .api
        .retire_resource(acting(
            &stranger,
            pb::RetireResourceRequest {
                id: v2.id.clone(),
                reason: String::new(),
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(denial(&status), "NOT_OWNER");
    assert_eq!(t.snapshot().await, before);

    // An update that changes nothing makes no version.
    let same = update(&t, &owner, v2.clone(), &["title", "tags"], "")
        .await
        .unwrap();
    assert_eq!(same, v2);

    // History, newest first, page by page.
    let mut v3_input = v2.clone();
    v3_input.sharing = pb::SharingAttribute::Unconditional as i32;
    let v3 = update(&t, &owner, v3_input, &["sharing"], "无条件共享")
        .await
        .unwrap();
    assert!(
        v3.sharing_conditions.is_empty(),
        "conditions only apply to conditional sharing"
    );
    let mut token = String::new();
    let mut seen = Vec::new();
    loop {
        let page = t
            .api
            .list_resource_versions(acting(
                &stranger,
                pb::ListResourceVersionsRequest {
                    resource_id: v1.id.clone(),
                    page: Some(PageRequest {
                        page_size: 2,
                        page_token: token,
                    }),
                },
            ))
            .await
            .unwrap()
            .into_inner();
        seen.extend(page.versions);
        token = page.page.unwrap().next_page_token;
        if token.is_empty() {
            break;
        }
    }
    assert_eq!(
        seen.iter().map(|v| v.version).collect::<Vec<_>>(),
        [3, 2, 1]
    );
    assert_eq!(
        seen[0].changed_fields.as_ref().unwrap().paths,
        ["sharing", "sharing_conditions"]
    );
    assert_eq!(seen[0].change_note, "无条件共享");
    assert_eq!(
        seen[1].changed_fields.as_ref().unwrap().paths,
        ["title", "fields"]
    );
    assert_eq!(seen[1].changed_by.as_ref().unwrap().subject, owner.subject);
    assert!(seen[2].changed_fields.as_ref().unwrap().paths.is_empty());
    assert_eq!(seen[2].resource.as_ref().unwrap(), &v1);
    for bad in [
        pb::ListResourceVersionsRequest {
            resource_id: "nope".into(),
            page: None,
        },
        pb::ListResourceVersionsRequest {
            resource_id: v1.id.clone(),
            page: Some(PageRequest {
                page_size: -1,
                page_token: String::new(),
            }),
        },
    ] {
        let status = t
            .api
            .list_resource_versions(acting(&owner, bad))
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::InvalidArgument);
    }
}

#[tokio::test]
async fn private_resources_stay_invisible_and_retired_ones_hidden() {
    let t = TestCatalog::postgres().await;
    let owner = operator(CIVIL_AFFAIRS);
    let private = t
        .register(
            &owner,
            simple_resource(
                "internal-ledger",
                "内部台账",
                pb::SharingAttribute::NotShared,
            ),
        )
        .await;
    let stranger = caller(HOUSING_FUND, &[Role::Operator, Role::Admin, Role::Viewer]);
    let before = t.snapshot().await;
    let status = get(&t, &stranger, &private.id, 0).await.unwrap_err();
    assert_eq!(status.code(), Code::NotFound);
    let status = update(&t, &stranger, private.clone(), &["title"], "")
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::NotFound, "not even told it exists");
    assert_eq!(t.snapshot().await, before);

    // Retirement: a new version, an event; hidden from others and from
    // lists unless the owner asks.
    let shared = t.register(&owner, marriage_registration()).await;
    let retired = t
        .api
        .retire_resource(acting(
            &owner,
            pb::RetireResourceRequest {
                id: shared.id.clone(),
                reason: "停止维护".into(),
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .resource
        .unwrap();
    assert_eq!(retired.state(), pb::ResourceState::Retired);
    assert_eq!(retired.version, 2);
    assert_eq!(t.events("catalog.resource.retired").await, 1);
    let again = t
        .api
        .retire_resource(acting(
            &owner,
            pb::RetireResourceRequest {
                id: shared.id.clone(),
                reason: String::new(),
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .resource
        .unwrap();
    assert_eq!(again, retired, "retiring twice changes nothing");
    assert_eq!(
        get(&t, &stranger, &shared.id, 0).await.unwrap_err().code(),
        Code::NotFound
    );
    assert_eq!(get(&t, &owner, &shared.id, 0).await.unwrap(), retired);
    let status = update(&t, &owner, retired.clone(), &["title"], "")
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::FailedPrecondition);
    let status = t
        .api
        .retire_resource(acting(
            &owner,
            pb::RetireResourceRequest {
                id: "x".into(),
                reason: "r".repeat(2001),
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(violations(&status), ["id", "reason"]);

    let list = |caller: zhongtai_kit::Caller, include_retired: bool| {
        let api = &t.api;
        async move {
            api.list_resources(acting(
                &caller,
                pb::ListResourcesRequest {
                    include_retired,
                    ..Default::default()
                },
            ))
            .await
            .unwrap()
            .into_inner()
            .resources
            .into_iter()
            .map(|r| r.code)
            .collect::<Vec<_>>()
        }
    };
    assert_eq!(list(owner.clone(), false).await, ["internal-ledger"]);
    assert_eq!(
        list(owner.clone(), true).await,
        ["internal-ledger", "marriage-registration"]
    );
    assert!(list(stranger.clone(), true).await.is_empty());
}
