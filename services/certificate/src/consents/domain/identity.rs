//! Who a caller is to a consent. An integrator app calls with a token whose
//! subject is `app:<app_id>` (the gateway calls on its behalf); the
//! custodian party is an Admin of exactly the consent's custodian tenant;
//! the platform party is an Admin of `certificate.platform_tenant`; the
//! holder party is a caller whose holder key (`shared::require_holder`) is
//! the consent holder's `Holder::key()`.

use zhongtai_kit::{Actor, ActorKind, Caller, Role, TenantId, TenantScope};

use super::model::{Consent, Party};
use crate::shared::{CertificateError, caller_holder_key};

const APP_SUBJECT_PREFIX: &str = "app:";

/// The app id of a caller whose subject is `app:<app_id>`.
pub fn caller_app_id(caller: &Caller) -> Option<&str> {
    caller
        .subject
        .strip_prefix(APP_SUBJECT_PREFIX)
        .filter(|id| !id.is_empty())
}

/// The caller as records keep it; apps appear as apps.
pub fn actor_of(caller: &Caller) -> Actor {
    let mut actor = Actor::of(caller);
    if caller_app_id(caller).is_some() {
        actor.kind = ActorKind::App;
    }
    actor
}

/// Which consents a caller sees: those it is a party to, and those its app
/// asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Viewer {
    /// Exactly the caller's own tenant.
    pub scope: TenantScope,
    /// An Admin of its tenant: sees the consents it is custodian of.
    pub custodian: bool,
    /// An Admin of the platform tenant: a party to every consent.
    pub platform: bool,
    pub holder_key: Option<String>,
    pub app_id: Option<String>,
}

impl Viewer {
    /// The rule the store applies in SQL, for checks in memory.
    pub fn sees(&self, consent: &Consent) -> bool {
        self.platform
            || (self.custodian && self.scope.own() == &consent.terms.custodian)
            || self.holder_key.as_deref() == Some(consent.holder_key().as_str())
            || self.app_id.as_deref() == Some(consent.terms.app_id.as_str())
    }
}

/// Decides who may act for which party.
#[derive(Debug, Clone)]
pub struct Parties {
    /// `None` when the configured platform tenant is unusable: then nobody
    /// acts as the platform.
    platform_tenant: Option<TenantId>,
}

impl Parties {
    pub fn new(platform_tenant: Option<TenantId>) -> Self {
        Self { platform_tenant }
    }

    pub fn is_platform(&self, caller: &Caller) -> bool {
        caller.has_role(Role::Admin) && self.platform_tenant.as_ref() == Some(&caller.tenant)
    }

    pub fn may_act_for(&self, caller: &Caller, party: Party, consent: &Consent) -> bool {
        match party {
            Party::Custodian => {
                caller.has_role(Role::Admin) && caller.tenant == consent.terms.custodian
            }
            Party::Platform => self.is_platform(caller),
            Party::Holder => caller_holder_key(caller) == Some(consent.holder_key().as_str()),
        }
    }

    /// PERMISSION_DENIED (`NOT_CONSENT_PARTY`) unless the caller may act
    /// for `party` on `consent`.
    pub fn require(
        &self,
        caller: &Caller,
        party: Party,
        consent: &Consent,
    ) -> Result<(), CertificateError> {
        if self.may_act_for(caller, party, consent) {
            return Ok(());
        }
        let who = match party {
            Party::Custodian => format!("an admin of the custodian {}", consent.terms.custodian),
            Party::Platform => "an admin of the platform tenant".to_string(),
            Party::Holder => "the holder, signed in as that person".to_string(),
        };
        Err(CertificateError::Denied {
            reason: "NOT_CONSENT_PARTY",
            target: format!("consent/{}", consent.id),
            message: format!(
                "{} may not act as the {} of consent {}: only {who} may",
                caller.subject,
                party.as_str(),
                consent.id
            ),
        })
    }

    /// Whose consents the caller sees.
    pub fn viewer(&self, caller: &Caller) -> Viewer {
        Viewer {
            scope: caller.write_scope(),
            custodian: caller.has_role(Role::Admin),
            platform: self.is_platform(caller),
            holder_key: caller_holder_key(caller).map(str::to_string),
            app_id: caller_app_id(caller).map(str::to_string),
        }
    }
}
