//! Finding data and knowing what one may use: search, "what may I use"
//! (the resources and fields a tenant is granted), and lineage.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use uuid::Uuid;
use zhongtai_kit::{Caller, Page, PageQuery};

use super::access_request::FieldAccess;
use super::error::CatalogError;
use super::grant::{self, Grant};
use super::parse_id;
use super::ports::{AccessRepository, ResourceRepository};
use super::resource::Resource;
use super::search::{MAX_QUERY_CHARS, SearchFilter, SearchHit, SearchQuery};
use super::validation::{Violations, length_problem};

/// A resource the caller may use, and exactly what of it.
#[derive(Debug, Clone, PartialEq)]
pub struct AccessibleResource {
    pub resource: Resource,
    pub grants: Vec<Grant>,
    /// Union of the granted fields, strictest masking per field.
    pub fields: Vec<FieldAccess>,
}

/// Where a resource's data comes from and where it goes.
#[derive(Debug, Clone, PartialEq)]
pub struct Lineage {
    pub resource: Resource,
    /// The owner sees every grant; a grantee only its own.
    pub grants: Vec<Grant>,
}

#[derive(Clone)]
pub struct Discovery {
    resources: Arc<dyn ResourceRepository>,
    access: Arc<dyn AccessRepository>,
}

impl Discovery {
    pub fn new(resources: Arc<dyn ResourceRepository>, access: Arc<dyn AccessRepository>) -> Self {
        Self { resources, access }
    }

    /// Visible, published resources matching `text` and `filter`, best
    /// first. The page token carries an offset into the ranking. `filter`
    /// comes with the problems its translation found, if any.
    pub async fn search(
        &self,
        caller: &Caller,
        text: &str,
        filter: Result<SearchFilter, Vec<(String, String)>>,
        page: &PageQuery,
    ) -> Result<Page<SearchHit>, CatalogError> {
        let mut v = Violations::default();
        v.check("query", length_problem(text, MAX_QUERY_CHARS));
        let filter = filter.unwrap_or_else(|problems| {
            v.0.extend(problems);
            SearchFilter::default()
        });
        for (field, max) in filter.oversized() {
            v.add(field, format!("at most {max} values"));
        }
        let offset = match &page.after {
            None => Some(0),
            Some(after) => after.parse::<u64>().ok(),
        };
        if offset.is_none() {
            v.add("page.page_token", "is not a token this API issued");
        }
        let Some(offset) = offset.filter(|_| v.is_empty()) else {
            return Err(CatalogError::Invalid(v.0));
        };
        let query = SearchQuery::parse(text, filter);
        if SearchQuery::matches_nothing(text, &query) {
            return Ok(Page {
                items: Vec::new(),
                next_page_token: String::new(),
            });
        }
        let scope = caller.read_scope();
        let found = self
            .resources
            .search(&scope, &query, offset, page.fetch_limit())
            .await?;
        let ids: Vec<Uuid> = found.iter().map(|hit| hit.resource.id).collect();
        let granted: HashSet<Uuid> = self
            .access
            .usable_held_on(&caller.write_scope(), &ids)
            .await?
            .into_iter()
            .map(|grant| grant.resource_id)
            .collect();
        let ranked: Vec<(u64, SearchHit)> = (offset..)
            .zip(found)
            .map(|(position, found)| {
                let is_granted = granted.contains(&found.resource.id);
                (position, SearchHit::of(found, &query.terms, is_granted))
            })
            .collect();
        Ok(
            Page::from_rows(ranked, page, |(position, _)| (position + 1).to_string())
                .map(|(_, hit)| hit),
        )
    }

    /// The resources the caller's tenant holds usable grants on, each with
    /// those grants and the union of their fields.
    pub async fn accessible(
        &self,
        caller: &Caller,
        page: &PageQuery,
    ) -> Result<Page<AccessibleResource>, CatalogError> {
        let holder = caller.write_scope();
        let ids = self.access.usable_held_resources(&holder, page).await?;
        let grants = self.access.usable_held_on(&holder, &ids.items).await?;
        let resources: HashMap<Uuid, Resource> = self
            .resources
            .visible_among(&caller.read_scope(), &ids.items)
            .await?
            .into_iter()
            .map(|resource| (resource.id, resource))
            .collect();
        let mut by_resource: HashMap<Uuid, Vec<Grant>> = HashMap::new();
        for grant in grants {
            by_resource
                .entry(grant.resource_id)
                .or_default()
                .push(grant);
        }
        let items = ids
            .items
            .iter()
            .filter_map(|id| {
                let resource = resources.get(id)?.clone();
                let grants = by_resource.remove(id).unwrap_or_default();
                let fields = grant::union_of_fields(&grants);
                Some(AccessibleResource {
                    resource,
                    grants,
                    fields,
                })
            })
            .collect();
        Ok(Page {
            items,
            next_page_token: ids.next_page_token,
        })
    }

    /// A visible resource with its grants: all of them for its owner, the
    /// caller's own for a grantee.
    pub async fn lineage(
        &self,
        caller: &Caller,
        resource_id: &str,
    ) -> Result<Lineage, CatalogError> {
        let mut v = Violations::default();
        let Some(id) = parse_id(&mut v, "resource_id", resource_id) else {
            return Err(CatalogError::Invalid(v.0));
        };
        let resource = self
            .resources
            .visible(&caller.read_scope(), id)
            .await?
            .ok_or_else(|| CatalogError::not_found("resource", id))?;
        let owner_view = caller.read_scope().permits(&resource.owner);
        let grants = self
            .access
            .grants_on(&caller.read_scope(), id, !owner_view, &[])
            .await?;
        Ok(Lineage { resource, grants })
    }
}
