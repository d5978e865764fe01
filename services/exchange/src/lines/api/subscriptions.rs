//! CreateSubscription, GetSubscription, ListSubscriptions and the
//! subscription state RPCs.

use chrono::Utc;
use tonic::{Request, Response, Status};
use uuid::Uuid;
use zhongtai_contracts::exchange::v1 as pb;
use zhongtai_kit::auth::caller;
use zhongtai_kit::proto::{page_query, page_response};
use zhongtai_kit::{ApiError, Caller, Validator};

use super::{LineHandlers, id_of, optional_id, request_id, required_id};
use crate::domain::subscription::default_queue_name;
use crate::domain::{EnclaveTarget, Subscription, SubscriptionState};
use crate::lines::convert::subscription_message;
use crate::lines::domain::definition::identifier_problem;
use crate::lines::domain::states;
use crate::lines::domain::subscribing::{ensure_queue_delivery, entitlement, queue_name_problem};
use crate::store::SubscriptionFilter;

/// Where a new subscription delivers: a queue (`Some("")` for the default
/// name), an enclave table, or both.
struct Targets {
    queue: Option<String>,
    enclave: Option<EnclaveTarget>,
}

impl LineHandlers {
    pub async fn create_subscription(
        &self,
        request: Request<pb::CreateSubscriptionRequest>,
    ) -> Result<Response<pb::CreateSubscriptionResponse>, Status> {
        let caller = caller(&request)?;
        let request = request.into_inner();
        let mut v = Validator::new();
        let request_id = request_id(&mut v, &request.request_id);
        let line_id = required_id(&mut v, "line_id", &request.line_id);
        let grant_id = optional_id(&mut v, "grant_id", &request.grant_id);
        let targets = targets(&mut v, &request);
        v.finish()?;
        let line_id = line_id.ok_or_else(|| ApiError::invalid_field("line_id", "is required"))?;
        if targets.queue.is_some() {
            ensure_queue_delivery(self.queue_delivery_available)?;
        }
        let line = self
            .store
            .find_line(line_id)
            .await?
            .ok_or_else(|| ApiError::not_found("line", &line_id.to_string()))?;
        let grant = match grant_id {
            Some(id) => Some(self.store.grant(id).await?),
            None => None,
        };
        let entitled = entitlement(
            &line,
            &caller.tenant,
            grant.as_ref().map(Option::as_ref),
            Utc::now(),
        )?;
        self.check_enclave_target(&caller, targets.enclave.as_ref())
            .await?;
        let id = Uuid::now_v7();
        let now = Utc::now();
        let subscription = Subscription {
            id,
            line_id: line.id,
            subscriber: caller.tenant.clone(),
            grant_id: entitled.grant_id,
            queue: targets.queue.map(|queue| {
                if queue.is_empty() {
                    default_queue_name(id)
                } else {
                    queue
                }
            }),
            enclave: targets.enclave,
            state: SubscriptionState::Active,
            state_reason: String::new(),
            policy: entitled.policy,
            delivered_position: 0,
            created_at: now,
            updated_at: now,
        };
        let subscription = self
            .store
            .create_subscription(subscription, request_id, &caller)
            .await?;
        Ok(Response::new(pb::CreateSubscriptionResponse {
            subscription: Some(subscription_message(&subscription)),
        }))
    }

    /// Changes go only into an enclave of the subscriber itself.
    async fn check_enclave_target(
        &self,
        caller: &Caller,
        target: Option<&EnclaveTarget>,
    ) -> Result<(), ApiError> {
        if let Some(target) = target
            && !self
                .enclaves
                .belongs_to(target.enclave_id, &caller.tenant)
                .await?
        {
            return Err(ApiError::failed_precondition(format!(
                "enclave {} is not an active enclave of {}",
                target.enclave_id, caller.tenant
            )));
        }
        Ok(())
    }

    pub async fn get_subscription(
        &self,
        request: Request<pb::GetSubscriptionRequest>,
    ) -> Result<Response<pb::GetSubscriptionResponse>, Status> {
        let caller = caller(&request)?;
        let id = id_of("id", &request.get_ref().id)?;
        let (subscription, _) = self.visible_subscription(&caller, id).await?;
        Ok(Response::new(pb::GetSubscriptionResponse {
            subscription: Some(subscription_message(&subscription)),
        }))
    }

    pub async fn list_subscriptions(
        &self,
        request: Request<pb::ListSubscriptionsRequest>,
    ) -> Result<Response<pb::ListSubscriptionsResponse>, Status> {
        let caller = caller(&request)?;
        let request = request.into_inner();
        let page = page_query(request.page.as_ref())?;
        let mut v = Validator::new();
        let filter = SubscriptionFilter {
            line_id: optional_id(&mut v, "line_id", &request.line_id),
            grant_id: optional_id(&mut v, "grant_id", &request.grant_id),
        };
        v.finish()?;
        let page = self
            .store
            .list_subscriptions(&caller.tenant, &filter, &page)
            .await?;
        Ok(Response::new(pb::ListSubscriptionsResponse {
            subscriptions: page.items.iter().map(subscription_message).collect(),
            page: Some(page_response(page.next_page_token)),
        }))
    }

    pub async fn pause_subscription(
        &self,
        request: Request<pb::PauseSubscriptionRequest>,
    ) -> Result<Response<pb::PauseSubscriptionResponse>, Status> {
        let caller = caller(&request)?;
        let id = id_of("id", &request.get_ref().id)?;
        let subscription = self.changeable_subscription(&caller, id).await?;
        let subscription = match states::pause_subscription(subscription.state)? {
            None => subscription,
            Some(state) => {
                let reason = format!("paused by {}", caller.subject);
                self.store
                    .change_subscription_state(&subscription, state, &reason, &caller)
                    .await?
            }
        };
        Ok(Response::new(pb::PauseSubscriptionResponse {
            subscription: Some(subscription_message(&subscription)),
        }))
    }

    pub async fn resume_subscription(
        &self,
        request: Request<pb::ResumeSubscriptionRequest>,
    ) -> Result<Response<pb::ResumeSubscriptionResponse>, Status> {
        let caller = caller(&request)?;
        let id = id_of("id", &request.get_ref().id)?;
        let subscription = self.changeable_subscription(&caller, id).await?;
        let subscription = match states::resume_subscription(subscription.state)? {
            None => subscription,
            Some(state) => {
                self.store
                    .change_subscription_state(&subscription, state, "", &caller)
                    .await?
            }
        };
        Ok(Response::new(pb::ResumeSubscriptionResponse {
            subscription: Some(subscription_message(&subscription)),
        }))
    }

    pub async fn delete_subscription(
        &self,
        request: Request<pb::DeleteSubscriptionRequest>,
    ) -> Result<Response<pb::DeleteSubscriptionResponse>, Status> {
        let caller = caller(&request)?;
        let id = id_of("id", &request.get_ref().id)?;
        let subscription = self.changeable_subscription(&caller, id).await?;
        let subscription = match states::delete_subscription(subscription.state) {
            None => subscription,
            Some(state) => {
                let reason = format!("deleted by {}", caller.subject);
                self.store
                    .change_subscription_state(&subscription, state, &reason, &caller)
                    .await?
            }
        };
        Ok(Response::new(pb::DeleteSubscriptionResponse {
            subscription: Some(subscription_message(&subscription)),
        }))
    }
}

fn targets(v: &mut Validator, request: &pb::CreateSubscriptionRequest) -> Targets {
    let queue = request.queue.as_ref().map(|queue| {
        if !queue.queue.is_empty()
            && let Some(problem) = queue_name_problem(&queue.queue)
        {
            v.violation("queue.queue", problem);
        }
        queue.queue.clone()
    });
    let enclave = request.enclave.as_ref().and_then(|enclave| {
        if !enclave.table.is_empty()
            && let Some(problem) = identifier_problem(&enclave.table)
        {
            v.violation("enclave.table", problem);
        }
        required_id(v, "enclave.enclave_id", &enclave.enclave_id).map(|enclave_id| EnclaveTarget {
            enclave_id,
            table: enclave.table.clone(),
        })
    });
    if request.queue.is_none() && request.enclave.is_none() {
        v.violation("queue", "deliver to a queue, an enclave, or both");
    }
    Targets { queue, enclave }
}
