//! Reads with malformed ids or paging are INVALID_ARGUMENT naming the
//! field; well-formed ids of nothing are NOT_FOUND.

use crate::support::*;
use tonic::Code;
use zhongtai_contracts::catalog::v1 as pb;
use zhongtai_contracts::catalog::v1::catalog_service_server::CatalogService;
use zhongtai_contracts::common::v1::PageRequest;

#[tokio::test]
async fn malformed_reads_name_their_fields() {
    let t = TestCatalog::postgres().await;
    let viewer = operator(HOUSING_FUND);
    let unknown = uuid::Uuid::now_v7().to_string();

    let status = t
        .api
        .get_resource(acting(
            &viewer,
            pb::GetResourceRequest {
                id: "x".into(),
                version: -1,
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(violations(&status), ["id", "version"]);
    let status = t
        .api
        .get_resource(acting(
            &viewer,
            pb::GetResourceRequest {
                id: unknown.clone(),
                version: 0,
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::NotFound);

    let status = t
        .api
        .get_access_request(acting(
            &viewer,
            pb::GetAccessRequestRequest { id: "x".into() },
        ))
        .await
        .unwrap_err();
    assert_eq!(violations(&status), ["id"]);
    let status = t
        .api
        .get_access_request(acting(
            &viewer,
            pb::GetAccessRequestRequest {
                id: unknown.clone(),
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::NotFound);

    let status = t
        .api
        .get_grant(acting(&viewer, pb::GetGrantRequest { id: "x".into() }))
        .await
        .unwrap_err();
    assert_eq!(violations(&status), ["id"]);
    let status = t
        .api
        .get_grant(acting(
            &viewer,
            pb::GetGrantRequest {
                id: unknown.clone(),
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::NotFound);

    let status = t
        .api
        .get_resource_lineage(acting(
            &viewer,
            pb::GetResourceLineageRequest {
                resource_id: unknown,
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::NotFound);
    let status = t
        .api
        .list_accessible_resources(acting(
            &viewer,
            pb::ListAccessibleResourcesRequest {
                page: Some(PageRequest {
                    page_size: -1,
                    page_token: String::new(),
                }),
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(violations(&status), ["page.page_size"]);
    let status = t
        .api
        .list_grants(acting(
            &viewer,
            pb::ListGrantsRequest {
                page: Some(PageRequest {
                    page_size: 10,
                    page_token: "garbage".into(),
                }),
                ..Default::default()
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(violations(&status), ["page.page_token"]);
}
