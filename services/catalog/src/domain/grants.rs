//! Use cases on grants: read, list, revoke, provision, and expiry by the
//! timer.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use zhongtai_audit::{AuditRecord, Outcome};
use zhongtai_kit::config::CatalogConfig;
use zhongtai_kit::{Actor, Caller, Page, PageQuery, Role, SystemPurpose, TenantScope, audit_trail};

use super::access_request::MAX_PURPOSE_CHARS;
use super::changes::{Authority, CatalogEvent, Changes, Write};
use super::error::CatalogError;
use super::grant::{Grant, MAX_SUBSCRIPTION_ID_LEN};
use super::ports::{AccessRepository, ChangeStore, GrantFilter};
use super::validation::{Violations, text_problem};
use super::{now, parse_id};

/// Grants expired per timer tick at most; the rest wait for the next.
const EXPIRY_BATCH: u64 = 100;
/// Who expires grants, in histories and audit records.
const EXPIRY_TIMER: &str = "catalog.grant-expiry";

#[derive(Clone)]
pub struct Grants {
    access: Arc<dyn AccessRepository>,
    changes: Arc<dyn ChangeStore>,
    config: CatalogConfig,
}

impl Grants {
    pub fn new(
        access: Arc<dyn AccessRepository>,
        changes: Arc<dyn ChangeStore>,
        config: CatalogConfig,
    ) -> Self {
        Self {
            access,
            changes,
            config,
        }
    }

    /// Whether the caller speaks for its division's data bureau.
    fn is_data_bureau(&self, caller: &Caller) -> bool {
        caller.tenant.department.as_deref() == Some(self.config.data_bureau_department.as_str())
    }

    /// The rows a data bureau supervises: its division's grants. Checked
    /// against the exact division before acting, since a city's scope also
    /// reaches its counties.
    fn bureau_scope(caller: &Caller) -> TenantScope {
        TenantScope::with_grant(caller.tenant.clone(), vec![caller.tenant.division])
    }

    /// A grant the caller's tenant gave or holds (or, for a data bureau,
    /// one given in its division).
    pub async fn get(&self, caller: &Caller, id: &str) -> Result<Grant, CatalogError> {
        let mut v = Violations::default();
        let Some(id) = parse_id(&mut v, "id", id) else {
            return Err(CatalogError::Invalid(v.0));
        };
        if let Some(grant) = self.access.grant(&caller.read_scope(), id).await? {
            return Ok(grant);
        }
        if self.is_data_bureau(caller)
            && let Some(grant) = self.access.grant(&Self::bureau_scope(caller), id).await?
            && grant.owner.division == caller.tenant.division
        {
            return Ok(grant);
        }
        Err(CatalogError::not_found("grant", id))
    }

    /// Grants the caller holds, or (as owner) gave; a data bureau's owner
    /// view covers its division.
    pub async fn list(
        &self,
        caller: &Caller,
        filter: &GrantFilter,
        page: &PageQuery,
    ) -> Result<Page<Grant>, CatalogError> {
        if !filter.as_owner
            && let Some(grantee) = &filter.grantee
            && grantee != &caller.tenant
        {
            return Err(CatalogError::Denied {
                reason: "TENANT_MISMATCH",
                target: format!("tenant/{grantee}"),
                message: format!(
                    "{} holds grants for {} only; a grantee filter is for owners and the data bureau",
                    caller.subject, caller.tenant
                ),
            });
        }
        if filter.as_owner && self.is_data_bureau(caller) {
            let division = GrantFilter {
                owner_division: Some(caller.tenant.division),
                ..filter.clone()
            };
            return self
                .access
                .grants(&Self::bureau_scope(caller), &division, page)
                .await;
        }
        self.access.grants(&caller.read_scope(), filter, page).await
    }

    /// Revokes a grant: by its owner's operators or admins, or by the owner
    /// division's data bureau. Revoking twice returns it unchanged.
    pub async fn revoke(
        &self,
        caller: &Caller,
        id: &str,
        reason: &str,
    ) -> Result<Grant, CatalogError> {
        let mut v = Violations::default();
        let id = parse_id(&mut v, "id", id);
        v.check("reason", text_problem(reason, MAX_PURPOSE_CHARS));
        let Some(id) = id.filter(|_| v.is_empty()) else {
            return Err(CatalogError::Invalid(v.0));
        };
        let grant = self.get(caller, &id.to_string()).await?;
        let as_owner =
            grant.owner == caller.tenant && caller.has_any_role(&[Role::Operator, Role::Admin]);
        let as_bureau =
            self.is_data_bureau(caller) && grant.owner.division == caller.tenant.division;
        if !as_owner && !as_bureau {
            return Err(CatalogError::Denied {
                reason: "NOT_GRANT_OWNER",
                target: format!("grant/{id}"),
                message: format!(
                    "grant {id} may be revoked by {}'s operators or the data bureau of {}",
                    grant.owner, grant.owner.division
                ),
            });
        }
        let Some(revoked) = grant.revoked(reason, Actor::of(caller), now())? else {
            return Ok(grant);
        };
        let scope = if as_owner {
            caller.write_scope()
        } else {
            Self::bureau_scope(caller)
        };
        let changes = Changes::new(Authority::Scope(scope))
            .grant(Write::Update {
                value: revoked.clone(),
                expected_version: grant.version,
            })
            .event(CatalogEvent::GrantRevoked(revoked.clone()))
            .audit(audit_trail::allowed(
                caller,
                "catalog.grant.revoke",
                format!("grant/{id}"),
            ));
        self.changes.commit(changes).await?;
        tracing::info!(grant = %id, by = %caller.tenant, "grant revoked");
        Ok(revoked)
    }

    /// Records that delivery is provisioned under `subscription_id`.
    pub async fn provision(
        &self,
        caller: &Caller,
        id: &str,
        subscription_id: &str,
    ) -> Result<Grant, CatalogError> {
        let mut v = Violations::default();
        let id = parse_id(&mut v, "id", id);
        if subscription_id.trim().is_empty() || subscription_id.len() > MAX_SUBSCRIPTION_ID_LEN {
            v.add(
                "subscription_id",
                format!("must be 1..{MAX_SUBSCRIPTION_ID_LEN} characters"),
            );
        }
        let Some(id) = id.filter(|_| v.is_empty()) else {
            return Err(CatalogError::Invalid(v.0));
        };
        let grant = self.get(caller, &id.to_string()).await?;
        if grant.owner != caller.tenant {
            return Err(CatalogError::Denied {
                reason: "NOT_GRANT_OWNER",
                target: format!("grant/{id}"),
                message: format!(
                    "only {}'s administrators may record provisioning of grant {id}",
                    grant.owner
                ),
            });
        }
        let Some(provisioned) = grant.provisioned(subscription_id, now())? else {
            return Ok(grant);
        };
        let changes = Changes::new(Authority::Scope(caller.write_scope()))
            .grant(Write::Update {
                value: provisioned.clone(),
                expected_version: grant.version,
            })
            .event(CatalogEvent::GrantProvisioned {
                grant: provisioned.clone(),
                subscription_id: subscription_id.to_string(),
            })
            .audit(audit_trail::allowed(
                caller,
                "catalog.grant.provision",
                format!("grant/{id}"),
            ));
        self.changes.commit(changes).await?;
        tracing::info!(grant = %id, subscription = %subscription_id, "grant provisioned");
        Ok(provisioned)
    }

    /// Expires usable grants whose period has ended. Each expiry is a
    /// version-checked update, so when several instances run the timer at
    /// once exactly one of them expires a given grant.
    pub async fn expire_due(&self, at: DateTime<Utc>) -> Result<usize, CatalogError> {
        let due = self.access.due_for_expiry(at, EXPIRY_BATCH).await?;
        let mut expired_count = 0;
        for grant in due {
            let Some(expired) = grant.expired(at) else {
                continue;
            };
            let audit = AuditRecord::new(
                EXPIRY_TIMER,
                grant.owner.key(),
                "catalog.grant.expire",
                format!("grant/{}", grant.id),
                Outcome::Allowed,
            );
            let changes = Changes::new(Authority::System(SystemPurpose::TIMER))
                .grant(Write::Update {
                    value: expired.clone(),
                    expected_version: grant.version,
                })
                .event(CatalogEvent::GrantExpired(expired))
                .audit(audit);
            match self.changes.commit(changes).await {
                Ok(()) => {
                    tracing::info!(grant = %grant.id, "grant expired");
                    expired_count += 1;
                }
                // Another instance (or a revocation) got there first.
                Err(CatalogError::VersionConflict { .. }) => {}
                Err(other) => return Err(other),
            }
        }
        Ok(expired_count)
    }
}
