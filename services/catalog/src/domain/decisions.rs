//! What the approval center's outcome does to the access request it
//! reviewed: approval issues the grant, rejection and recall end the
//! request. Pure: the event adapter reads the request, asks here, and
//! commits the answer in the consumer's transaction.

use chrono::{DateTime, Utc};
use uuid::Uuid;
use zhongtai_audit::{AuditRecord, Outcome};
use zhongtai_kit::{Actor, SystemPurpose};

use super::access_request::AccessRequest;
use super::changes::{Authority, CatalogEvent, Changes, Write};
use super::grant::Grant;

/// Who acts on decisions, in audit records.
pub const DECISIONS_ACTOR: &str = "catalog.access-decisions";

/// How an application ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReviewOutcome {
    Approved,
    /// `comment` is the rejecting approver's reason.
    Rejected {
        comment: String,
    },
    /// The applicant recalled it (`actor`, with `comment`).
    Recalled {
        actor: Actor,
        comment: String,
    },
}

/// The changes `outcome` of `application_id` makes to `request`; `None`
/// when it changes nothing: the request was already decided (a late or
/// repeated event) or another application decides it.
pub fn decide(
    request: &AccessRequest,
    application_id: &str,
    outcome: &ReviewOutcome,
    grant_id: Uuid,
    at: DateTime<Utc>,
) -> Option<Changes> {
    if !request.is_pending() {
        return None;
    }
    if request
        .application_id
        .as_deref()
        .is_some_and(|recorded| recorded != application_id)
    {
        return None;
    }
    // The application id may not be recorded yet if the catalog stopped
    // between raising the application and recording it.
    let reviewed = AccessRequest {
        application_id: Some(application_id.to_string()),
        ..request.clone()
    };
    let audit = |action: &str| {
        AuditRecord::new(
            DECISIONS_ACTOR,
            request.requester.key(),
            action,
            format!("access_request/{}", request.id),
            Outcome::Allowed,
        )
    };
    let changes = Changes::new(Authority::System(SystemPurpose::EVENT));
    let changes = match outcome {
        ReviewOutcome::Approved => {
            let (pending_grant, grant) = Grant::issue(&reviewed, grant_id, application_id, at);
            let approved = reviewed.approved(grant.id, at);
            changes
                .request(Write::Update {
                    value: approved.clone(),
                    expected_version: request.version,
                })
                .grant(Write::Insert(grant.clone()))
                .event(CatalogEvent::GrantCreated(pending_grant))
                .event(CatalogEvent::GrantApproved(grant.clone()))
                .event(CatalogEvent::AccessRequestApproved {
                    request: approved,
                    grant: Box::new(grant),
                    auto_approved: false,
                })
                .audit(audit("catalog.access_request.approve"))
        }
        ReviewOutcome::Rejected { comment } => {
            let rejected = reviewed.rejected(comment, at);
            changes
                .request(Write::Update {
                    value: rejected.clone(),
                    expected_version: request.version,
                })
                .event(CatalogEvent::AccessRequestRejected(rejected))
                .audit(audit("catalog.access_request.reject"))
        }
        ReviewOutcome::Recalled { actor, comment } => {
            let withdrawn = reviewed.withdrawn(comment, at);
            changes
                .request(Write::Update {
                    value: withdrawn.clone(),
                    expected_version: request.version,
                })
                .event(CatalogEvent::AccessRequestWithdrawn {
                    request: withdrawn,
                    actor: actor.clone(),
                })
                .audit(audit("catalog.access_request.withdraw"))
        }
    };
    Some(changes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::access_request::{AccessRequestState, FieldAccess, Period};
    use crate::domain::grant::GrantState;
    use crate::domain::row_filter::RowFilter;
    use zhongtai_kit::TenantId;

    fn at() -> DateTime<Utc> {
        DateTime::from_timestamp(1_750_000_000, 0).unwrap()
    }

    fn pending(application_id: Option<&str>) -> AccessRequest {
        AccessRequest {
            id: Uuid::from_u128(7),
            request_id: "r".into(),
            resource_id: Uuid::from_u128(1),
            resource_version: 1,
            owner: TenantId::from_key("331100/civil-affairs").unwrap(),
            requester: TenantId::from_key("331100/housing-fund").unwrap(),
            grantee: TenantId::from_key("331100/housing-fund").unwrap(),
            fields: vec![FieldAccess {
                field: "husband_name".into(),
                masking: None,
            }],
            purpose: "loan".into(),
            period: Period {
                start: at(),
                end: at() + chrono::Duration::days(30),
            },
            row_filter: RowFilter::default(),
            state: AccessRequestState::PendingApproval,
            application_id: application_id.map(str::to_string),
            grant_id: None,
            requested_by: Actor::system("test"),
            decision_reason: String::new(),
            version: 2,
            created_at: at(),
            updated_at: at(),
        }
    }

    #[test]
    fn approval_issues_an_approved_grant_and_announces_it() {
        let changes = decide(
            &pending(Some("app")),
            "app",
            &ReviewOutcome::Approved,
            Uuid::from_u128(9),
            at(),
        )
        .unwrap();
        let [Write::Insert(grant)] = changes.grants.as_slice() else {
            panic!("one new grant: {:?}", changes.grants);
        };
        assert_eq!(grant.state, GrantState::Approved);
        assert_eq!(grant.application_id, "app");
        let [
            Write::Update {
                value,
                expected_version,
            },
        ] = changes.requests.as_slice()
        else {
            panic!("one request update");
        };
        assert_eq!(
            (value.state, *expected_version),
            (AccessRequestState::Approved, 2)
        );
        assert_eq!(value.grant_id, Some(grant.id));
        assert!(matches!(changes.events.as_slice(), [
            CatalogEvent::GrantCreated(created),
            CatalogEvent::GrantApproved(_),
            CatalogEvent::AccessRequestApproved { auto_approved: false, .. },
        ] if created.state == GrantState::Pending));
    }

    #[test]
    fn rejection_keeps_the_reason_and_recall_withdraws() {
        let rejected = decide(
            &pending(None),
            "app",
            &ReviewOutcome::Rejected {
                comment: "用途不明".into(),
            },
            Uuid::from_u128(9),
            at(),
        )
        .unwrap();
        let Write::Update { value, .. } = &rejected.requests[0] else {
            panic!("an update");
        };
        assert_eq!(value.state, AccessRequestState::Rejected);
        assert_eq!(value.decision_reason, "用途不明");
        assert_eq!(
            value.application_id.as_deref(),
            Some("app"),
            "recorded if missing"
        );
        let recalled = decide(
            &pending(Some("app")),
            "app",
            &ReviewOutcome::Recalled {
                actor: Actor::system("x"),
                comment: String::new(),
            },
            Uuid::from_u128(9),
            at(),
        )
        .unwrap();
        assert!(matches!(
            recalled.events[0],
            CatalogEvent::AccessRequestWithdrawn { .. }
        ));
    }

    #[test]
    fn decided_requests_and_other_applications_change_nothing() {
        let mut decided = pending(Some("app"));
        decided.state = AccessRequestState::Withdrawn;
        assert!(
            decide(
                &decided,
                "app",
                &ReviewOutcome::Approved,
                Uuid::from_u128(9),
                at()
            )
            .is_none()
        );
        assert!(
            decide(
                &pending(Some("app")),
                "other",
                &ReviewOutcome::Approved,
                Uuid::from_u128(9),
                at()
            )
            .is_none()
        );
    }
}
