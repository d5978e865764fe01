//! Resource RPCs: register, get, list, update, retire, history.

use tonic::{Request, Response, Status};
use zhongtai_contracts::catalog::v1 as pb;
use zhongtai_kit::ApiError;
use zhongtai_kit::auth::caller;
use zhongtai_kit::proto::{optional_tenant, page_query, page_response};

use super::Answer;
use super::convert::{details_draft, layer, resource_message, version_message};
use crate::domain::Catalog;
use crate::domain::ports::ResourceFilter;
use crate::domain::resources::ResourceUpdate;

pub(super) async fn register(
    catalog: &Catalog,
    request: Request<pb::RegisterResourceRequest>,
) -> Answer<pb::RegisterResourceResponse> {
    let caller = caller(&request)?;
    let request = request.into_inner();
    // A missing resource is reported as its missing parts.
    let resource = request.resource.unwrap_or_default();
    let registered = catalog
        .resources
        .register(
            &caller,
            &request.request_id,
            &resource.code,
            &details_draft(&resource),
        )
        .await?;
    Ok(Response::new(pb::RegisterResourceResponse {
        resource: Some(resource_message(&registered)),
    }))
}

pub(super) async fn get(
    catalog: &Catalog,
    request: Request<pb::GetResourceRequest>,
) -> Answer<pb::GetResourceResponse> {
    let caller = caller(&request)?;
    let request = request.into_inner();
    let resource = catalog
        .resources
        .get(&caller, &request.id, request.version)
        .await?;
    Ok(Response::new(pb::GetResourceResponse {
        resource: Some(resource_message(&resource)),
    }))
}

pub(super) async fn list(
    catalog: &Catalog,
    request: Request<pb::ListResourcesRequest>,
) -> Answer<pb::ListResourcesResponse> {
    let caller = caller(&request)?;
    let request = request.into_inner();
    let page = page_query(request.page.as_ref())?;
    let filter = ResourceFilter {
        owner: optional_tenant("owner", request.owner.as_ref())?,
        layer: match request.layer {
            0 => None,
            value => {
                Some(layer(value).map_err(|problem| ApiError::invalid_field("layer", problem))?)
            }
        },
        include_retired: request.include_retired,
    };
    let page = catalog.resources.list(&caller, &filter, &page).await?;
    Ok(Response::new(pb::ListResourcesResponse {
        resources: page.items.iter().map(resource_message).collect(),
        page: Some(page_response(page.next_page_token)),
    }))
}

pub(super) async fn update(
    catalog: &Catalog,
    request: Request<pb::UpdateResourceRequest>,
) -> Answer<pb::UpdateResourceResponse> {
    let caller = caller(&request)?;
    let request = request.into_inner();
    let resource = request.resource.unwrap_or_default();
    let update = ResourceUpdate {
        id: resource.id.clone(),
        version: resource.version,
        mask: request
            .update_mask
            .map(|mask| mask.paths)
            .unwrap_or_default(),
        values: details_draft(&resource),
        note: request.change_note,
    };
    let updated = catalog.resources.update(&caller, &update).await?;
    Ok(Response::new(pb::UpdateResourceResponse {
        resource: Some(resource_message(&updated)),
    }))
}

pub(super) async fn retire(
    catalog: &Catalog,
    request: Request<pb::RetireResourceRequest>,
) -> Answer<pb::RetireResourceResponse> {
    let caller = caller(&request)?;
    let request = request.into_inner();
    let retired = catalog
        .resources
        .retire(&caller, &request.id, &request.reason)
        .await?;
    Ok(Response::new(pb::RetireResourceResponse {
        resource: Some(resource_message(&retired)),
    }))
}

pub(super) async fn versions(
    catalog: &Catalog,
    request: Request<pb::ListResourceVersionsRequest>,
) -> Result<Response<pb::ListResourceVersionsResponse>, Status> {
    let caller = caller(&request)?;
    let request = request.into_inner();
    let page = page_query(request.page.as_ref())?;
    let page = catalog
        .resources
        .versions(&caller, &request.resource_id, &page)
        .await?;
    Ok(Response::new(pb::ListResourceVersionsResponse {
        versions: page.items.iter().map(version_message).collect(),
        page: Some(page_response(page.next_page_token)),
    }))
}
