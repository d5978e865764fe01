//! The catalog's rules and use cases, free of transport and storage types.
//! Ports ([`ports`]) say what the domain needs; `crate::store` and
//! `crate::review` provide it.

pub mod access_request;
pub mod changes;
pub mod decisions;
pub mod discovery;
pub mod drafts;
pub mod error;
pub mod grant;
pub mod grants;
pub mod masking;
mod names;
pub mod ports;
pub mod request_draft;
pub mod requests;
pub mod resource;
pub mod resources;
pub mod row_filter;
pub mod search;
pub mod validation;

use std::sync::Arc;

use chrono::{DateTime, SubsecRound, Utc};
use uuid::Uuid;
use zhongtai_kit::config::CatalogConfig;

pub use error::CatalogError;
pub use ports::{AccessRepository, AccessReview, ChangeStore, ResourceRepository};

use validation::Violations;

/// Every use case of the catalog, sharing one set of ports.
#[derive(Clone)]
pub struct Catalog {
    pub resources: resources::Resources,
    pub discovery: discovery::Discovery,
    pub requests: requests::AccessRequests,
    pub grants: grants::Grants,
}

impl Catalog {
    pub fn new<S>(store: Arc<S>, review: Arc<dyn AccessReview>, config: CatalogConfig) -> Self
    where
        S: ResourceRepository + AccessRepository + ChangeStore,
    {
        let resource_reads: Arc<dyn ResourceRepository> = store.clone();
        let access_reads: Arc<dyn AccessRepository> = store.clone();
        let changes: Arc<dyn ChangeStore> = store;
        Self {
            resources: resources::Resources::new(
                resource_reads.clone(),
                access_reads.clone(),
                changes.clone(),
            ),
            discovery: discovery::Discovery::new(resource_reads.clone(), access_reads.clone()),
            requests: requests::AccessRequests::new(
                resource_reads,
                access_reads.clone(),
                changes.clone(),
                review,
                config.clone(),
            ),
            grants: grants::Grants::new(access_reads, changes, config),
        }
    }
}

/// Now, at the microsecond precision databases keep, so what a call
/// returns equals what a later read returns.
pub fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(6)
}

/// An id field, or a violation under `field`.
fn parse_id(v: &mut Violations, field: &str, value: &str) -> Option<Uuid> {
    match Uuid::parse_str(value) {
        Ok(id) => Some(id),
        Err(_) => {
            v.add(field, "must be a UUID");
            None
        }
    }
}
