//! Access-request RPCs (点菜): request, get, list, withdraw.

use tonic::{Request, Response};
use uuid::Uuid;
use zhongtai_contracts::catalog::v1 as pb;
use zhongtai_kit::ApiError;
use zhongtai_kit::auth::{caller, credential};
use zhongtai_kit::proto::{page_query, page_response};

use super::Answer;
use super::convert::{
    instant_of, masking_draft, optional_tenant, request_message, request_state, row_filter,
};
use crate::domain::Catalog;
use crate::domain::ports::RequestFilter;
use crate::domain::request_draft::{AccessRequestDraft, FieldAccessDraft};

fn draft(request: &pb::RequestAccessRequest) -> AccessRequestDraft {
    let period = request.period.as_ref();
    AccessRequestDraft {
        request_id: request.request_id.clone(),
        resource_id: request.resource_id.clone(),
        fields: request
            .fields
            .iter()
            .map(|field| FieldAccessDraft {
                field: field.field.clone(),
                masking: field.masking.as_ref().map(masking_draft),
            })
            .collect(),
        purpose: request.purpose.clone(),
        start: period
            .and_then(|p| p.start_time.as_ref())
            .map(|at| instant_of("period.start_time", at)),
        end: period
            .and_then(|p| p.end_time.as_ref())
            .map(|at| instant_of("period.end_time", at)),
        row_filter: row_filter(request.row_filter.as_ref()),
        grantee: optional_tenant(request.grantee.as_ref()),
    }
}

pub(super) async fn request(
    catalog: &Catalog,
    request: Request<pb::RequestAccessRequest>,
) -> Answer<pb::RequestAccessResponse> {
    let caller = caller(&request)?;
    let credential = credential(&request);
    let draft = draft(request.get_ref());
    let access_request = catalog
        .requests
        .request(&caller, credential.as_ref(), &draft)
        .await?;
    Ok(Response::new(pb::RequestAccessResponse {
        access_request: Some(request_message(&access_request)),
    }))
}

pub(super) async fn get(
    catalog: &Catalog,
    request: Request<pb::GetAccessRequestRequest>,
) -> Answer<pb::GetAccessRequestResponse> {
    let caller = caller(&request)?;
    let access_request = catalog.requests.get(&caller, &request.get_ref().id).await?;
    Ok(Response::new(pb::GetAccessRequestResponse {
        access_request: Some(request_message(&access_request)),
    }))
}

pub(super) async fn list(
    catalog: &Catalog,
    request: Request<pb::ListAccessRequestsRequest>,
) -> Answer<pb::ListAccessRequestsResponse> {
    let caller = caller(&request)?;
    let request = request.into_inner();
    let page = page_query(request.page.as_ref())?;
    let filter = RequestFilter {
        as_owner: request.as_owner,
        resource_id: optional_id("resource_id", &request.resource_id)?,
        states: request
            .states
            .iter()
            .enumerate()
            .map(|(i, state)| {
                request_state(*state)
                    .map_err(|problem| ApiError::invalid_field(format!("states[{i}]"), problem))
            })
            .collect::<Result<_, _>>()?,
    };
    let page = catalog.requests.list(&caller, &filter, &page).await?;
    Ok(Response::new(pb::ListAccessRequestsResponse {
        access_requests: page.items.iter().map(request_message).collect(),
        page: Some(page_response(page.next_page_token)),
    }))
}

pub(super) async fn withdraw(
    catalog: &Catalog,
    request: Request<pb::WithdrawAccessRequestRequest>,
) -> Answer<pb::WithdrawAccessRequestResponse> {
    let caller = caller(&request)?;
    let credential = credential(&request);
    let request = request.into_inner();
    let withdrawn = catalog
        .requests
        .withdraw(&caller, credential.as_ref(), &request.id, &request.reason)
        .await?;
    Ok(Response::new(pb::WithdrawAccessRequestResponse {
        access_request: Some(request_message(&withdrawn)),
    }))
}

/// An optional id filter: empty means none.
pub(super) fn optional_id(field: &str, value: &str) -> Result<Option<Uuid>, ApiError> {
    if value.is_empty() {
        return Ok(None);
    }
    Uuid::parse_str(value)
        .map(Some)
        .map_err(|_| ApiError::invalid_field(field, "must be empty or a UUID"))
}
