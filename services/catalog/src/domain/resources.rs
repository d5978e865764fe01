//! Use cases on resources: register, read, change, retire, list, history.

use std::sync::Arc;

use uuid::Uuid;
use zhongtai_kit::{Actor, Caller, Page, PageQuery, audit_trail};

use super::changes::{Authority, CatalogEvent, Changes, ResourceWrite, Write};
use super::drafts::DetailsDraft;
use super::error::CatalogError;
use super::grant::GrantState;
use super::ports::{AccessRepository, ChangeStore, ResourceFilter, ResourceRepository};
use super::resource::{DetailField, Resource, ResourceState, ResourceVersion};
use super::search;
use super::validation::{
    MAX_NOTE_CHARS, Violations, check_details, code_problem, length_problem, normalise,
    request_id_problem,
};
use super::{now, parse_id};

/// What an update asks for.
#[derive(Debug, Clone)]
pub struct ResourceUpdate {
    pub id: String,
    /// The version the caller read; the update fails if it is stale.
    pub version: i64,
    /// Contract names of the parts to change.
    pub mask: Vec<String>,
    pub values: DetailsDraft,
    pub note: String,
}

/// Resource operations, each on behalf of an authenticated caller.
#[derive(Clone)]
pub struct Resources {
    resources: Arc<dyn ResourceRepository>,
    access: Arc<dyn AccessRepository>,
    changes: Arc<dyn ChangeStore>,
}

impl Resources {
    pub fn new(
        resources: Arc<dyn ResourceRepository>,
        access: Arc<dyn AccessRepository>,
        changes: Arc<dyn ChangeStore>,
    ) -> Self {
        Self {
            resources,
            access,
            changes,
        }
    }

    /// Registers a resource of the caller's tenant, once per `request_id`.
    pub async fn register(
        &self,
        caller: &Caller,
        request_id: &str,
        code: &str,
        draft: &DetailsDraft,
    ) -> Result<Resource, CatalogError> {
        let mut v = Violations::default();
        v.check("request_id", request_id_problem(request_id));
        v.check("resource.code", code_problem(code));
        let details = normalise(check_details(draft, DetailField::ALL, "resource", &mut v));
        if !v.is_empty() {
            return Err(CatalogError::Invalid(v.0));
        }
        let scope = caller.write_scope();
        if let Some(existing) = self.repeated_registration(caller, request_id, code).await? {
            return Ok(existing);
        }
        let at = now();
        let resource = Resource {
            id: Uuid::now_v7(),
            owner: caller.tenant.clone(),
            code: code.to_string(),
            details,
            state: ResourceState::Published,
            version: 1,
            created_at: at,
            updated_at: at,
        };
        let actor = Actor::of(caller);
        let changes = Changes::new(Authority::Scope(scope))
            .resource(ResourceWrite {
                write: Write::Insert(resource.clone()),
                request_id: Some(request_id.to_string()),
                history: ResourceVersion {
                    resource: resource.clone(),
                    changed_fields: Vec::new(),
                    changed_by: actor.clone(),
                    change_note: String::new(),
                    time: at,
                },
                index: search::index_terms(&resource.details),
            })
            .event(CatalogEvent::ResourcePublished {
                resource: resource.clone(),
                actor,
            })
            .audit(audit_trail::allowed(
                caller,
                "catalog.resource.register",
                format!("resource/{}", resource.id),
            ));
        match self.changes.commit(changes).await {
            Ok(()) => {
                tracing::info!(resource = %resource.id, code = %resource.code, owner = %resource.owner, "resource registered");
                Ok(resource)
            }
            // A concurrent repeat of the request won the race, or the code
            // is taken.
            Err(CatalogError::Duplicate(_)) => self
                .repeated_registration(caller, request_id, code)
                .await?
                .ok_or_else(|| CatalogError::AlreadyExists {
                    kind: "resource",
                    key: code.to_string(),
                }),
            Err(other) => Err(other),
        }
    }

    async fn repeated_registration(
        &self,
        caller: &Caller,
        request_id: &str,
        code: &str,
    ) -> Result<Option<Resource>, CatalogError> {
        match self
            .resources
            .by_request_id(&caller.write_scope(), request_id)
            .await?
        {
            Some(existing) if existing.code != code => {
                Err(CatalogError::RequestIdReused(request_id.to_string()))
            }
            found => Ok(found),
        }
    }

    /// A visible resource: the current version (`version` 0) or a past one.
    pub async fn get(
        &self,
        caller: &Caller,
        id: &str,
        version: i64,
    ) -> Result<Resource, CatalogError> {
        let mut v = Violations::default();
        let id = parse_id(&mut v, "id", id);
        if version < 0 {
            v.add("version", "must be 0 (current) or a past version");
        }
        let Some(id) = id.filter(|_| v.is_empty()) else {
            return Err(CatalogError::Invalid(v.0));
        };
        let scope = caller.read_scope();
        let current = self
            .resources
            .visible(&scope, id)
            .await?
            .ok_or_else(|| CatalogError::not_found("resource", id))?;
        if version == 0 || version == current.version {
            return Ok(current);
        }
        self.resources
            .version(&scope, id, version)
            .await?
            .map(|entry| entry.resource)
            .ok_or_else(|| CatalogError::not_found("resource version", format!("{id}@{version}")))
    }

    /// Visible resources, ordered by title.
    pub async fn list(
        &self,
        caller: &Caller,
        filter: &ResourceFilter,
        page: &PageQuery,
    ) -> Result<Page<Resource>, CatalogError> {
        self.resources
            .list(&caller.read_scope(), filter, page)
            .await
    }

    /// Changes the named parts of the caller's own resource.
    pub async fn update(
        &self,
        caller: &Caller,
        update: &ResourceUpdate,
    ) -> Result<Resource, CatalogError> {
        let mut v = Violations::default();
        let id = parse_id(&mut v, "resource.id", &update.id);
        let parts = update_parts(&update.mask, &mut v);
        v.check("change_note", length_problem(&update.note, MAX_NOTE_CHARS));
        let values = check_details(&update.values, &parts, "resource", &mut v);
        let Some(id) = id.filter(|_| v.is_empty()) else {
            return Err(CatalogError::Invalid(v.0));
        };
        let current = self.owned(caller, id).await?;
        if current.version != update.version {
            return Err(CatalogError::VersionConflict {
                kind: "resource",
                id: id.to_string(),
            });
        }
        if current.state == ResourceState::Retired {
            return Err(CatalogError::FailedPrecondition(format!(
                "resource {id} is retired and can no longer change"
            )));
        }
        let merged = normalise(current.details.with_parts(&values, &parts));
        let changed = current.details.differences(&merged);
        if changed.is_empty() {
            return Ok(current);
        }
        if changed.contains(&DetailField::Fields) {
            self.check_granted_fields_survive(caller, &current, &merged)
                .await?;
        }
        let at = now();
        let updated = Resource {
            details: merged,
            version: current.version + 1,
            updated_at: at,
            ..current.clone()
        };
        let changed_fields: Vec<String> = changed
            .iter()
            .map(|part| part.as_str().to_string())
            .collect();
        let actor = Actor::of(caller);
        let changes = Changes::new(Authority::Scope(caller.write_scope()))
            .resource(ResourceWrite {
                write: Write::Update {
                    value: updated.clone(),
                    expected_version: current.version,
                },
                request_id: None,
                history: ResourceVersion {
                    resource: updated.clone(),
                    changed_fields: changed_fields.clone(),
                    changed_by: actor.clone(),
                    change_note: update.note.clone(),
                    time: at,
                },
                index: search::index_terms(&updated.details),
            })
            .event(CatalogEvent::ResourceUpdated {
                resource: updated.clone(),
                changed_fields,
                actor,
                note: update.note.clone(),
            })
            .audit(audit_trail::allowed(
                caller,
                "catalog.resource.update",
                format!("resource/{id}"),
            ));
        self.changes.commit(changes).await?;
        tracing::info!(resource = %id, version = updated.version, "resource updated");
        Ok(updated)
    }

    /// A field a usable grant delivers may not disappear or change type
    /// under it.
    async fn check_granted_fields_survive(
        &self,
        caller: &Caller,
        current: &Resource,
        merged: &super::resource::ResourceDetails,
    ) -> Result<(), CatalogError> {
        let grants = self
            .access
            .grants_on(&caller.write_scope(), current.id, false, GrantState::USABLE)
            .await?;
        for grant in &grants {
            for name in grant.covered_fields() {
                let before = current.details.field(name).map(|f| f.field_type);
                let after = merged.field(name).map(|f| f.field_type);
                if after.is_none() || after != before {
                    return Err(CatalogError::FailedPrecondition(format!(
                        "field `{name}` is granted by grant {} and cannot be removed or retyped; revoke the grant first",
                        grant.id
                    )));
                }
            }
        }
        Ok(())
    }

    /// Retires the caller's own resource; retiring twice changes nothing.
    pub async fn retire(
        &self,
        caller: &Caller,
        id: &str,
        reason: &str,
    ) -> Result<Resource, CatalogError> {
        let mut v = Violations::default();
        let id = parse_id(&mut v, "id", id);
        v.check("reason", length_problem(reason, MAX_NOTE_CHARS));
        let Some(id) = id.filter(|_| v.is_empty()) else {
            return Err(CatalogError::Invalid(v.0));
        };
        let current = self.owned(caller, id).await?;
        if current.state == ResourceState::Retired {
            return Ok(current);
        }
        let at = now();
        let retired = Resource {
            state: ResourceState::Retired,
            version: current.version + 1,
            updated_at: at,
            ..current.clone()
        };
        let actor = Actor::of(caller);
        let changes = Changes::new(Authority::Scope(caller.write_scope()))
            .resource(ResourceWrite {
                write: Write::Update {
                    value: retired.clone(),
                    expected_version: current.version,
                },
                request_id: None,
                history: ResourceVersion {
                    resource: retired.clone(),
                    changed_fields: vec!["state".to_string()],
                    changed_by: actor.clone(),
                    change_note: reason.to_string(),
                    time: at,
                },
                index: search::index_terms(&retired.details),
            })
            .event(CatalogEvent::ResourceRetired {
                resource: retired.clone(),
                actor,
                reason: reason.to_string(),
            })
            .audit(audit_trail::allowed(
                caller,
                "catalog.resource.retire",
                format!("resource/{id}"),
            ));
        self.changes.commit(changes).await?;
        tracing::info!(resource = %id, "resource retired");
        Ok(retired)
    }

    /// A visible resource's history, newest first.
    pub async fn versions(
        &self,
        caller: &Caller,
        id: &str,
        page: &PageQuery,
    ) -> Result<Page<ResourceVersion>, CatalogError> {
        let mut v = Violations::default();
        let Some(id) = parse_id(&mut v, "resource_id", id) else {
            return Err(CatalogError::Invalid(v.0));
        };
        let scope = caller.read_scope();
        if self.resources.visible(&scope, id).await?.is_none() {
            return Err(CatalogError::not_found("resource", id));
        }
        self.resources.versions(&scope, id, page).await
    }

    /// The resource if the caller's tenant owns it: not found when the
    /// caller cannot see it, denied when it only sees it.
    async fn owned(&self, caller: &Caller, id: Uuid) -> Result<Resource, CatalogError> {
        let resource = self
            .resources
            .visible(&caller.read_scope(), id)
            .await?
            .ok_or_else(|| CatalogError::not_found("resource", id))?;
        if resource.owner != caller.tenant {
            return Err(CatalogError::Denied {
                reason: "NOT_OWNER",
                target: format!("resource/{id}"),
                message: format!(
                    "resource {id} belongs to {}; only its owner may change it",
                    resource.owner
                ),
            });
        }
        Ok(resource)
    }
}

/// The parts an update mask names; anything not updatable is a violation.
fn update_parts(mask: &[String], v: &mut Violations) -> Vec<DetailField> {
    if mask.is_empty() {
        v.add("update_mask", "must name at least one field to change");
    }
    let mut parts = Vec::new();
    for path in mask {
        match DetailField::from_name(path.strip_prefix("resource.").unwrap_or(path)) {
            Some(part) if !parts.contains(&part) => parts.push(part),
            Some(_) => {}
            None => v.add(
                "update_mask",
                format!(
                    "`{path}` cannot be updated (updatable: {})",
                    DetailField::ALL
                        .iter()
                        .map(|p| p.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ),
        }
    }
    parts
}
