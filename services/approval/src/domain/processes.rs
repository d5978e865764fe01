//! Use cases on process definitions: create version 1, revise into a new
//! version, read, list, deprecate.

use std::sync::Arc;

use chrono::{SubsecRound, Utc};
use uuid::Uuid;
use zhongtai_kit::{Actor, Caller, Page, PageQuery, TenantId, audit_trail};

use super::error::ApprovalError;
use super::ports::{CreateOutcome, ProcessRepository, Saved};
use super::process::{ProcessDefinition, ProcessState};
use super::process_draft::{ProcessDraft, StageDraft, text, validate_stages};
use super::service_items::{check_request_id, tenant_mismatch};

/// A new version as a client asks for it.
#[derive(Debug, Clone)]
pub struct Revision {
    pub id: String,
    pub base_version: i64,
    /// Empty keeps the current one.
    pub name: String,
    /// Empty keeps the current one.
    pub description: String,
    pub stages: Vec<StageDraft>,
}

/// Process-definition operations on behalf of a caller.
#[derive(Clone)]
pub struct Processes {
    repository: Arc<dyn ProcessRepository>,
}

impl Processes {
    pub fn new(repository: Arc<dyn ProcessRepository>) -> Self {
        Self { repository }
    }

    /// Creates version 1 in `tenant` (the caller's own), once per request id.
    pub async fn create(
        &self,
        caller: &Caller,
        request_id: &str,
        tenant: TenantId,
        draft: &ProcessDraft,
    ) -> Result<ProcessDefinition, ApprovalError> {
        check_request_id(request_id)?;
        let scope = caller.write_scope();
        if !scope.permits(&tenant) {
            return Err(tenant_mismatch(caller, &tenant));
        }
        let content = draft.validate()?;
        let process = ProcessDefinition {
            id: Uuid::now_v7(),
            tenant,
            key: content.key,
            name: content.name,
            description: content.description,
            version: 1,
            stages: content.stages,
            state: ProcessState::Active,
            created_at: Utc::now().trunc_subsecs(6),
            created_by: Actor::of(caller),
        };
        let audit = audit_trail::allowed(
            caller,
            "approval.process_definition.create",
            format!("process_definition/{}", process.id),
        );
        match self
            .repository
            .create(&scope, request_id, &process, &audit)
            .await?
        {
            CreateOutcome::Created(created) => {
                tracing::info!(process = %created.id, key = created.key.as_str(), "process definition created");
                Ok(created)
            }
            CreateOutcome::AlreadyCreated(existing)
                if existing.version == 1 && existing.key == process.key =>
            {
                Ok(existing)
            }
            CreateOutcome::AlreadyCreated(_) => {
                Err(ApprovalError::RequestIdReused(request_id.to_string()))
            }
        }
    }

    /// Publishes a new version on top of `base_version`, which must be the
    /// latest; once per request id.
    pub async fn revise(
        &self,
        caller: &Caller,
        request_id: &str,
        revision: &Revision,
    ) -> Result<ProcessDefinition, ApprovalError> {
        check_request_id(request_id)?;
        let mut violations = Vec::new();
        let id = Uuid::parse_str(&revision.id);
        if id.is_err() {
            violations.push(("id".to_string(), "must be a UUID".to_string()));
        }
        if revision.base_version < 1 {
            violations.push((
                "base_version".into(),
                "must be a version (1 or more)".into(),
            ));
        }
        text(&mut violations, "name", &revision.name, 0, 200);
        text(
            &mut violations,
            "description",
            &revision.description,
            0,
            4000,
        );
        let stages = validate_stages(&mut violations, "stages", &revision.stages);
        let id = match id {
            Ok(id) if violations.is_empty() => id,
            _ => return Err(ApprovalError::Invalid(violations)),
        };
        let scope = caller.write_scope();
        if let Some(existing) = self.repository.find_by_request(&scope, request_id).await? {
            if existing.id == id && existing.version > 1 {
                return Ok(existing);
            }
            return Err(ApprovalError::RequestIdReused(request_id.to_string()));
        }
        let latest = self
            .repository
            .get(&scope, id, None)
            .await?
            .ok_or_else(|| ApprovalError::ProcessNotFound(id.to_string()))?;
        let conflict = || ApprovalError::VersionConflict {
            kind: "process definition",
            id: id.to_string(),
        };
        if latest.version != revision.base_version {
            return Err(conflict());
        }
        let next = ProcessDefinition {
            version: latest.version + 1,
            name: if revision.name.trim().is_empty() {
                latest.name.clone()
            } else {
                revision.name.trim().to_string()
            },
            description: if revision.description.is_empty() {
                latest.description.clone()
            } else {
                revision.description.clone()
            },
            stages,
            state: ProcessState::Active,
            created_at: Utc::now().trunc_subsecs(6),
            created_by: Actor::of(caller),
            ..latest.clone()
        };
        let audit = audit_trail::allowed(
            caller,
            "approval.process_definition.revise",
            format!("process_definition/{id}"),
        );
        match self
            .repository
            .revise(&scope, request_id, &latest, &next, &audit)
            .await?
        {
            Saved::Saved => {
                tracing::info!(process = %id, version = next.version, "process definition revised");
                Ok(next)
            }
            Saved::Conflict => match self.repository.find_by_request(&scope, request_id).await? {
                // A concurrent retry of this very request won.
                Some(existing) if existing.id == id => Ok(existing),
                _ => Err(conflict()),
            },
        }
    }

    /// One version the caller may read; `version` 0 is the latest.
    pub async fn get(
        &self,
        caller: &Caller,
        id: &str,
        version: i64,
    ) -> Result<ProcessDefinition, ApprovalError> {
        let mut violations = Vec::new();
        let uuid = Uuid::parse_str(id);
        if uuid.is_err() {
            violations.push(("id".to_string(), "must be a UUID".to_string()));
        }
        if version < 0 {
            violations.push(("version".into(), "must not be negative".into()));
        }
        let uuid = match uuid {
            Ok(uuid) if violations.is_empty() => uuid,
            _ => return Err(ApprovalError::Invalid(violations)),
        };
        self.repository
            .get(&caller.read_scope(), uuid, (version > 0).then_some(version))
            .await?
            .ok_or_else(|| match version {
                0 => ApprovalError::ProcessNotFound(id.to_string()),
                v => ApprovalError::ProcessNotFound(format!("{id} version {v}")),
            })
    }

    pub async fn list(
        &self,
        caller: &Caller,
        tenant: Option<&TenantId>,
        page: &PageQuery,
    ) -> Result<Page<ProcessDefinition>, ApprovalError> {
        let scope = caller.read_scope();
        if let Some(tenant) = tenant
            && !scope.permits(tenant)
        {
            return Err(tenant_mismatch(caller, tenant));
        }
        self.repository.list_latest(&scope, tenant, page).await
    }

    pub async fn versions(
        &self,
        caller: &Caller,
        id: &str,
        page: &PageQuery,
    ) -> Result<Page<ProcessDefinition>, ApprovalError> {
        let uuid =
            Uuid::parse_str(id).map_err(|_| ApprovalError::invalid("id", "must be a UUID"))?;
        let scope = caller.read_scope();
        let versions = self.repository.list_versions(&scope, uuid, page).await?;
        if versions.items.is_empty() && page.after.is_none() {
            return Err(ApprovalError::ProcessNotFound(id.to_string()));
        }
        Ok(versions)
    }

    /// Marks a version DEPRECATED; deprecating it again changes nothing.
    pub async fn deprecate(
        &self,
        caller: &Caller,
        id: &str,
        version: i64,
        reason: &str,
    ) -> Result<ProcessDefinition, ApprovalError> {
        let mut violations = Vec::new();
        let uuid = Uuid::parse_str(id);
        if uuid.is_err() {
            violations.push(("id".to_string(), "must be a UUID".to_string()));
        }
        if version < 1 {
            violations.push(("version".into(), "must be a version (1 or more)".into()));
        }
        text(&mut violations, "reason", reason, 0, 2000);
        let uuid = match uuid {
            Ok(uuid) if violations.is_empty() => uuid,
            _ => return Err(ApprovalError::Invalid(violations)),
        };
        let scope = caller.write_scope();
        let current = self
            .repository
            .get(&scope, uuid, Some(version))
            .await?
            .ok_or_else(|| ApprovalError::ProcessNotFound(format!("{id} version {version}")))?;
        if current.state == ProcessState::Deprecated {
            return Ok(current);
        }
        let deprecated = ProcessDefinition {
            state: ProcessState::Deprecated,
            ..current
        };
        let audit = audit_trail::allowed(
            caller,
            "approval.process_definition.deprecate",
            format!("process_definition/{uuid}"),
        );
        let actor = Actor::of(caller);
        match self
            .repository
            .deprecate(&scope, &deprecated, reason, &actor, &audit)
            .await?
        {
            Saved::Saved => {
                tracing::info!(process = %uuid, version, "process definition version deprecated");
                Ok(deprecated)
            }
            // Someone deprecated it a moment earlier: the same end state.
            Saved::Conflict => Ok(deprecated),
        }
    }
}
