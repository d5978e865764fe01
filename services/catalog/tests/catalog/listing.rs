//! ListResources on PostgreSQL and SQLite: visible resources by title,
//! owner and layer filters, paging, bad input.

use crate::support::*;
use tonic::Code;
use zhongtai_contracts::catalog::v1 as pb;
use zhongtai_contracts::catalog::v1::catalog_service_server::CatalogService;
use zhongtai_contracts::common::v1::PageRequest;

async fn check_listing(t: TestCatalog) {
    let civil = operator(CIVIL_AFFAIRS);
    let housing = operator(HOUSING_FUND);
    let division = operator("331100");
    let mut raw = simple_resource("c-raw", "C raw", pb::SharingAttribute::Conditional);
    raw.layer = pb::ResourceLayer::Raw as i32;
    t.register(&civil, raw).await;
    let mut base = simple_resource("a-base", "A base", pb::SharingAttribute::Unconditional);
    base.layer = pb::ResourceLayer::Base as i32;
    t.register(&civil, base).await;
    t.register(
        &housing,
        simple_resource("b-fund", "B fund", pb::SharingAttribute::Conditional),
    )
    .await;
    t.register(
        &housing,
        simple_resource("d-secret", "D secret", pb::SharingAttribute::NotShared),
    )
    .await;
    t.register(
        &division,
        simple_resource("e-city", "E city", pb::SharingAttribute::Conditional),
    )
    .await;
    t.register(
        &operator(OTHER_CITY),
        simple_resource("f-far", "F far", pb::SharingAttribute::Conditional),
    )
    .await;

    let codes = |request: pb::ListResourcesRequest| {
        let api = &t.api;
        let civil = civil.clone();
        async move {
            let response = api
                .list_resources(acting(&civil, request))
                .await
                .unwrap()
                .into_inner();
            (
                response
                    .resources
                    .into_iter()
                    .map(|r| r.code)
                    .collect::<Vec<_>>(),
                response.page.unwrap().next_page_token,
            )
        }
    };
    // Ordered by title; housing's private resource is not among them.
    let (everything, token) = codes(pb::ListResourcesRequest::default()).await;
    assert_eq!(everything, ["a-base", "b-fund", "c-raw", "e-city", "f-far"]);
    assert!(token.is_empty());

    let (division_wide, _) = codes(pb::ListResourcesRequest {
        owner: Some(tenant("331100")),
        ..Default::default()
    })
    .await;
    assert_eq!(division_wide, ["a-base", "b-fund", "c-raw", "e-city"]);
    let (housing_only, _) = codes(pb::ListResourcesRequest {
        owner: Some(tenant(HOUSING_FUND)),
        ..Default::default()
    })
    .await;
    assert_eq!(housing_only, ["b-fund"]);
    let (base_only, _) = codes(pb::ListResourcesRequest {
        layer: pb::ResourceLayer::Base as i32,
        ..Default::default()
    })
    .await;
    assert_eq!(base_only, ["a-base"]);

    // Pages of two cover the same list in the same order.
    let mut paged = Vec::new();
    let mut token = String::new();
    loop {
        let (page, next) = codes(pb::ListResourcesRequest {
            page: Some(PageRequest {
                page_size: 2,
                page_token: token,
            }),
            ..Default::default()
        })
        .await;
        assert!(page.len() <= 2);
        paged.extend(page);
        token = next;
        if token.is_empty() {
            break;
        }
    }
    assert_eq!(paged, everything);

    for bad in [
        pb::ListResourcesRequest {
            page: Some(PageRequest {
                page_size: -1,
                page_token: String::new(),
            }),
            ..Default::default()
        },
        pb::ListResourcesRequest {
            page: Some(PageRequest {
                page_size: 1,
                page_token: "not-a-token".into(),
            }),
            ..Default::default()
        },
        pb::ListResourcesRequest {
            owner: Some(tenant("33")),
            ..Default::default()
        },
        pb::ListResourcesRequest {
            owner: Some(tenant("331100/Civil Affairs")),
            ..Default::default()
        },
        pb::ListResourcesRequest {
            layer: 99,
            ..Default::default()
        },
    ] {
        let status = t
            .api
            .list_resources(acting(&civil, bad.clone()))
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::InvalidArgument, "{bad:?}");
    }
}

#[tokio::test]
async fn lists_visible_resources_by_title_on_postgres() {
    check_listing(TestCatalog::postgres().await).await;
}

#[tokio::test]
async fn lists_visible_resources_by_title_on_sqlite() {
    check_listing(TestCatalog::sqlite().await).await;
}
