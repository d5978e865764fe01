//! Use cases on service items.

use std::sync::Arc;

use chrono::{SubsecRound, Utc};
use uuid::Uuid;
use zhongtai_kit::audit_trail;
use zhongtai_kit::{Actor, Caller, Page, PageQuery, TenantId, TenantScope};

use super::error::ApprovalError;
use super::item_update::ItemUpdate;
use super::ports::{
    CreateOutcome, ItemChange, ItemFilter, ProcessRepository, Saved, ServiceItemRepository,
};
use super::service_item::{ProcessRef, ServiceItem, ServiceItemDraft};

/// Service-item operations, each on behalf of an authenticated caller.
#[derive(Clone)]
pub struct ServiceItems {
    repository: Arc<dyn ServiceItemRepository>,
    processes: Arc<dyn ProcessRepository>,
}

impl ServiceItems {
    pub fn new(
        repository: Arc<dyn ServiceItemRepository>,
        processes: Arc<dyn ProcessRepository>,
    ) -> Self {
        Self {
            repository,
            processes,
        }
    }

    /// Creates an item once per `request_id`, in the caller's own tenant.
    pub async fn create(
        &self,
        caller: &Caller,
        request_id: &str,
        draft: ServiceItemDraft,
    ) -> Result<CreateOutcome<ServiceItem>, ApprovalError> {
        check_request_id(request_id)?;
        let scope = caller.write_scope();
        if !scope.permits(&draft.tenant) {
            return Err(tenant_mismatch(caller, &draft.tenant));
        }
        // Databases keep microseconds; so does the item we answer with, so
        // a later read returns exactly what creation returned.
        let now = Utc::now().trunc_subsecs(6);
        let item = draft.into_item(Uuid::now_v7(), now)?;
        self.check_process(&scope, "process", item.process.as_ref())
            .await?;
        let audit = audit_trail::allowed(
            caller,
            "approval.service_item.create",
            format!("service_item/{}", item.id),
        );
        let outcome = self
            .repository
            .create(&scope, request_id, item.clone(), &audit)
            .await?;
        if let CreateOutcome::AlreadyCreated(existing) = &outcome
            && (existing.code != item.code || existing.tenant != item.tenant)
        {
            return Err(ApprovalError::RequestIdReused(request_id.to_string()));
        }
        if let CreateOutcome::Created(item) = &outcome {
            tracing::info!(item = %item.id, code = item.code.as_str(), tenant = %item.tenant, "service item created");
        }
        Ok(outcome)
    }

    /// An item the caller may read; others' items are not found.
    pub async fn get(&self, caller: &Caller, id: &str) -> Result<ServiceItem, ApprovalError> {
        let uuid =
            Uuid::parse_str(id).map_err(|_| ApprovalError::invalid("id", "must be a UUID"))?;
        self.repository
            .get(&caller.read_scope(), uuid)
            .await?
            .ok_or_else(|| ApprovalError::ItemNotFound(id.to_string()))
    }

    /// Items the caller may read; asking for another tenant's is refused.
    pub async fn list(
        &self,
        caller: &Caller,
        filter: &ItemFilter,
        page: &PageQuery,
    ) -> Result<Page<ServiceItem>, ApprovalError> {
        let scope = caller.read_scope();
        if let Some(tenant) = &filter.tenant
            && !scope.permits(tenant)
        {
            return Err(tenant_mismatch(caller, tenant));
        }
        self.repository.list(&scope, filter, page).await
    }

    /// Changes the fields `update` names, if the caller read the stored
    /// version; an update that changes nothing writes nothing.
    pub async fn update(
        &self,
        caller: &Caller,
        update: &ItemUpdate,
    ) -> Result<ServiceItem, ApprovalError> {
        let mut violations = update.mask_violations();
        let id = Uuid::parse_str(&update.id);
        if id.is_err() {
            violations.push(("item.id".into(), "must be a UUID".into()));
        }
        let id = match id {
            Ok(id) if violations.is_empty() => id,
            _ => return Err(ApprovalError::Invalid(violations)),
        };
        let scope = caller.write_scope();
        let item = self
            .repository
            .get(&scope, id)
            .await?
            .ok_or_else(|| ApprovalError::ItemNotFound(id.to_string()))?;
        if update.version != item.version {
            return Err(ApprovalError::VersionConflict {
                kind: "service item",
                id: id.to_string(),
            });
        }
        let now = Utc::now().trunc_subsecs(6);
        let (next, changed_fields) = item.updated(update, now)?;
        if changed_fields.is_empty() {
            return Ok(item);
        }
        if changed_fields.iter().any(|f| f == "process") {
            self.check_process(&scope, "item.process", next.process.as_ref())
                .await?;
        }
        let audit = audit_trail::allowed(
            caller,
            "approval.service_item.update",
            format!("service_item/{id}"),
        );
        let change = ItemChange {
            item: next.clone(),
            expected_version: item.version,
            changed_fields: changed_fields.clone(),
            actor: Actor::of(caller),
        };
        match self.repository.update(&scope, &change, &audit).await? {
            Saved::Saved => {
                tracing::info!(item = %id, version = next.version, changed = ?changed_fields, "service item updated");
                Ok(next)
            }
            Saved::Conflict => Err(ApprovalError::VersionConflict {
                kind: "service item",
                id: id.to_string(),
            }),
        }
    }

    /// A process reference names a definition of the item's own tenant,
    /// and an existing version when pinned.
    async fn check_process(
        &self,
        scope: &TenantScope,
        field: &str,
        process: Option<&ProcessRef>,
    ) -> Result<(), ApprovalError> {
        let Some(process) = process else {
            return Ok(());
        };
        let id = Uuid::parse_str(&process.process_definition_id).map_err(|_| {
            ApprovalError::invalid(&format!("{field}.process_definition_id"), "must be a UUID")
        })?;
        let version = (process.version > 0).then_some(process.version);
        let found = self.processes.get(scope, id, version).await?;
        match (found, version) {
            (Some(_), _) => Ok(()),
            (None, Some(version)) if self.processes.get(scope, id, None).await?.is_some() => {
                Err(ApprovalError::invalid(
                    &format!("{field}.version"),
                    format!("process definition {id} has no version {version}"),
                ))
            }
            (None, _) => Err(ApprovalError::invalid(
                &format!("{field}.process_definition_id"),
                format!("no process definition {id} in tenant {}", scope.own()),
            )),
        }
    }
}

/// Idempotency keys are 1..128 characters.
pub fn check_request_id(request_id: &str) -> Result<(), ApprovalError> {
    if request_id.is_empty() || request_id.chars().count() > 128 {
        return Err(ApprovalError::invalid(
            "request_id",
            "must be 1..128 characters",
        ));
    }
    Ok(())
}

pub(super) fn tenant_mismatch(caller: &Caller, tenant: &TenantId) -> ApprovalError {
    ApprovalError::Denied {
        reason: "TENANT_MISMATCH",
        target: format!("tenant/{tenant}"),
        message: format!(
            "{} acts for tenant {} and may not use tenant {tenant}'s records",
            caller.subject, caller.tenant
        ),
    }
}
