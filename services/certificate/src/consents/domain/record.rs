//! The signed record of a consent: its agreed terms as a compact JWS
//! (EdDSA, `typ` [`CONSENT_RECORD_TYP`]) signed with the platform key, so
//! any party can prove what was agreed with nothing but the trust list.
//! Re-signed on every change of the agreement. Times are RFC 3339 text
//! rather than JWT `nbf`/`exp`, so JWT libraries do not refuse to open the
//! record of a consent that has ended.

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Value, json};
use zhongtai_credential::{PLATFORM_ISSUER, SigningKey, sign_compact};

use super::model::Consent;

/// The JWS `typ` of a consent record.
pub const CONSENT_RECORD_TYP: &str = "zt-consent+jwt";

/// The terms a record signs.
pub fn terms(consent: &Consent) -> Value {
    let terms = &consent.terms;
    let unlocks: Vec<Value> = consent
        .unlocks
        .iter()
        .map(|unlock| {
            json!({
                "party": unlock.party.as_str(),
                "actor": unlock.actor.subject,
                "actor_tenant": unlock.actor.tenant.as_ref().map(|t| t.key()),
                "time": time(unlock.at),
            })
        })
        .collect();
    json!({
        "iss": PLATFORM_ISSUER,
        "iat": consent.updated_at.timestamp(),
        "consent_id": consent.id.to_string(),
        "app_id": terms.app_id,
        "requester_name": terms.requester_name,
        "holder": consent.holder_key(),
        "custodian": terms.custodian.key(),
        "certificate_types": terms.certificate_types,
        "claims": terms.claims,
        "purpose": terms.purpose,
        "period": {
            "start": time(terms.period.start),
            "end": time(terms.period.end),
        },
        "read_limit": terms.read_limit,
        "state": consent.state.as_str(),
        "unlocks": unlocks,
        "ended_by": consent.ending.as_ref().map(|e| e.party.as_str()),
        "end_reason": consent.ending.as_ref().map(|e| e.reason.as_str()),
        "version": consent.version,
    })
}

/// Signs the consent's current terms into its `signed_record`.
pub fn seal(consent: &mut Consent, key: &SigningKey) {
    consent.signed_record = sign_compact(key, CONSENT_RECORD_TYP, &terms(consent));
}

fn time(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Micros, true)
}
