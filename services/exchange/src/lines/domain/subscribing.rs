//! When a tenant may subscribe to a line, under which policy, and where
//! the changes go.

use chrono::{DateTime, Utc};
use uuid::Uuid;
use zhongtai_kit::TenantId;

use crate::domain::subscription::default_queue_name;
use crate::domain::{
    DeliveryPolicy, ExchangeError, Grant, Line, LineState, Subscription, SubscriptionState,
};

pub const QUEUE_NAME_MAX_CHARS: usize = 200;

/// What a subscription runs under: its grant (none within one tenant) and
/// the policy every change passes through.
#[derive(Debug, Clone, PartialEq)]
pub struct Entitlement {
    pub grant_id: Option<Uuid>,
    pub policy: DeliveryPolicy,
}

/// Decides whether `subscriber` may receive `line`. `grant` is what the
/// request named, as the center last heard of it: `Some(None)` when the
/// request named a grant the center does not know.
pub fn entitlement(
    line: &Line,
    subscriber: &TenantId,
    grant: Option<Option<&Grant>>,
    now: DateTime<Utc>,
) -> Result<Entitlement, ExchangeError> {
    if line.state == LineState::Deleted {
        return Err(ExchangeError::precondition(format!(
            "line {} is deleted",
            line.name
        )));
    }
    let grant = match grant {
        None if *subscriber == line.owner => {
            return Ok(Entitlement {
                grant_id: None,
                policy: DeliveryPolicy::default(),
            });
        }
        None => {
            return Err(ExchangeError::precondition(format!(
                "line {} belongs to {}; subscribing from {subscriber} needs a catalog grant \
                 (grant_id)",
                line.name, line.owner
            )));
        }
        Some(None) => {
            return Err(ExchangeError::precondition(
                "the grant is not known to the exchange center (not yet announced by the \
                 catalog, or of another resource)",
            ));
        }
        Some(Some(grant)) => grant,
    };
    check_grant(line, subscriber, grant, now)?;
    Ok(Entitlement {
        grant_id: Some(grant.id),
        policy: grant.policy.clone(),
    })
}

/// A grant lets `subscriber` receive `line` only when it is the grantee's,
/// covers the line's resource and is in force.
pub fn check_grant(
    line: &Line,
    subscriber: &TenantId,
    grant: &Grant,
    now: DateTime<Utc>,
) -> Result<(), ExchangeError> {
    if grant.grantee != *subscriber {
        return Err(ExchangeError::denied(
            "GRANT_OF_ANOTHER_TENANT",
            format!("grant {} was given to another tenant", grant.id),
        ));
    }
    let Some(resource_id) = line.resource_id else {
        return Err(ExchangeError::precondition(format!(
            "line {} feeds no catalog resource, so no grant covers it",
            line.name
        )));
    };
    if grant.resource_id != resource_id {
        return Err(ExchangeError::precondition(format!(
            "grant {} covers resource {}, but line {} feeds resource {resource_id}",
            grant.id, grant.resource_id, line.name
        )));
    }
    if !feeds_grants_of(line, grant) {
        return Err(ExchangeError::precondition(format!(
            "grant {} is for data of {}, but line {} belongs to {}",
            grant.id, grant.owner, line.name, line.owner
        )));
    }
    if !grant.state.allows_delivery() {
        return Err(ExchangeError::precondition(format!(
            "grant {} is {}",
            grant.id,
            grant.state.as_str()
        )));
    }
    if let Some(end) = grant.valid_until
        && now >= end
    {
        return Err(ExchangeError::precondition(format!(
            "grant {} expired at {}",
            grant.id,
            end.to_rfc3339()
        )));
    }
    Ok(())
}

/// Only a line of the grant's owning division carries the granted data:
/// another region linking its line to the resource feeds no grantee.
pub fn feeds_grants_of(line: &Line, grant: &Grant) -> bool {
    line.owner.division == grant.owner.division
}

/// The queue subscription a grant gets on a line that feeds its resource.
/// Its id is derived from the grant and the line, so provisioning it again
/// (a redelivered event, a line linked again) finds it instead of adding
/// another.
pub fn grant_subscription(grant: &Grant, line_id: Uuid, now: DateTime<Utc>) -> Subscription {
    let id = Uuid::new_v5(&grant.id, line_id.as_bytes());
    Subscription {
        id,
        line_id,
        subscriber: grant.grantee.clone(),
        grant_id: Some(grant.id),
        queue: Some(default_queue_name(id)),
        enclave: None,
        state: SubscriptionState::Active,
        state_reason: String::new(),
        policy: grant.policy.clone(),
        delivered_position: 0,
        created_at: now,
        updated_at: now,
    }
}

/// `[A-Za-z0-9._:-]{1,200}`: a RabbitMQ queue name that needs no escaping.
pub fn queue_name_problem(queue: &str) -> Option<String> {
    if queue.is_empty() {
        return Some("must not be empty".into());
    }
    if queue.chars().count() > QUEUE_NAME_MAX_CHARS {
        return Some(format!("must be at most {QUEUE_NAME_MAX_CHARS} characters"));
    }
    if !queue
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | ':' | '-'))
    {
        return Some("may contain only letters, digits, '.', '_', ':' and '-'".into());
    }
    if queue.starts_with("amq.") {
        return Some("names starting with \"amq.\" are the broker's".into());
    }
    None
}

/// Queue delivery is refused outright where the center has no broker.
pub fn ensure_queue_delivery(available: bool) -> Result<(), ExchangeError> {
    if available {
        Ok(())
    } else {
        Err(ExchangeError::precondition(
            "queue delivery needs RabbitMQ; this exchange center runs without a broker \
             (deliver into an enclave instead)",
        ))
    }
}

#[cfg(test)]
mod tests {
    use chrono::Duration;

    use super::*;
    use crate::domain::{GrantState, PushSourceSpec, SourceSpec};

    fn tenant(division: &str) -> TenantId {
        TenantId::parse(division, "").unwrap_or_else(|_| unreachable!())
    }

    fn line() -> Line {
        Line {
            id: Uuid::from_u128(1),
            owner: tenant("330000"),
            name: "population".into(),
            description: String::new(),
            source: SourceSpec::Push(PushSourceSpec {
                tables: vec![],
                producer_subject: "app".into(),
            }),
            state: LineState::Streaming,
            state_reason: String::new(),
            snapshot: Default::default(),
            resource_id: Some(Uuid::from_u128(7)),
            version: 1,
            created_at: Utc::now(),
            updated_at: Utc::now(),
        }
    }

    fn grant() -> Grant {
        Grant {
            id: Uuid::from_u128(9),
            resource_id: Uuid::from_u128(7),
            owner: tenant("330000"),
            grantee: tenant("331100"),
            policy: DeliveryPolicy::default(),
            state: GrantState::Approved,
            valid_until: None,
            version: 2,
        }
    }

    fn refusal(grant: Option<Option<&Grant>>, subscriber: &str) -> ExchangeError {
        match entitlement(&line(), &tenant(subscriber), grant, Utc::now()) {
            Err(error) => error,
            Ok(_) => panic!("refused"),
        }
    }

    #[test]
    fn the_owner_needs_no_grant_and_receives_every_field() {
        let own = entitlement(&line(), &tenant("330000"), None, Utc::now());
        assert_eq!(
            own.ok(),
            Some(Entitlement {
                grant_id: None,
                policy: DeliveryPolicy::default()
            })
        );
    }

    #[test]
    fn other_tenants_need_a_grant_in_force_for_the_line() {
        assert!(matches!(
            refusal(None, "331100"),
            ExchangeError::Precondition(_)
        ));
        assert!(matches!(
            refusal(Some(None), "331100"),
            ExchangeError::Precondition(_)
        ));
        let g = grant();
        assert!(matches!(
            refusal(Some(Some(&g)), "331200"),
            ExchangeError::Denied { .. }
        ));
        let revoked = Grant {
            state: GrantState::Revoked,
            ..grant()
        };
        assert!(matches!(
            refusal(Some(Some(&revoked)), "331100"),
            ExchangeError::Precondition(_)
        ));
        let lapsed = Grant {
            valid_until: Some(Utc::now() - Duration::seconds(1)),
            ..grant()
        };
        assert!(matches!(
            refusal(Some(Some(&lapsed)), "331100"),
            ExchangeError::Precondition(_)
        ));
        let elsewhere = Grant {
            resource_id: Uuid::from_u128(8),
            ..grant()
        };
        assert!(matches!(
            refusal(Some(Some(&elsewhere)), "331100"),
            ExchangeError::Precondition(_)
        ));
        let other_region = Grant {
            owner: tenant("320000"),
            ..grant()
        };
        assert!(matches!(
            refusal(Some(Some(&other_region)), "331100"),
            ExchangeError::Precondition(_)
        ));
        let ok = entitlement(&line(), &tenant("331100"), Some(Some(&g)), Utc::now());
        assert_eq!(ok.ok().and_then(|e| e.grant_id), Some(g.id));
    }

    #[test]
    fn grant_subscriptions_have_derived_ids_and_the_grants_policy() {
        let g = grant();
        let one = grant_subscription(&g, Uuid::from_u128(1), Utc::now());
        let again = grant_subscription(&g, Uuid::from_u128(1), Utc::now());
        let other_line = grant_subscription(&g, Uuid::from_u128(2), Utc::now());
        assert_eq!(one.id, again.id);
        assert_ne!(one.id, other_line.id);
        assert_eq!(one.subscriber, g.grantee);
        assert_eq!(one.queue, Some(default_queue_name(one.id)));
        assert_eq!(one.policy, g.policy);
    }

    #[test]
    fn queue_names_need_no_escaping() {
        assert_eq!(queue_name_problem("zhongtai.exchange.x-1:y_z"), None);
        for bad in ["", "has space", "amq.gen", "队列", &"q".repeat(201)] {
            assert!(queue_name_problem(bad).is_some(), "{bad}");
        }
    }
}
