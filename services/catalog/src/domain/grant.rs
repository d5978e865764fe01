//! Grants: what a grantee may receive from a resource (fields with their
//! masking, rows) and until when. Lifecycle PENDING → APPROVED →
//! PROVISIONED → REVOKED / EXPIRED; the exchange center and the gateway
//! enforce whatever the latest grant event says.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;
use zhongtai_kit::{Actor, TenantId};

use super::access_request::{AccessRequest, FieldAccess, Period};
use super::error::CatalogError;
use super::masking;
use super::names::stored_names;
use super::row_filter::RowFilter;

/// Longest subscription id accepted.
pub const MAX_SUBSCRIPTION_ID_LEN: usize = 128;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GrantState {
    Pending,
    Approved,
    Provisioned,
    Revoked,
    Expired,
}
stored_names!(GrantState {
    Pending => "pending",
    Approved => "approved",
    Provisioned => "provisioned",
    Revoked => "revoked",
    Expired => "expired",
});

impl GrantState {
    /// States in which the grantee may receive data.
    pub const USABLE: &'static [Self] = &[Self::Approved, Self::Provisioned];

    pub fn is_usable(self) -> bool {
        Self::USABLE.contains(&self)
    }
}

/// A stored grant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    pub id: Uuid,
    pub resource_id: Uuid,
    pub resource_version: i64,
    pub owner: TenantId,
    pub grantee: TenantId,
    pub access_request_id: Uuid,
    /// Empty when policy approved the request without an application.
    pub application_id: String,
    pub fields: Vec<FieldAccess>,
    pub row_filter: RowFilter,
    pub purpose: String,
    pub period: Period,
    pub state: GrantState,
    pub subscription_ids: Vec<String>,
    pub revoke_reason: String,
    pub revoked_by: Option<Actor>,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Grant {
    /// The grant an approved request produces: first PENDING (as created),
    /// then APPROVED (as stored), both announced.
    pub fn issue(
        request: &AccessRequest,
        id: Uuid,
        application_id: &str,
        now: DateTime<Utc>,
    ) -> (Grant, Grant) {
        let pending = Grant {
            id,
            resource_id: request.resource_id,
            resource_version: request.resource_version,
            owner: request.owner.clone(),
            grantee: request.grantee.clone(),
            access_request_id: request.id,
            application_id: application_id.to_string(),
            fields: request.fields.clone(),
            row_filter: request.row_filter.clone(),
            purpose: request.purpose.clone(),
            period: request.period,
            state: GrantState::Pending,
            subscription_ids: Vec::new(),
            revoke_reason: String::new(),
            revoked_by: None,
            version: 1,
            created_at: now,
            updated_at: now,
        };
        let approved = pending.moved_to(GrantState::Approved, now);
        (pending, approved)
    }

    fn moved_to(&self, state: GrantState, now: DateTime<Utc>) -> Grant {
        Grant {
            state,
            version: self.version + 1,
            updated_at: now,
            ..self.clone()
        }
    }

    /// The grant revoked; `None` when it already is (revoking twice changes
    /// nothing). An expired grant cannot be revoked.
    pub fn revoked(
        &self,
        reason: &str,
        by: Actor,
        now: DateTime<Utc>,
    ) -> Result<Option<Grant>, CatalogError> {
        match self.state {
            GrantState::Revoked => Ok(None),
            GrantState::Expired => Err(CatalogError::FailedPrecondition(format!(
                "grant {} has expired and cannot be revoked",
                self.id
            ))),
            GrantState::Pending | GrantState::Approved | GrantState::Provisioned => {
                Ok(Some(Grant {
                    revoke_reason: reason.to_string(),
                    revoked_by: Some(by),
                    ..self.moved_to(GrantState::Revoked, now)
                }))
            }
        }
    }

    /// The grant with delivery provisioned under `subscription_id`; `None`
    /// when that subscription is already recorded.
    pub fn provisioned(
        &self,
        subscription_id: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<Grant>, CatalogError> {
        if !self.state.is_usable() {
            return Err(CatalogError::FailedPrecondition(format!(
                "grant {} is {} and cannot be provisioned",
                self.id,
                self.state.as_str()
            )));
        }
        if self.subscription_ids.iter().any(|id| id == subscription_id) {
            return Ok(None);
        }
        let mut provisioned = self.moved_to(GrantState::Provisioned, now);
        provisioned
            .subscription_ids
            .push(subscription_id.to_string());
        Ok(Some(provisioned))
    }

    /// The grant expired, if it is usable and its period is over.
    pub fn expired(&self, now: DateTime<Utc>) -> Option<Grant> {
        (self.state.is_usable() && self.period.end <= now)
            .then(|| self.moved_to(GrantState::Expired, now))
    }

    /// Names of the fields the grant covers: its fields and those its row
    /// filter reads.
    pub fn covered_fields(&self) -> impl Iterator<Item = &str> {
        self.fields
            .iter()
            .map(|field| field.field.as_str())
            .chain(self.row_filter.conditions.iter().map(|c| c.field.as_str()))
    }
}

/// The union of the fields of several grants, with the strictest masking
/// any of them applies to each field, ordered by field name.
pub fn union_of_fields(grants: &[Grant]) -> Vec<FieldAccess> {
    let mut by_field: BTreeMap<&str, Vec<Option<&masking::MaskingRule>>> = BTreeMap::new();
    for grant in grants {
        for field in &grant.fields {
            by_field
                .entry(field.field.as_str())
                .or_default()
                .push(field.masking.as_ref());
        }
    }
    by_field
        .into_iter()
        .map(|(field, rules)| FieldAccess {
            field: field.to_string(),
            masking: masking::strictest(rules),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::access_request::AccessRequestState;
    use crate::domain::masking::{MaskingKind, MaskingRule};

    fn now() -> DateTime<Utc> {
        DateTime::from_timestamp(1_750_000_000, 0).unwrap()
    }

    fn request() -> AccessRequest {
        AccessRequest {
            id: Uuid::from_u128(7),
            request_id: "r".into(),
            resource_id: Uuid::from_u128(1),
            resource_version: 3,
            owner: TenantId::from_key("331100/civil-affairs").unwrap(),
            requester: TenantId::from_key("331100/housing-fund").unwrap(),
            grantee: TenantId::from_key("331100/housing-fund").unwrap(),
            fields: vec![FieldAccess {
                field: "husband_name".into(),
                masking: None,
            }],
            purpose: "loan".into(),
            period: Period {
                start: now(),
                end: now() + chrono::Duration::days(30),
            },
            row_filter: RowFilter::default(),
            state: AccessRequestState::PendingApproval,
            application_id: None,
            grant_id: None,
            requested_by: Actor::system("test"),
            decision_reason: String::new(),
            version: 1,
            created_at: now(),
            updated_at: now(),
        }
    }

    #[test]
    fn issued_grants_copy_the_request_and_become_approved() {
        let (pending, approved) = Grant::issue(&request(), Uuid::from_u128(9), "app-1", now());
        assert_eq!((pending.state, pending.version), (GrantState::Pending, 1));
        assert_eq!(
            (approved.state, approved.version),
            (GrantState::Approved, 2)
        );
        assert_eq!(approved.resource_version, 3);
        assert_eq!(approved.fields, request().fields);
        assert_eq!(approved.application_id, "app-1");
    }

    #[test]
    fn revoking_twice_changes_nothing_and_expired_grants_stay_expired() {
        let (_, approved) = Grant::issue(&request(), Uuid::from_u128(9), "", now());
        let revoked = approved
            .revoked("done", Actor::system("t"), now())
            .unwrap()
            .unwrap();
        assert_eq!(revoked.state, GrantState::Revoked);
        assert_eq!(
            revoked.revoked("again", Actor::system("t"), now()).unwrap(),
            None
        );
        let later = now() + chrono::Duration::days(31);
        let expired = approved.expired(later).unwrap();
        assert_eq!(expired.state, GrantState::Expired);
        assert!(expired.revoked("late", Actor::system("t"), later).is_err());
        assert_eq!(approved.expired(now()), None, "not yet due");
    }

    #[test]
    fn provisioning_adds_each_subscription_once() {
        let (pending, approved) = Grant::issue(&request(), Uuid::from_u128(9), "", now());
        assert!(pending.provisioned("s1", now()).is_err());
        let once = approved.provisioned("s1", now()).unwrap().unwrap();
        assert_eq!(once.subscription_ids, ["s1"]);
        assert_eq!(once.provisioned("s1", now()).unwrap(), None);
        let twice = once.provisioned("s2", now()).unwrap().unwrap();
        assert_eq!(
            (twice.state, twice.subscription_ids.len()),
            (GrantState::Provisioned, 2)
        );
    }

    #[test]
    fn the_union_keeps_the_strictest_masking() {
        let (_, mut first) = Grant::issue(&request(), Uuid::from_u128(1), "", now());
        let mut second = first.clone();
        first.fields.push(FieldAccess {
            field: "id_number".into(),
            masking: Some(MaskingRule {
                keep_last: 4,
                ..MaskingRule::of(MaskingKind::Partial)
            }),
        });
        second.fields.push(FieldAccess {
            field: "id_number".into(),
            masking: Some(MaskingRule::of(MaskingKind::Hash)),
        });
        let union = union_of_fields(&[first, second]);
        assert_eq!(union.len(), 2);
        assert_eq!(union[0].field, "husband_name");
        assert_eq!(union[1].masking, Some(MaskingRule::of(MaskingKind::Hash)));
    }
}
