//! "What may I use": the resources and fields a tenant is granted, with the
//! strictest masking per field; lineage; grant lists.

use crate::support::requests::*;
use crate::support::*;
use tonic::Code;
use zhongtai_contracts::catalog::v1 as pb;
use zhongtai_contracts::catalog::v1::catalog_service_server::CatalogService;
use zhongtai_contracts::common::v1::{FieldAccess, MaskingKind, MaskingRule};
use zhongtai_kit::Caller;

#[tokio::test]
async fn what_may_i_use_lists_exactly_the_granted_fields_and_lineage_shows_grants() {
    let t = TestCatalog::postgres().await;
    let granted = setup(&t).await;
    let housing = operator(HOUSING_FUND);

    let usable = accessible(&t, &housing).await;
    let by_code = |code: &str| {
        usable
            .iter()
            .find(|entry| entry.resource.as_ref().unwrap().code == code)
            .unwrap()
            .clone()
    };
    assert_eq!(usable.len(), 2);
    let marriage = by_code("marriage-registration");
    assert_eq!(marriage.grants, std::slice::from_ref(&granted.reviewed));
    assert_eq!(
        marriage.fields,
        [
            FieldAccess {
                field: "husband_id_number".into(),
                masking: Some(keep_last(4))
            },
            FieldAccess {
                field: "husband_name".into(),
                masking: None
            },
        ]
    );
    let population = by_code("population-basics");
    assert_eq!(population.grants.len(), 2);
    assert_eq!(
        population.fields,
        [
            FieldAccess {
                field: "holder_name".into(),
                masking: Some(MaskingRule {
                    kind: MaskingKind::Hash as i32,
                    ..Default::default()
                }),
            },
            FieldAccess {
                field: "record_id".into(),
                masking: None
            },
        ],
        "the union, with the strictest masking per field"
    );
    assert!(
        accessible(&t, &operator(CIVIL_AFFAIRS)).await.is_empty(),
        "owners hold nothing"
    );
    let paged = t
        .api
        .list_accessible_resources(acting(
            &housing,
            pb::ListAccessibleResourcesRequest {
                page: Some(zhongtai_contracts::common::v1::PageRequest {
                    page_size: 1,
                    page_token: String::new(),
                }),
            },
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(paged.resources.len(), 1);
    assert!(!paged.page.unwrap().next_page_token.is_empty());

    // Lineage: the owner sees every grant, a grantee only its own.
    let lineage = |caller: Caller, id: String| {
        let api = &t.api;
        async move {
            api.get_resource_lineage(acting(
                &caller,
                pb::GetResourceLineageRequest { resource_id: id },
            ))
            .await
            .map(|r| r.into_inner())
        }
    };
    let owner_view = lineage(operator(CIVIL_AFFAIRS), granted.population.id.clone())
        .await
        .unwrap();
    assert_eq!(owner_view.line_id, granted.population.line_id);
    assert_eq!(owner_view.source_table, "public.population");
    assert_eq!(owner_view.grants.len(), 2);
    let grantee_view = lineage(housing.clone(), granted.marriage.id.clone())
        .await
        .unwrap();
    assert_eq!(grantee_view.grants, std::slice::from_ref(&granted.reviewed));
    let outsider_view = lineage(operator(OTHER_CITY), granted.marriage.id.clone())
        .await
        .unwrap();
    assert!(
        outsider_view.grants.is_empty(),
        "a shared resource, but none of its grants"
    );
    assert_eq!(
        violations(&lineage(housing.clone(), "x".into()).await.unwrap_err()),
        ["resource_id"]
    );

    // Lists: the holder's view and the owner's, with filters.
    let list = |caller: Caller, request: pb::ListGrantsRequest| {
        let api = &t.api;
        async move {
            api.list_grants(acting(&caller, request))
                .await
                .map(|r| r.into_inner().grants)
        }
    };
    assert_eq!(
        list(housing.clone(), pb::ListGrantsRequest::default())
            .await
            .unwrap()
            .len(),
        3
    );
    assert!(
        list(
            housing.clone(),
            pb::ListGrantsRequest {
                as_owner: true,
                ..Default::default()
            }
        )
        .await
        .unwrap()
        .is_empty()
    );
    let on_population = list(
        operator(CIVIL_AFFAIRS),
        pb::ListGrantsRequest {
            as_owner: true,
            resource_id: granted.population.id.clone(),
            grantee: Some(tenant(HOUSING_FUND)),
            states: vec![pb::GrantState::Approved as i32],
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(
        on_population
            .iter()
            .map(|g| g.id.clone())
            .collect::<Vec<_>>(),
        [
            granted.plain_ids.id.clone(),
            granted.hashed_names.id.clone()
        ]
    );
    let status = list(
        housing.clone(),
        pb::ListGrantsRequest {
            grantee: Some(tenant(OTHER_CITY)),
            ..Default::default()
        },
    )
    .await
    .unwrap_err();
    assert_eq!(denial(&status), "TENANT_MISMATCH");
    let status = list(
        housing.clone(),
        pb::ListGrantsRequest {
            states: vec![0],
            ..Default::default()
        },
    )
    .await
    .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
}
