//! Grant RPCs: get, list, revoke, mark provisioned.

use tonic::{Request, Response};
use zhongtai_contracts::catalog::v1 as pb;
use zhongtai_kit::ApiError;
use zhongtai_kit::auth::caller;
use zhongtai_kit::proto::{optional_tenant, page_query, page_response};

use super::Answer;
use super::convert::{grant_message, grant_state};
use super::requests::optional_id;
use crate::domain::Catalog;
use crate::domain::ports::GrantFilter;

pub(super) async fn get(
    catalog: &Catalog,
    request: Request<pb::GetGrantRequest>,
) -> Answer<pb::GetGrantResponse> {
    let caller = caller(&request)?;
    let grant = catalog.grants.get(&caller, &request.get_ref().id).await?;
    Ok(Response::new(pb::GetGrantResponse {
        grant: Some(grant_message(&grant)),
    }))
}

pub(super) async fn list(
    catalog: &Catalog,
    request: Request<pb::ListGrantsRequest>,
) -> Answer<pb::ListGrantsResponse> {
    let caller = caller(&request)?;
    let request = request.into_inner();
    let page = page_query(request.page.as_ref())?;
    let filter = GrantFilter {
        as_owner: request.as_owner,
        resource_id: optional_id("resource_id", &request.resource_id)?,
        states: request
            .states
            .iter()
            .enumerate()
            .map(|(i, state)| {
                grant_state(*state)
                    .map_err(|problem| ApiError::invalid_field(format!("states[{i}]"), problem))
            })
            .collect::<Result<_, _>>()?,
        grantee: optional_tenant("grantee", request.grantee.as_ref())?,
        owner_division: None,
    };
    let page = catalog.grants.list(&caller, &filter, &page).await?;
    Ok(Response::new(pb::ListGrantsResponse {
        grants: page.items.iter().map(grant_message).collect(),
        page: Some(page_response(page.next_page_token)),
    }))
}

pub(super) async fn revoke(
    catalog: &Catalog,
    request: Request<pb::RevokeGrantRequest>,
) -> Answer<pb::RevokeGrantResponse> {
    let caller = caller(&request)?;
    let request = request.into_inner();
    let grant = catalog
        .grants
        .revoke(&caller, &request.id, &request.reason)
        .await?;
    Ok(Response::new(pb::RevokeGrantResponse {
        grant: Some(grant_message(&grant)),
    }))
}

pub(super) async fn provision(
    catalog: &Catalog,
    request: Request<pb::MarkGrantProvisionedRequest>,
) -> Answer<pb::MarkGrantProvisionedResponse> {
    let caller = caller(&request)?;
    let request = request.into_inner();
    let grant = catalog
        .grants
        .provision(&caller, &request.id, &request.subscription_id)
        .await?;
    Ok(Response::new(pb::MarkGrantProvisionedResponse {
        grant: Some(grant_message(&grant)),
    }))
}
