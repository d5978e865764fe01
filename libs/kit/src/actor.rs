//! Who performed an action, as histories, events and audit records keep it:
//! taken from the authenticated [`Caller`], never from a request, or the
//! platform itself for timers and policies.

use serde::{Deserialize, Serialize};

use crate::auth::Caller;
use crate::tenant::TenantId;

/// What kind of actor acted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActorKind {
    /// A person (or a department app) with a bearer token.
    User,
    /// A platform service acting on its own behalf.
    Service,
    /// An integrator app calling through the gateway.
    App,
    /// The platform itself: timers, policies.
    System,
}

/// An actor at the time of its action.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actor {
    pub kind: ActorKind,
    /// User id, service name or app id.
    pub subject: String,
    /// Tenant it acted for; none for the platform itself.
    pub tenant: Option<TenantId>,
    /// Roles held at the time.
    pub roles: Vec<String>,
}

impl Actor {
    /// The authenticated caller of a request.
    pub fn of(caller: &Caller) -> Self {
        Self {
            kind: ActorKind::User,
            subject: caller.subject.clone(),
            tenant: Some(caller.tenant.clone()),
            roles: caller
                .roles
                .iter()
                .map(|r| r.as_str().to_string())
                .collect(),
        }
    }

    /// The platform acting by itself, e.g. `approval.sla-timer`.
    pub fn system(subject: impl Into<String>) -> Self {
        Self {
            kind: ActorKind::System,
            subject: subject.into(),
            tenant: None,
            roles: Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Role;

    #[test]
    fn comes_from_the_caller_and_round_trips_as_json() {
        let tenant = TenantId::parse("331100", "civil-affairs").expect("tenant");
        let caller = Caller::new("u1", tenant.clone(), &[Role::Approver]);
        let actor = Actor::of(&caller);
        assert_eq!(actor.tenant, Some(tenant));
        assert_eq!(actor.roles, vec!["approver".to_string()]);
        let json = serde_json::to_string(&actor).expect("json");
        assert!(json.contains("\"331100/civil-affairs\""), "{json}");
        assert_eq!(serde_json::from_str::<Actor>(&json).ok(), Some(actor));
        assert!(serde_json::from_str::<TenantId>("\"33/x\"").is_err());
    }
}
