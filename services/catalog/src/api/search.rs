//! Discovery RPCs: search, what the caller may use, lineage.

use tonic::{Request, Response};
use zhongtai_contracts::catalog::v1 as pb;
use zhongtai_kit::auth::caller;
use zhongtai_kit::proto::{page_query, page_response};

use super::Answer;
use super::convert::{
    field_access_message, frequency, grant_message, layer, open, optional_tenant, resource_message,
    sharing,
};
use crate::domain::Catalog;
use crate::domain::drafts::Parsed;
use crate::domain::search::SearchFilter;

/// The filter of a search request, or every problem translating it.
fn search_filter(
    request: &pb::SearchResourcesRequest,
) -> Result<SearchFilter, Vec<(String, String)>> {
    let mut problems = Vec::new();
    fn each<T>(
        problems: &mut Vec<(String, String)>,
        field: &str,
        values: Vec<Parsed<T>>,
    ) -> Vec<T> {
        values
            .into_iter()
            .enumerate()
            .filter_map(|(i, value)| {
                value
                    .map_err(|problem| problems.push((format!("{field}[{i}]"), problem)))
                    .ok()
            })
            .collect()
    }
    let filter = SearchFilter {
        owners: each(
            &mut problems,
            "owners",
            request
                .owners
                .iter()
                .map(|owner| {
                    optional_tenant(Some(owner))
                        .unwrap_or_else(|| Err("division_code is required".into()))
                })
                .collect(),
        ),
        layers: each(
            &mut problems,
            "layers",
            request.layers.iter().map(|v| layer(*v)).collect(),
        ),
        sharing: each(
            &mut problems,
            "sharing",
            request.sharing.iter().map(|v| sharing(*v)).collect(),
        ),
        open: each(
            &mut problems,
            "open",
            request.open.iter().map(|v| open(*v)).collect(),
        ),
        tags: request.tags.clone(),
        update_frequencies: each(
            &mut problems,
            "update_frequencies",
            request
                .update_frequencies
                .iter()
                .map(|v| frequency(*v))
                .collect(),
        ),
    };
    if problems.is_empty() {
        Ok(filter)
    } else {
        Err(problems)
    }
}

pub(super) async fn search(
    catalog: &Catalog,
    request: Request<pb::SearchResourcesRequest>,
) -> Answer<pb::SearchResourcesResponse> {
    let caller = caller(&request)?;
    let request = request.into_inner();
    let page = page_query(request.page.as_ref())?;
    let filter = search_filter(&request);
    let hits = catalog
        .discovery
        .search(&caller, &request.query, filter, &page)
        .await?;
    Ok(Response::new(pb::SearchResourcesResponse {
        results: hits
            .items
            .iter()
            .map(|hit| pb::SearchResult {
                resource: Some(resource_message(&hit.resource)),
                score: hit.score,
                highlights: hit.highlights.clone(),
                granted: hit.granted,
            })
            .collect(),
        page: Some(page_response(hits.next_page_token)),
    }))
}

pub(super) async fn accessible(
    catalog: &Catalog,
    request: Request<pb::ListAccessibleResourcesRequest>,
) -> Answer<pb::ListAccessibleResourcesResponse> {
    let caller = caller(&request)?;
    let page = page_query(request.get_ref().page.as_ref())?;
    let page = catalog.discovery.accessible(&caller, &page).await?;
    Ok(Response::new(pb::ListAccessibleResourcesResponse {
        resources: page
            .items
            .iter()
            .map(|accessible| pb::AccessibleResource {
                resource: Some(resource_message(&accessible.resource)),
                grants: accessible.grants.iter().map(grant_message).collect(),
                fields: accessible.fields.iter().map(field_access_message).collect(),
            })
            .collect(),
        page: Some(page_response(page.next_page_token)),
    }))
}

pub(super) async fn lineage(
    catalog: &Catalog,
    request: Request<pb::GetResourceLineageRequest>,
) -> Answer<pb::GetResourceLineageResponse> {
    let caller = caller(&request)?;
    let lineage = catalog
        .discovery
        .lineage(&caller, &request.get_ref().resource_id)
        .await?;
    let details = &lineage.resource.details;
    Ok(Response::new(pb::GetResourceLineageResponse {
        line_id: details.line_id.map(|id| id.to_string()).unwrap_or_default(),
        source_table: details.source_table.clone(),
        resource: Some(resource_message(&lineage.resource)),
        grants: lineage.grants.iter().map(grant_message).collect(),
    }))
}
