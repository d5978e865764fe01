//! Unit tests of the consents domain: every transition of the state
//! machine, the read gates, who is who, what a read discloses, and the
//! signed record.

mod disclosure;
mod identity;
mod reads;
mod record;
mod transitions;

use chrono::{DateTime, Duration, TimeZone, Utc};
use uuid::Uuid;
use zhongtai_credential::{Holder, IdDocumentType};
use zhongtai_kit::{Actor, Caller, Role, TenantId};

use super::model::{Consent, ConsentRequest, Party};
use super::rules;

pub const NANNY_ID: &str = "331102199001012345";
pub const CUSTODIAN: &str = "331100/human-resources";
pub const PLATFORM: &str = "330000/big-data-bureau";

pub fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 1, 9, 0, 0)
        .single()
        .unwrap_or_else(|| unreachable!("a valid date"))
}

pub fn tenant(key: &str) -> TenantId {
    TenantId::from_key(key).unwrap_or_else(|e| unreachable!("{key}: {e}"))
}

pub fn nanny() -> Holder {
    Holder::Person {
        name: "李秀英".into(),
        id_type: IdDocumentType::ResidentIdCard,
        id_number: NANNY_ID.into(),
    }
}

pub fn request() -> ConsentRequest {
    ConsentRequest {
        request_id: "r-1".into(),
        app_id: "home-service".into(),
        requester_name: "丽水好阿姨家政平台".into(),
        holder: nanny(),
        custodian: tenant(CUSTODIAN),
        certificate_types: vec![
            "qualification-certificate".into(),
            "health-certificate".into(),
        ],
        claims: vec!["qualification".into(), "occupation".into()],
        purpose: "hiring check".into(),
        start: None,
        end: t0() + Duration::days(30),
        read_limit: 3,
    }
}

pub fn actor(subject: &str) -> Actor {
    Actor::system(subject)
}

/// A PENDING consent opened at t0.
pub fn pending() -> Consent {
    rules::open(&request(), Uuid::nil(), actor("app:home-service"), t0())
        .unwrap_or_else(|e| unreachable!("{e}"))
        .consent
}

/// The consent with `parties` unlocked, one minute apart from t0.
pub fn unlocked_by(parties: &[Party]) -> Consent {
    let mut consent = pending();
    for (i, party) in parties.iter().enumerate() {
        let at = t0() + Duration::minutes(i as i64 + 1);
        if let Ok(Some(change)) = rules::unlock(&consent, *party, actor(party.as_str()), at) {
            consent = change.consent;
        }
    }
    consent
}

pub fn active() -> Consent {
    unlocked_by(&Party::ALL)
}

pub fn caller(subject: &str, tenant_key: &str, roles: &[Role]) -> Caller {
    Caller::new(subject, tenant(tenant_key), roles)
}

pub fn citizen(id_number: &str) -> Caller {
    caller(
        &format!("person:resident-id-card:{id_number}"),
        "331100",
        &[Role::Viewer],
    )
}
