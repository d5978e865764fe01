//! Use cases on access requests (点菜): request, read, list, withdraw. A
//! request on an unconditionally shared resource may be decided at once by
//! policy; any other is reviewed as an approval-center application whose
//! outcome arrives later as an event (see [`super::decisions`]).

use std::sync::Arc;

use uuid::Uuid;
use zhongtai_kit::auth::Credential;
use zhongtai_kit::config::CatalogConfig;
use zhongtai_kit::{Actor, Caller, Page, PageQuery, TenantId, audit_trail};

use super::access_request::{AccessRequest, AccessRequestState, reason_problem};
use super::changes::{Authority, CatalogEvent, Changes, Write};
use super::error::CatalogError;
use super::grant::Grant;
use super::ports::{
    AccessRepository, AccessReview, ChangeStore, RequestFilter, ResourceRepository, ReviewError,
    ReviewSubmission,
};
use super::request_draft::AccessRequestDraft;
use super::resource::{Resource, ResourceState, Sharing};
use super::validation::{Violations, request_id_problem};
use super::{now, parse_id};

#[derive(Clone)]
pub struct AccessRequests {
    resources: Arc<dyn ResourceRepository>,
    access: Arc<dyn AccessRepository>,
    changes: Arc<dyn ChangeStore>,
    review: Arc<dyn AccessReview>,
    config: CatalogConfig,
}

impl AccessRequests {
    pub fn new(
        resources: Arc<dyn ResourceRepository>,
        access: Arc<dyn AccessRepository>,
        changes: Arc<dyn ChangeStore>,
        review: Arc<dyn AccessReview>,
        config: CatalogConfig,
    ) -> Self {
        Self {
            resources,
            access,
            changes,
            review,
            config,
        }
    }

    /// Requests access once per `request_id` of the caller's tenant. A
    /// repeat returns the first request, raising its application now if
    /// that never happened (the approval center was down, say).
    pub async fn request(
        &self,
        caller: &Caller,
        credential: Option<&Credential>,
        draft: &AccessRequestDraft,
    ) -> Result<AccessRequest, CatalogError> {
        let mut v = Violations::default();
        v.check("request_id", request_id_problem(&draft.request_id));
        if v.is_empty()
            && let Some(existing) = self
                .access
                .request_by_request_id(&caller.write_scope(), &draft.request_id)
                .await?
        {
            return self.repeated(caller, credential, draft, existing).await;
        }
        let at = now();
        let shape = draft.check_shape(at, &mut v);
        let Some(resource_id) = shape.resource_id else {
            return Err(CatalogError::Invalid(v.0));
        };
        let resource = self
            .resources
            .visible(&caller.read_scope(), resource_id)
            .await?
            .ok_or_else(|| CatalogError::not_found("resource", resource_id))?;
        requestable(&resource)?;
        let fields = draft.check_against(&resource, &shape.masking, &mut v);
        let Some(period) = shape.period.filter(|_| v.is_empty()) else {
            return Err(CatalogError::Invalid(v.0));
        };
        let request = AccessRequest {
            id: Uuid::now_v7(),
            request_id: draft.request_id.clone(),
            resource_id,
            resource_version: resource.version,
            owner: resource.owner.clone(),
            requester: caller.tenant.clone(),
            grantee: shape.grantee.unwrap_or_else(|| caller.tenant.clone()),
            fields,
            purpose: draft.purpose.clone(),
            period,
            row_filter: draft.row_filter.clone(),
            state: AccessRequestState::PendingApproval,
            application_id: None,
            grant_id: None,
            requested_by: Actor::of(caller),
            decision_reason: String::new(),
            version: 1,
            created_at: at,
            updated_at: at,
        };
        let audit = audit_trail::allowed(
            caller,
            "catalog.access_request.create",
            format!("access_request/{}", request.id),
        );
        let mut changes = Changes::new(Authority::Scope(caller.write_scope())).audit(audit);
        let auto_approved = resource.details.sharing == Sharing::Unconditional
            && self.config.auto_approve_unconditional;
        let stored = if auto_approved {
            let (pending_grant, grant) = Grant::issue(&request, Uuid::now_v7(), "", at);
            let approved = request.approved(grant.id, at);
            changes = changes
                .request(Write::Insert(approved.clone()))
                .grant(Write::Insert(grant.clone()))
                .event(CatalogEvent::AccessRequestSubmitted(request.clone()))
                .event(CatalogEvent::GrantCreated(pending_grant))
                .event(CatalogEvent::GrantApproved(grant.clone()))
                .event(CatalogEvent::AccessRequestApproved {
                    request: approved.clone(),
                    grant: Box::new(grant),
                    auto_approved: true,
                });
            approved
        } else {
            changes = changes.request(Write::Insert(request.clone()));
            request
        };
        match self.changes.commit(changes).await {
            Ok(()) => {}
            Err(CatalogError::Duplicate(_)) => {
                // A concurrent repeat stored it first.
                let existing = self
                    .access
                    .request_by_request_id(&caller.write_scope(), &draft.request_id)
                    .await?
                    .ok_or_else(|| {
                        CatalogError::Storage("request vanished after a duplicate insert".into())
                    })?;
                return self.repeated(caller, credential, draft, existing).await;
            }
            Err(other) => return Err(other),
        }
        tracing::info!(
            access_request = %stored.id,
            resource = %stored.resource_id,
            requester = %stored.requester,
            auto_approved,
            "access requested"
        );
        if auto_approved {
            return Ok(stored);
        }
        self.raise(caller, credential, stored, &resource).await
    }

    async fn repeated(
        &self,
        caller: &Caller,
        credential: Option<&Credential>,
        draft: &AccessRequestDraft,
        existing: AccessRequest,
    ) -> Result<AccessRequest, CatalogError> {
        if existing.resource_id.to_string() != draft.resource_id {
            return Err(CatalogError::RequestIdReused(draft.request_id.clone()));
        }
        if !existing.is_pending() || existing.application_id.is_some() {
            return Ok(existing);
        }
        let resource = self
            .resources
            .visible(&caller.read_scope(), existing.resource_id)
            .await?
            .ok_or_else(|| CatalogError::not_found("resource", existing.resource_id))?;
        requestable(&resource)?;
        self.raise(caller, credential, existing, &resource).await
    }

    /// Raises the application reviewing `request` and records it, with the
    /// `submitted` event, in one transaction.
    async fn raise(
        &self,
        caller: &Caller,
        credential: Option<&Credential>,
        request: AccessRequest,
        resource: &Resource,
    ) -> Result<AccessRequest, CatalogError> {
        let item_tenant = TenantId {
            division: resource.owner.division,
            department: Some(self.config.data_bureau_department.clone()),
        };
        let submission = ReviewSubmission {
            request: request.clone(),
            resource: resource.clone(),
            item_tenant: item_tenant.clone(),
            item_code: self.config.access_review_item.clone(),
        };
        let application_id = match self.review.submit(credential, &submission).await {
            Ok(id) => id,
            Err(ReviewError::ItemNotFound) => {
                return Err(CatalogError::ReviewNotSetUp {
                    division: resource.owner.division.to_string(),
                    item: self.config.access_review_item.clone(),
                });
            }
            Err(error) => {
                tracing::warn!(access_request = %request.id, %error, "cannot raise the review application");
                return Err(CatalogError::Review(error));
            }
        };
        let raised = request.with_application(&application_id, now());
        let changes = Changes::new(Authority::Scope(caller.write_scope()))
            .request(Write::Update {
                value: raised.clone(),
                expected_version: request.version,
            })
            .event(CatalogEvent::AccessRequestSubmitted(raised.clone()))
            .audit(audit_trail::allowed(
                caller,
                "catalog.access_request.submit",
                format!("access_request/{}", raised.id),
            ));
        match self.changes.commit(changes).await {
            Ok(()) => {
                tracing::info!(access_request = %raised.id, application = %application_id, "review application raised");
                Ok(raised)
            }
            // A concurrent retry recorded it first (the approval center
            // returned the same application to both).
            Err(CatalogError::VersionConflict { .. }) => self
                .access
                .request(&caller.write_scope(), request.id)
                .await?
                .ok_or_else(|| CatalogError::not_found("access request", request.id)),
            Err(other) => Err(other),
        }
    }

    /// A request the caller's tenant made or received.
    pub async fn get(&self, caller: &Caller, id: &str) -> Result<AccessRequest, CatalogError> {
        let mut v = Violations::default();
        let Some(id) = parse_id(&mut v, "id", id) else {
            return Err(CatalogError::Invalid(v.0));
        };
        self.access
            .request(&caller.read_scope(), id)
            .await?
            .ok_or_else(|| CatalogError::not_found("access request", id))
    }

    pub async fn list(
        &self,
        caller: &Caller,
        filter: &RequestFilter,
        page: &PageQuery,
    ) -> Result<Page<AccessRequest>, CatalogError> {
        self.access
            .requests(&caller.read_scope(), filter, page)
            .await
    }

    /// Withdraws a pending request of the caller's tenant and recalls its
    /// application; withdrawing twice changes nothing.
    pub async fn withdraw(
        &self,
        caller: &Caller,
        credential: Option<&Credential>,
        id: &str,
        reason: &str,
    ) -> Result<AccessRequest, CatalogError> {
        let mut v = Violations::default();
        let id = parse_id(&mut v, "id", id);
        v.check("reason", reason_problem(reason));
        let Some(id) = id.filter(|_| v.is_empty()) else {
            return Err(CatalogError::Invalid(v.0));
        };
        let request = self.get(caller, &id.to_string()).await?;
        if request.requester != caller.tenant {
            return Err(CatalogError::Denied {
                reason: "NOT_REQUESTER",
                target: format!("access_request/{id}"),
                message: format!(
                    "only the requester {} may withdraw access request {id}",
                    request.requester
                ),
            });
        }
        match request.state {
            AccessRequestState::Withdrawn => return Ok(request),
            AccessRequestState::PendingApproval => {}
            other => {
                return Err(CatalogError::FailedPrecondition(format!(
                    "access request {id} is {} and can no longer be withdrawn",
                    other.as_str()
                )));
            }
        }
        if let Some(application_id) = &request.application_id {
            self.review
                .recall(
                    credential,
                    application_id,
                    &format!("withdraw-{id}"),
                    reason,
                )
                .await
                .map_err(CatalogError::Review)?;
        }
        let withdrawn = request.withdrawn(reason, now());
        let changes = Changes::new(Authority::Scope(caller.write_scope()))
            .request(Write::Update {
                value: withdrawn.clone(),
                expected_version: request.version,
            })
            .event(CatalogEvent::AccessRequestWithdrawn {
                request: withdrawn.clone(),
                actor: Actor::of(caller),
            })
            .audit(audit_trail::allowed(
                caller,
                "catalog.access_request.withdraw",
                format!("access_request/{id}"),
            ));
        match self.changes.commit(changes).await {
            Ok(()) => {
                tracing::info!(access_request = %id, "access request withdrawn");
                Ok(withdrawn)
            }
            // The recall's own event may have withdrawn it meanwhile.
            Err(CatalogError::VersionConflict { .. }) => {
                let now_stored = self.get(caller, &id.to_string()).await?;
                if now_stored.state == AccessRequestState::Withdrawn {
                    Ok(now_stored)
                } else {
                    Err(CatalogError::VersionConflict {
                        kind: "access request",
                        id: id.to_string(),
                    })
                }
            }
            Err(other) => Err(other),
        }
    }
}

/// Only published, shared resources take requests.
fn requestable(resource: &Resource) -> Result<(), CatalogError> {
    if resource.state == ResourceState::Retired {
        return Err(CatalogError::FailedPrecondition(format!(
            "resource {} is retired and no longer requestable",
            resource.id
        )));
    }
    if resource.details.sharing == Sharing::NotShared {
        return Err(CatalogError::FailedPrecondition(format!(
            "resource {} is not shared (不予共享); access requests are refused",
            resource.id
        )));
    }
    Ok(())
}
