//! Consents as contract messages.

use zhongtai_contracts::certificate::v1 as pb;
use zhongtai_kit::proto::{actor_message, tenant_message, timestamp};

use crate::consents::domain::{
    Consent, ConsentState, ConsentedCertificate, Party, ReadOutcome, Unlock, Usage,
};
use crate::shared::ConsentRefusal;
use crate::shared::convert::{claim_message, holder_message, status_message};

pub fn consent_message(consent: &Consent) -> pb::Consent {
    let terms = &consent.terms;
    pb::Consent {
        id: consent.id.to_string(),
        app_id: terms.app_id.clone(),
        requester_name: terms.requester_name.clone(),
        holder: Some(holder_message(&terms.holder)),
        custodian: Some(tenant_message(&terms.custodian)),
        certificate_types: terms.certificate_types.clone(),
        claims: terms.claims.clone(),
        purpose: terms.purpose.clone(),
        period: Some(zhongtai_contracts::common::v1::Period {
            start_time: Some(timestamp(terms.period.start)),
            end_time: Some(timestamp(terms.period.end)),
        }),
        read_limit: terms.read_limit,
        read_count: consent.read_count,
        state: state_message(consent.state) as i32,
        unlocks: consent.unlocks.iter().map(unlock_message).collect(),
        ended_by: consent
            .ending
            .as_ref()
            .map_or(pb::ConsentParty::Unspecified, |e| party_message(e.party))
            as i32,
        end_reason: consent
            .ending
            .as_ref()
            .map(|e| e.reason.clone())
            .unwrap_or_default(),
        signed_record: consent.signed_record.clone(),
        request_id: consent.request_id.clone(),
        version: consent.version,
        create_time: Some(timestamp(consent.created_at)),
        update_time: Some(timestamp(consent.updated_at)),
    }
}

pub fn unlock_message(unlock: &Unlock) -> pb::ConsentUnlock {
    pb::ConsentUnlock {
        party: party_message(unlock.party) as i32,
        actor: Some(actor_message(&unlock.actor)),
        time: Some(timestamp(unlock.at)),
    }
}

pub fn usage_message(usage: &Usage) -> pb::ConsentUsage {
    pb::ConsentUsage {
        id: usage.id.to_string(),
        consent_id: usage.consent_id.to_string(),
        app_id: usage.app_id.clone(),
        reader: Some(actor_message(&usage.reader)),
        outcome: outcome_message(usage.outcome) as i32,
        read_number: usage.read_number,
        certificate_ids: usage
            .certificate_ids
            .iter()
            .map(|id| id.to_string())
            .collect(),
        claims: usage.claims.clone(),
        request_id: usage.request_id.clone(),
        time: Some(timestamp(usage.at)),
    }
}

pub fn consented_certificate_message(
    certificate: &ConsentedCertificate,
) -> pb::ConsentedCertificate {
    pb::ConsentedCertificate {
        certificate_id: certificate.certificate_id.to_string(),
        certificate_type: certificate.certificate_type.clone(),
        issuer_id: certificate.issuer_id.to_string(),
        claims: certificate.claims.iter().map(claim_message).collect(),
        status: status_message(certificate.status) as i32,
        valid_from_time: Some(timestamp(certificate.valid_from)),
        valid_until_time: certificate.valid_until.map(timestamp),
    }
}

pub fn party_message(party: Party) -> pb::ConsentParty {
    match party {
        Party::Custodian => pb::ConsentParty::Custodian,
        Party::Platform => pb::ConsentParty::Platform,
        Party::Holder => pb::ConsentParty::Holder,
    }
}

pub fn party_from_message(party: pb::ConsentParty) -> Option<Party> {
    match party {
        pb::ConsentParty::Unspecified => None,
        pb::ConsentParty::Custodian => Some(Party::Custodian),
        pb::ConsentParty::Platform => Some(Party::Platform),
        pb::ConsentParty::Holder => Some(Party::Holder),
    }
}

pub fn state_message(state: ConsentState) -> pb::ConsentState {
    match state {
        ConsentState::Pending => pb::ConsentState::Pending,
        ConsentState::Active => pb::ConsentState::Active,
        ConsentState::Declined => pb::ConsentState::Declined,
        ConsentState::Exhausted => pb::ConsentState::Exhausted,
        ConsentState::Expired => pb::ConsentState::Expired,
        ConsentState::Revoked => pb::ConsentState::Revoked,
    }
}

pub fn state_from_message(state: pb::ConsentState) -> Option<ConsentState> {
    match state {
        pb::ConsentState::Unspecified => None,
        pb::ConsentState::Pending => Some(ConsentState::Pending),
        pb::ConsentState::Active => Some(ConsentState::Active),
        pb::ConsentState::Declined => Some(ConsentState::Declined),
        pb::ConsentState::Exhausted => Some(ConsentState::Exhausted),
        pb::ConsentState::Expired => Some(ConsentState::Expired),
        pb::ConsentState::Revoked => Some(ConsentState::Revoked),
    }
}

pub fn outcome_message(outcome: ReadOutcome) -> pb::ConsentUsageOutcome {
    match outcome {
        ReadOutcome::Allowed => pb::ConsentUsageOutcome::Allowed,
        ReadOutcome::Refused(ConsentRefusal::Locked) => pb::ConsentUsageOutcome::RefusedLocked,
        ReadOutcome::Refused(ConsentRefusal::LimitReached) => pb::ConsentUsageOutcome::RefusedLimit,
        ReadOutcome::Refused(ConsentRefusal::Expired) => pb::ConsentUsageOutcome::RefusedExpired,
        ReadOutcome::Refused(ConsentRefusal::Revoked) => pb::ConsentUsageOutcome::RefusedRevoked,
        ReadOutcome::Refused(ConsentRefusal::WrongApp) => pb::ConsentUsageOutcome::RefusedWrongApp,
    }
}
