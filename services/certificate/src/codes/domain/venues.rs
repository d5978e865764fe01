//! Venues (场所): registered by a tenant's staff within their division,
//! read by that tenant. Venues never change once registered, so the scan
//! path keeps them in memory after the first lookup.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use uuid::Uuid;
use zhongtai_kit::{Actor, Caller, DivisionCode, Page, PageQuery, audit_trail};

use super::model::Venue;
use super::ports::{Inserted, VenueRepository};
use super::{Violations, check_request_id, check_text, parse_id};
use crate::shared::CertificateError;

const MAX_NAME_CHARS: usize = 200;
const MAX_ADDRESS_CHARS: usize = 500;
/// Venues kept in memory per instance; past it the cache starts over.
const CACHED_VENUES: usize = 100_000;

/// A venue as RegisterVenue asks for it.
#[derive(Debug, Clone, Default)]
pub struct VenueDraft {
    pub request_id: String,
    pub name: String,
    pub address: String,
    pub division_code: String,
}

#[derive(Clone)]
pub struct Venues {
    repository: Arc<dyn VenueRepository>,
    cache: Arc<RwLock<HashMap<Uuid, Arc<Venue>>>>,
}

impl Venues {
    pub fn new(repository: Arc<dyn VenueRepository>) -> Self {
        Self {
            repository,
            cache: Arc::default(),
        }
    }

    /// Registers a venue of the caller's tenant, once per request id.
    pub async fn register(
        &self,
        caller: &Caller,
        draft: &VenueDraft,
    ) -> Result<Venue, CertificateError> {
        let mut v = Violations::default();
        check_request_id(&mut v, &draft.request_id);
        check_text(&mut v, "name", &draft.name, MAX_NAME_CHARS, true);
        check_text(&mut v, "address", &draft.address, MAX_ADDRESS_CHARS, false);
        let division = match DivisionCode::parse(&draft.division_code) {
            Ok(division) if caller.tenant.division.contains(&division) => Some(division),
            Ok(_) => {
                v.add(
                    "division_code",
                    format!(
                        "must lie within the caller's division {}",
                        caller.tenant.division
                    ),
                );
                None
            }
            Err(error) => {
                v.add("division_code", error.to_string());
                None
            }
        };
        let (Some(division), true) = (division, v.is_empty()) else {
            return Err(v.into_error());
        };
        let scope = caller.write_scope();
        if let Some(existing) = self
            .repository
            .by_request(&scope, &draft.request_id)
            .await?
        {
            return same_request(existing, draft, &division);
        }
        let venue = Venue {
            id: Uuid::now_v7(),
            tenant: caller.tenant.clone(),
            name: draft.name.trim().to_string(),
            address: draft.address.trim().to_string(),
            division,
            created_at: super::now_micros(),
        };
        let audit = audit_trail::allowed(
            caller,
            "certificate.venue.register",
            format!("venue/{}", venue.id),
        );
        match self
            .repository
            .insert(&venue, &draft.request_id, &Actor::of(caller), &audit)
            .await?
        {
            Inserted::Inserted => {
                tracing::info!(venue = %venue.id, tenant = %venue.tenant, "venue registered");
                Ok(venue)
            }
            Inserted::Duplicate => {
                let existing = self
                    .repository
                    .by_request(&scope, &draft.request_id)
                    .await?
                    .ok_or_else(|| {
                        CertificateError::Storage("a venue insert conflicted with nothing".into())
                    })?;
                same_request(existing, draft, &division)
            }
        }
    }

    pub async fn get(&self, caller: &Caller, id: &str) -> Result<Venue, CertificateError> {
        let id = parse_id("id", id)?;
        self.repository
            .get(&caller.read_scope(), id)
            .await?
            .ok_or_else(|| CertificateError::not_found("venue", id))
    }

    /// The caller's venues, within `division_code` unless it is empty.
    pub async fn list(
        &self,
        caller: &Caller,
        division_code: &str,
        page: &PageQuery,
    ) -> Result<Page<Venue>, CertificateError> {
        let within = match division_code {
            "" => None,
            code => Some(
                DivisionCode::parse(code)
                    .map_err(|e| CertificateError::invalid("division_code", e.to_string()))?,
            ),
        };
        self.repository
            .list(&caller.read_scope(), within.as_ref(), page)
            .await
    }

    /// The venue a scan happens at: one of the caller's tenant, from memory
    /// after the first lookup.
    pub async fn for_scan(
        &self,
        caller: &Caller,
        id: Uuid,
    ) -> Result<Arc<Venue>, CertificateError> {
        let scope = caller.write_scope();
        let cached = self.cache.read().ok().and_then(|c| c.get(&id).cloned());
        if let Some(venue) = cached {
            // Cached for whoever asked first; each caller's scope still decides.
            return if scope.permits(&venue.tenant) {
                Ok(venue)
            } else {
                Err(CertificateError::not_found("venue", id))
            };
        }
        let venue = Arc::new(
            self.repository
                .get(&scope, id)
                .await?
                .ok_or_else(|| CertificateError::not_found("venue", id))?,
        );
        if let Ok(mut cache) = self.cache.write() {
            if cache.len() >= CACHED_VENUES {
                cache.clear();
            }
            cache.insert(id, venue.clone());
        }
        Ok(venue)
    }
}

fn same_request(
    existing: Venue,
    draft: &VenueDraft,
    division: &DivisionCode,
) -> Result<Venue, CertificateError> {
    if existing.name == draft.name.trim()
        && existing.address == draft.address.trim()
        && existing.division == *division
    {
        Ok(existing)
    } else {
        Err(CertificateError::RequestIdReused(draft.request_id.clone()))
    }
}
