//! Use cases on service items.

use std::sync::Arc;

use chrono::{SubsecRound, Utc};
use uuid::Uuid;
use zhongtai_kit::audit_trail;
use zhongtai_kit::{Caller, Page, PageQuery, TenantId};

use super::error::ApprovalError;
use super::ports::{CreateOutcome, ItemFilter, ServiceItemRepository};
use super::service_item::{ServiceItem, ServiceItemDraft};

/// Service-item operations, each on behalf of an authenticated caller.
#[derive(Clone)]
pub struct ServiceItems {
    repository: Arc<dyn ServiceItemRepository>,
}

impl ServiceItems {
    pub fn new(repository: Arc<dyn ServiceItemRepository>) -> Self {
        Self { repository }
    }

    /// Creates an item once per `request_id`, in the caller's own tenant.
    pub async fn create(
        &self,
        caller: &Caller,
        request_id: &str,
        draft: ServiceItemDraft,
    ) -> Result<CreateOutcome, ApprovalError> {
        if request_id.is_empty() || request_id.len() > 128 {
            return Err(ApprovalError::invalid(
                "request_id",
                "must be 1..128 characters",
            ));
        }
        let scope = caller.write_scope();
        if !scope.permits(&draft.tenant) {
            return Err(tenant_mismatch(caller, &draft.tenant));
        }
        // Databases keep microseconds; so does the item we answer with, so
        // a later read returns exactly what creation returned.
        let now = Utc::now().trunc_subsecs(6);
        let item = draft.into_item(Uuid::now_v7(), now)?;
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
}

fn tenant_mismatch(caller: &Caller, tenant: &TenantId) -> ApprovalError {
    ApprovalError::Denied {
        reason: "TENANT_MISMATCH",
        target: format!("tenant/{tenant}"),
        message: format!(
            "{} acts for tenant {} and may not use tenant {tenant}'s service items",
            caller.subject, caller.tenant
        ),
    }
}
