//! gRPC API of the catalog: translates contract messages to domain values
//! and back, one submodule per area. No rules and no storage here.

mod convert;
mod grants;
mod requests;
mod resources;
mod search;

use tonic::{Request, Response, Status};
use zhongtai_contracts::catalog::v1 as pb;
use zhongtai_contracts::catalog::v1::catalog_service_server::CatalogService;

pub use convert::{grant_message, request_message, resource_message};

use crate::domain::Catalog;

/// The `zhongtai.catalog.v1.CatalogService` implementation.
pub struct CatalogApi {
    catalog: Catalog,
}

impl CatalogApi {
    pub fn new(catalog: Catalog) -> Self {
        Self { catalog }
    }
}

type Answer<T> = Result<Response<T>, Status>;

#[tonic::async_trait]
impl CatalogService for CatalogApi {
    async fn register_resource(
        &self,
        request: Request<pb::RegisterResourceRequest>,
    ) -> Answer<pb::RegisterResourceResponse> {
        resources::register(&self.catalog, request).await
    }

    async fn get_resource(
        &self,
        request: Request<pb::GetResourceRequest>,
    ) -> Answer<pb::GetResourceResponse> {
        resources::get(&self.catalog, request).await
    }

    async fn list_resources(
        &self,
        request: Request<pb::ListResourcesRequest>,
    ) -> Answer<pb::ListResourcesResponse> {
        resources::list(&self.catalog, request).await
    }

    async fn update_resource(
        &self,
        request: Request<pb::UpdateResourceRequest>,
    ) -> Answer<pb::UpdateResourceResponse> {
        resources::update(&self.catalog, request).await
    }

    async fn retire_resource(
        &self,
        request: Request<pb::RetireResourceRequest>,
    ) -> Answer<pb::RetireResourceResponse> {
        resources::retire(&self.catalog, request).await
    }

    async fn list_resource_versions(
        &self,
        request: Request<pb::ListResourceVersionsRequest>,
    ) -> Answer<pb::ListResourceVersionsResponse> {
        resources::versions(&self.catalog, request).await
    }

    async fn search_resources(
        &self,
        request: Request<pb::SearchResourcesRequest>,
    ) -> Answer<pb::SearchResourcesResponse> {
        search::search(&self.catalog, request).await
    }

    async fn list_accessible_resources(
        &self,
        request: Request<pb::ListAccessibleResourcesRequest>,
    ) -> Answer<pb::ListAccessibleResourcesResponse> {
        search::accessible(&self.catalog, request).await
    }

    async fn get_resource_lineage(
        &self,
        request: Request<pb::GetResourceLineageRequest>,
    ) -> Answer<pb::GetResourceLineageResponse> {
        search::lineage(&self.catalog, request).await
    }

    async fn request_access(
        &self,
        request: Request<pb::RequestAccessRequest>,
    ) -> Answer<pb::RequestAccessResponse> {
        requests::request(&self.catalog, request).await
    }

    async fn get_access_request(
        &self,
        request: Request<pb::GetAccessRequestRequest>,
    ) -> Answer<pb::GetAccessRequestResponse> {
        requests::get(&self.catalog, request).await
    }

    async fn list_access_requests(
        &self,
        request: Request<pb::ListAccessRequestsRequest>,
    ) -> Answer<pb::ListAccessRequestsResponse> {
        requests::list(&self.catalog, request).await
    }

    async fn withdraw_access_request(
        &self,
        request: Request<pb::WithdrawAccessRequestRequest>,
    ) -> Answer<pb::WithdrawAccessRequestResponse> {
        requests::withdraw(&self.catalog, request).await
    }

    async fn get_grant(
        &self,
        request: Request<pb::GetGrantRequest>,
    ) -> Answer<pb::GetGrantResponse> {
        grants::get(&self.catalog, request).await
    }

    async fn list_grants(
        &self,
        request: Request<pb::ListGrantsRequest>,
    ) -> Answer<pb::ListGrantsResponse> {
        grants::list(&self.catalog, request).await
    }

    async fn revoke_grant(
        &self,
        request: Request<pb::RevokeGrantRequest>,
    ) -> Answer<pb::RevokeGrantResponse> {
        grants::revoke(&self.catalog, request).await
    }

    async fn mark_grant_provisioned(
        &self,
        request: Request<pb::MarkGrantProvisionedRequest>,
    ) -> Answer<pb::MarkGrantProvisionedResponse> {
        grants::provision(&self.catalog, request).await
    }
}
