//! Use cases on service items.

use std::sync::Arc;

use chrono::{SubsecRound, Utc};
use uuid::Uuid;
use zhongtai_kit::{Page, PageQuery};

use super::error::ApprovalError;
use super::ports::{CreateOutcome, ItemFilter, ServiceItemRepository};
use super::service_item::{ServiceItem, ServiceItemDraft};

/// Service-item operations.
#[derive(Clone)]
pub struct ServiceItems {
    repository: Arc<dyn ServiceItemRepository>,
}

impl ServiceItems {
    pub fn new(repository: Arc<dyn ServiceItemRepository>) -> Self {
        Self { repository }
    }

    /// Creates an item once per `request_id`.
    pub async fn create(
        &self,
        request_id: &str,
        draft: ServiceItemDraft,
    ) -> Result<CreateOutcome, ApprovalError> {
        if request_id.is_empty() || request_id.len() > 128 {
            return Err(ApprovalError::invalid(
                "request_id",
                "must be 1..128 characters",
            ));
        }
        // Databases keep microseconds; so does the item we answer with, so
        // a later read returns exactly what creation returned.
        let now = Utc::now().trunc_subsecs(6);
        let item = draft.into_item(Uuid::now_v7(), now)?;
        let outcome = self.repository.create(request_id, item.clone()).await?;
        if let CreateOutcome::AlreadyCreated(existing) = &outcome
            && (existing.code != item.code || existing.tenant != item.tenant)
        {
            return Err(ApprovalError::RequestIdReused(request_id.to_string()));
        }
        Ok(outcome)
    }

    pub async fn get(&self, id: &str) -> Result<ServiceItem, ApprovalError> {
        let uuid =
            Uuid::parse_str(id).map_err(|_| ApprovalError::invalid("id", "must be a UUID"))?;
        self.repository
            .get(uuid)
            .await?
            .ok_or_else(|| ApprovalError::ItemNotFound(id.to_string()))
    }

    pub async fn list(
        &self,
        filter: &ItemFilter,
        page: &PageQuery,
    ) -> Result<Page<ServiceItem>, ApprovalError> {
        self.repository.list(filter, page).await
    }
}
