//! gRPC API of the catalog: translates contract messages to domain values
//! and back. No rules and no storage here.

use std::sync::Arc;

use tonic::{Request, Response, Status};
use zhongtai_contracts::catalog::v1 as pb;
use zhongtai_contracts::catalog::v1::catalog_service_server::CatalogService;
use zhongtai_kit::ApiError;
use zhongtai_kit::auth::{caller, require_readable};
use zhongtai_kit::proto::{optional_tenant, page_query, page_response, tenant_message, timestamp};

use crate::domain::{Resource, ResourceFilter, ResourceLayer, ResourceRepository, ResourceState};

/// The `zhongtai.catalog.v1.CatalogService` implementation.
pub struct CatalogApi {
    resources: Arc<dyn ResourceRepository>,
}

impl CatalogApi {
    pub fn new(resources: Arc<dyn ResourceRepository>) -> Self {
        Self { resources }
    }
}

#[tonic::async_trait]
impl CatalogService for CatalogApi {
    async fn list_resources(
        &self,
        request: Request<pb::ListResourcesRequest>,
    ) -> Result<Response<pb::ListResourcesResponse>, Status> {
        let caller = caller(&request)?;
        let request = request.into_inner();
        let page = page_query(request.page.as_ref())?;
        let owner = optional_tenant("owner", request.owner.as_ref())?;
        if let Some(owner) = &owner {
            require_readable(&caller, owner)?;
        }
        let filter = ResourceFilter {
            owner,
            layer: layer_filter(request.layer)?,
            include_retired: request.include_retired,
        };
        let page = self
            .resources
            .list(&caller.read_scope(), &filter, &page)
            .await?;
        Ok(Response::new(pb::ListResourcesResponse {
            resources: page.items.iter().map(resource_message).collect(),
            page: Some(page_response(page.next_page_token)),
        }))
    }
}

fn layer_filter(value: i32) -> Result<Option<ResourceLayer>, ApiError> {
    match pb::ResourceLayer::try_from(value) {
        Ok(pb::ResourceLayer::Unspecified) => Ok(None),
        Ok(pb::ResourceLayer::Raw) => Ok(Some(ResourceLayer::Raw)),
        Ok(pb::ResourceLayer::Base) => Ok(Some(ResourceLayer::Base)),
        Ok(pb::ResourceLayer::Theme) => Ok(Some(ResourceLayer::Theme)),
        Err(_) => Err(ApiError::invalid_field(
            "layer",
            format!("{value} is not a resource layer"),
        )),
    }
}

/// The contract form of a resource (the parts the catalog stores so far).
pub fn resource_message(resource: &Resource) -> pb::Resource {
    pb::Resource {
        id: resource.id.to_string(),
        owner: Some(tenant_message(&resource.owner)),
        code: resource.code.clone(),
        title: resource.title.clone(),
        layer: match resource.layer {
            ResourceLayer::Raw => pb::ResourceLayer::Raw,
            ResourceLayer::Base => pb::ResourceLayer::Base,
            ResourceLayer::Theme => pb::ResourceLayer::Theme,
        } as i32,
        state: match resource.state {
            ResourceState::Published => pb::ResourceState::Published,
            ResourceState::Retired => pb::ResourceState::Retired,
        } as i32,
        version: resource.version,
        create_time: Some(timestamp(resource.created_at)),
        update_time: Some(timestamp(resource.updated_at)),
        ..pb::Resource::default()
    }
}
