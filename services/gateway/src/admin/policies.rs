//! Policies over gRPC: limits of an app on a capability or on all of them.
//! The app must be inside the caller's scope; the rules are in
//! [`crate::domain::policy`].

use std::sync::Arc;
use std::time::Duration;

use tonic::{Request, Response, Status};
use uuid::Uuid;
use zhongtai_contracts::gateway::v1 as pb;
use zhongtai_kit::audit_trail;
use zhongtai_kit::auth::caller;
use zhongtai_kit::proto::{page_query, page_response, timestamp};
use zhongtai_kit::{ApiError, Validator};

use super::apps::parse_app_id;
use crate::domain::policy::{RequestedLimits, RequestedRateLimit, check_limits};
use crate::domain::ports::now;
use crate::domain::{
    AdminAccess, AppRepository, AppScope, GatewayError, Policy, PolicyRepository, PolicyTarget,
    QuotaWindow,
};

/// The policy RPCs of the admin plane.
pub struct PoliciesApi {
    apps: Arc<dyn AppRepository>,
    policies: Arc<dyn PolicyRepository>,
    access: AdminAccess,
}

impl PoliciesApi {
    /// Policy RPCs over `policies`, apps looked up in `apps`.
    pub fn new(
        apps: Arc<dyn AppRepository>,
        policies: Arc<dyn PolicyRepository>,
        access: AdminAccess,
    ) -> Self {
        Self {
            apps,
            policies,
            access,
        }
    }

    /// SetPolicy: create or replace, guarded by the version unless it is 0.
    pub async fn set_policy(
        &self,
        request: Request<pb::SetPolicyRequest>,
    ) -> Result<Response<pb::SetPolicyResponse>, Status> {
        let caller = caller(&request)?;
        let message = request
            .into_inner()
            .policy
            .ok_or_else(|| ApiError::invalid_field("policy", "is required"))?;
        let mut v = Validator::new();
        let app_id = v.parse(
            "policy.app_id",
            parse_app_id("policy.app_id", &message.app_id).map_err(|e| e.message().to_string()),
        );
        let target = v.parse(
            "policy.capability",
            PolicyTarget::parse(&message.capability),
        );
        if message.version < 0 {
            v.violation("policy.version", "must not be negative");
        }
        let requested = requested_limits(&message, &mut v);
        let limits = match check_limits(&requested) {
            Ok(limits) => Some(limits),
            Err(problems) => {
                for (field, problem) in problems {
                    v.violation(field, problem);
                }
                None
            }
        };
        v.finish()?;
        let (Some(app_id), Some(target), Some(limits)) = (app_id, target, limits) else {
            return Err(ApiError::invalid_field("policy", "is invalid").into());
        };
        self.app_in(&self.access.write_scope(&caller), app_id)
            .await?;
        let at = now();
        let policy = Policy {
            id: Uuid::new_v4(),
            app_id,
            target,
            limits,
            version: 1,
            created_at: at,
            updated_at: at,
        };
        let audit = audit_trail::allowed(&caller, "gateway.policy.set", audit_target(&policy));
        let stored = self.policies.set(&policy, message.version, &audit).await?;
        Ok(Response::new(pb::SetPolicyResponse {
            policy: Some(policy_message(&stored)),
        }))
    }

    /// GetPolicy: the policy as configured.
    pub async fn get_policy(
        &self,
        request: Request<pb::GetPolicyRequest>,
    ) -> Result<Response<pb::GetPolicyResponse>, Status> {
        let caller = caller(&request)?;
        let request = request.into_inner();
        let (app_id, target) = key(&request.app_id, &request.capability)?;
        self.app_in(&self.access.read_scope(&caller), app_id)
            .await?;
        let policy =
            self.policies
                .get(app_id, &target)
                .await?
                .ok_or_else(|| GatewayError::NotFound {
                    kind: "policy",
                    id: format!("{app_id} {}", target.as_str()),
                })?;
        Ok(Response::new(pb::GetPolicyResponse {
            policy: Some(policy_message(&policy)),
        }))
    }

    /// ListPolicies: of the apps the caller may see, by app.
    pub async fn list_policies(
        &self,
        request: Request<pb::ListPoliciesRequest>,
    ) -> Result<Response<pb::ListPoliciesResponse>, Status> {
        let caller = caller(&request)?;
        let request = request.into_inner();
        let page = page_query(request.page.as_ref())?;
        let app_id = if request.app_id.is_empty() {
            None
        } else {
            Some(parse_app_id("app_id", &request.app_id)?)
        };
        let page = self
            .policies
            .list(&self.access.read_scope(&caller), app_id, &page)
            .await?;
        Ok(Response::new(pb::ListPoliciesResponse {
            policies: page.items.iter().map(policy_message).collect(),
            page: Some(page_response(page.next_page_token)),
        }))
    }

    /// DeletePolicy: the policy of (app, capability).
    pub async fn delete_policy(
        &self,
        request: Request<pb::DeletePolicyRequest>,
    ) -> Result<Response<pb::DeletePolicyResponse>, Status> {
        let caller = caller(&request)?;
        let request = request.into_inner();
        let (app_id, target) = key(&request.app_id, &request.capability)?;
        self.app_in(&self.access.write_scope(&caller), app_id)
            .await?;
        let audit = audit_trail::allowed(
            &caller,
            "gateway.policy.delete",
            format!("app/{app_id}/policy/{}", target.as_str()),
        );
        self.policies.delete(app_id, &target, &audit).await?;
        Ok(Response::new(pb::DeletePolicyResponse {}))
    }

    async fn app_in(&self, scope: &AppScope, app_id: Uuid) -> Result<(), GatewayError> {
        match self.apps.get(scope, app_id).await? {
            Some(_) => Ok(()),
            None => Err(GatewayError::NotFound {
                kind: "app",
                id: app_id.to_string(),
            }),
        }
    }
}

fn key(app_id: &str, capability: &str) -> Result<(Uuid, PolicyTarget), ApiError> {
    let mut v = Validator::new();
    let app_id = v.parse(
        "app_id",
        parse_app_id("app_id", app_id).map_err(|e| e.message().to_string()),
    );
    let target = v.parse("capability", PolicyTarget::parse(capability));
    v.finish()?;
    match (app_id, target) {
        (Some(app_id), Some(target)) => Ok((app_id, target)),
        _ => Err(ApiError::invalid_field("app_id", "is invalid")),
    }
}

fn requested_limits(message: &pb::Policy, v: &mut Validator) -> RequestedLimits {
    let rate_limit = message.rate_limit.as_ref().map(|rate| RequestedRateLimit {
        requests: rate.requests,
        period: rate
            .period
            .and_then(|period| Duration::try_from(period).ok())
            .unwrap_or(Duration::ZERO),
        burst: rate.burst,
    });
    const MAX_QUOTAS: usize = 2;
    v.max_items("policy.quotas", message.quotas.len(), MAX_QUOTAS);
    let quotas = message
        .quotas
        .iter()
        .take(MAX_QUOTAS + 1)
        .map(|quota| {
            let window = match pb::QuotaWindow::try_from(quota.window) {
                Ok(pb::QuotaWindow::Day) => Some(QuotaWindow::Day),
                Ok(pb::QuotaWindow::Month) => Some(QuotaWindow::Month),
                _ => None,
            };
            (window, quota.limit)
        })
        .collect();
    RequestedLimits {
        rate_limit,
        quotas,
        max_concurrency: message.max_concurrency,
    }
}

fn audit_target(policy: &Policy) -> String {
    format!("app/{}/policy/{}", policy.app_id, policy.target.as_str())
}

/// The contract form of a policy.
pub fn policy_message(policy: &Policy) -> pb::Policy {
    pb::Policy {
        id: policy.id.to_string(),
        app_id: policy.app_id.to_string(),
        capability: policy.target.as_str().to_string(),
        rate_limit: policy.limits.rate_limit.map(|rate| pb::RateLimit {
            requests: i64::try_from(rate.requests).unwrap_or(i64::MAX),
            period: prost_types::Duration::try_from(rate.period).ok(),
            burst: i64::try_from(rate.burst).unwrap_or(i64::MAX),
        }),
        quotas: policy
            .limits
            .quotas
            .iter()
            .map(|quota| pb::Quota {
                window: match quota.window {
                    QuotaWindow::Day => pb::QuotaWindow::Day,
                    QuotaWindow::Month => pb::QuotaWindow::Month,
                } as i32,
                limit: i64::try_from(quota.limit).unwrap_or(i64::MAX),
            })
            .collect(),
        max_concurrency: i32::try_from(policy.limits.max_concurrency).unwrap_or(i32::MAX),
        version: policy.version,
        create_time: Some(timestamp(policy.created_at)),
        update_time: Some(timestamp(policy.updated_at)),
    }
}
