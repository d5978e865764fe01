//! Rows ↔ domain values. Lists and documents are JSON, so the same rows
//! work on PostgreSQL and SQLite.

use chrono::{DateTime, Utc};
use sea_orm::ActiveValue::Set;
use serde_json::{Value, json};
use uuid::Uuid;
use zhongtai_credential::{Claim, ClaimKind, ClaimValue, Holder};
use zhongtai_kit::{Actor, TenantId, TenantScope};

use super::entities::{consent, usage};
use crate::consents::domain::{
    Consent, ConsentState, ConsentedCertificate, Disclosure, Ending, Party, Period, ReadOutcome,
    Terms, Unlock, Usage,
};
use crate::shared::{CertificateError, CertificateStatus};

/// The rows of a consent's tenant: where its row and usage log live.
pub(super) fn owned_by(consent: &Consent) -> TenantScope {
    TenantScope::tenant(consent.terms.custodian.clone())
}

pub(super) fn department(tenant: &TenantId) -> String {
    tenant.department.clone().unwrap_or_default()
}

pub(super) fn storage(e: impl std::fmt::Display + 'static) -> CertificateError {
    CertificateError::storage(e)
}

fn corrupt(what: &str, id: &str, detail: impl std::fmt::Display) -> CertificateError {
    CertificateError::Storage(format!(
        "{what} of consent row {id} is unreadable: {detail}"
    ))
}

pub(super) fn consent_row(
    consent: &Consent,
    fingerprint: &str,
) -> Result<consent::Model, CertificateError> {
    let terms = &consent.terms;
    let unlock = |party| unlock_columns(consent, party);
    let (custodian_unlocked_at, custodian_unlocked_by) = unlock(Party::Custodian)?;
    let (platform_unlocked_at, platform_unlocked_by) = unlock(Party::Platform)?;
    let (holder_unlocked_at, holder_unlocked_by) = unlock(Party::Holder)?;
    Ok(consent::Model {
        id: consent.id.to_string(),
        custodian_division: terms.custodian.division.as_str().to_string(),
        custodian_department: department(&terms.custodian),
        app_id: terms.app_id.clone(),
        request_id: consent.request_id.clone(),
        request_fingerprint: fingerprint.to_string(),
        requester_name: terms.requester_name.clone(),
        holder: serde_json::to_value(&terms.holder).map_err(storage)?,
        holder_key: consent.holder_key(),
        certificate_types: json!(terms.certificate_types),
        claims: json!(terms.claims),
        purpose: terms.purpose.clone(),
        starts_at: terms.period.start,
        ends_at: terms.period.end,
        read_limit: terms.read_limit,
        read_count: consent.read_count,
        state: consent.state.as_str().to_string(),
        custodian_unlocked_at,
        custodian_unlocked_by,
        platform_unlocked_at,
        platform_unlocked_by,
        holder_unlocked_at,
        holder_unlocked_by,
        ended_by: consent
            .ending
            .as_ref()
            .map(|e| e.party.as_str().to_string()),
        end_reason: consent
            .ending
            .as_ref()
            .map(|e| e.reason.clone())
            .unwrap_or_default(),
        signed_record: consent.signed_record.clone(),
        version: consent.version,
        created_at: consent.created_at,
        updated_at: consent.updated_at,
    })
}

/// The columns a change of the agreement writes. Never the read count:
/// reads move it concurrently, under their own guarded update.
pub(super) fn changed_columns(consent: &Consent) -> Result<consent::ActiveModel, CertificateError> {
    let row = consent_row(consent, "")?;
    Ok(consent::ActiveModel {
        state: Set(row.state),
        custodian_unlocked_at: Set(row.custodian_unlocked_at),
        custodian_unlocked_by: Set(row.custodian_unlocked_by),
        platform_unlocked_at: Set(row.platform_unlocked_at),
        platform_unlocked_by: Set(row.platform_unlocked_by),
        holder_unlocked_at: Set(row.holder_unlocked_at),
        holder_unlocked_by: Set(row.holder_unlocked_by),
        ended_by: Set(row.ended_by),
        end_reason: Set(row.end_reason),
        signed_record: Set(row.signed_record),
        version: Set(row.version),
        updated_at: Set(row.updated_at),
        ..Default::default()
    })
}

type UnlockColumns = (Option<DateTime<Utc>>, Option<Value>);

fn unlock_columns(consent: &Consent, party: Party) -> Result<UnlockColumns, CertificateError> {
    match consent.unlock_of(party) {
        Some(unlock) => Ok((
            Some(unlock.at),
            Some(serde_json::to_value(&unlock.actor).map_err(storage)?),
        )),
        None => Ok((None, None)),
    }
}

pub(super) fn consent_from_row(row: consent::Model) -> Result<Consent, CertificateError> {
    let id = &row.id;
    let custodian = TenantId::parse(&row.custodian_division, &row.custodian_department)
        .map_err(|e| corrupt("custodian", id, e))?;
    let holder: Holder =
        serde_json::from_value(row.holder.clone()).map_err(|e| corrupt("holder", id, e))?;
    let state =
        ConsentState::from_name(&row.state).ok_or_else(|| corrupt("state", id, &row.state))?;
    let mut unlocks = Vec::new();
    for (party, at, by) in [
        (
            Party::Custodian,
            row.custodian_unlocked_at,
            &row.custodian_unlocked_by,
        ),
        (
            Party::Platform,
            row.platform_unlocked_at,
            &row.platform_unlocked_by,
        ),
        (
            Party::Holder,
            row.holder_unlocked_at,
            &row.holder_unlocked_by,
        ),
    ] {
        if let (Some(at), Some(by)) = (at, by) {
            let actor: Actor =
                serde_json::from_value(by.clone()).map_err(|e| corrupt("unlock", id, e))?;
            unlocks.push(Unlock { party, actor, at });
        }
    }
    unlocks.sort_by_key(|unlock| (unlock.at, unlock.party));
    let ending = match &row.ended_by {
        Some(name) => Some(Ending {
            party: Party::from_name(name).ok_or_else(|| corrupt("ended_by", id, name))?,
            reason: row.end_reason.clone(),
        }),
        None => None,
    };
    Ok(Consent {
        id: uuid(id)?,
        request_id: row.request_id,
        terms: Terms {
            app_id: row.app_id,
            requester_name: row.requester_name,
            holder,
            custodian,
            certificate_types: strings(&row.certificate_types, "certificate_types", id)?,
            claims: strings(&row.claims, "claims", id)?,
            purpose: row.purpose,
            period: Period {
                start: row.starts_at,
                end: row.ends_at,
            },
            read_limit: row.read_limit,
        },
        state,
        read_count: row.read_count,
        unlocks,
        ending,
        signed_record: row.signed_record,
        version: row.version,
        created_at: row.created_at,
        updated_at: row.updated_at,
    })
}

/// A usage row; an allowed read keeps what it returned.
pub(super) fn usage_row(
    consent: &Consent,
    usage: &Usage,
    reads_remaining: i64,
    disclosed: Option<&[ConsentedCertificate]>,
) -> usage::Model {
    let allowed = usage.outcome == ReadOutcome::Allowed;
    usage::Model {
        id: usage.id.to_string(),
        consent_id: usage.consent_id.to_string(),
        custodian_division: consent.terms.custodian.division.as_str().to_string(),
        custodian_department: department(&consent.terms.custodian),
        app_id: usage.app_id.clone(),
        reader: serde_json::to_value(&usage.reader).unwrap_or(Value::Null),
        outcome: usage.outcome.as_str().to_string(),
        read_number: usage.read_number,
        reads_remaining,
        certificate_ids: json!(
            usage
                .certificate_ids
                .iter()
                .map(|id| id.to_string())
                .collect::<Vec<_>>()
        ),
        claims: json!(usage.claims),
        disclosed: disclosed.map(disclosed_json),
        request_id: usage.request_id.clone(),
        counted_request_id: allowed.then(|| usage.request_id.clone()),
        at: usage.at,
    }
}

pub(super) fn usage_from_row(row: &usage::Model) -> Result<Usage, CertificateError> {
    let id = &row.id;
    let outcome = ReadOutcome::from_name(&row.outcome)
        .ok_or_else(|| corrupt("usage outcome", id, &row.outcome))?;
    let reader: Actor =
        serde_json::from_value(row.reader.clone()).map_err(|e| corrupt("usage reader", id, e))?;
    let certificate_ids = strings(&row.certificate_ids, "usage certificate_ids", id)?
        .iter()
        .map(|id| uuid(id))
        .collect::<Result<_, _>>()?;
    Ok(Usage {
        id: uuid(id)?,
        consent_id: uuid(&row.consent_id)?,
        app_id: row.app_id.clone(),
        reader,
        outcome,
        read_number: row.read_number,
        certificate_ids,
        claims: strings(&row.claims, "usage claims", id)?,
        request_id: row.request_id.clone(),
        at: row.at,
    })
}

/// An allowed read as it was returned, from its usage row.
pub(super) fn disclosure_from_row(row: &usage::Model) -> Result<Disclosure, CertificateError> {
    let certificates = match &row.disclosed {
        Some(disclosed) => disclosed_from_json(disclosed)
            .ok_or_else(|| corrupt("disclosed data", &row.id, "not the stored shape"))?,
        None => Vec::new(),
    };
    Ok(Disclosure {
        certificates,
        usage: usage_from_row(row)?,
        reads_remaining: row.reads_remaining,
    })
}

fn disclosed_json(certificates: &[ConsentedCertificate]) -> Value {
    Value::Array(
        certificates
            .iter()
            .map(|c| {
                let claims: Vec<Value> = c
                    .claims
                    .iter()
                    .map(|claim| {
                        json!({
                            "name": claim.name,
                            "kind": claim.value.kind().as_str(),
                            "value": claim.value.to_text(),
                        })
                    })
                    .collect();
                json!({
                    "certificate_id": c.certificate_id.to_string(),
                    "certificate_type": c.certificate_type,
                    "issuer_id": c.issuer_id.to_string(),
                    "claims": claims,
                    "status": c.status.as_str(),
                    "valid_from": c.valid_from.timestamp_micros(),
                    "valid_until": c.valid_until.map(|at| at.timestamp_micros()),
                })
            })
            .collect(),
    )
}

fn disclosed_from_json(value: &Value) -> Option<Vec<ConsentedCertificate>> {
    value
        .as_array()?
        .iter()
        .map(|c| {
            let text = |key: &str| c.get(key).and_then(Value::as_str);
            let claims = c
                .get("claims")?
                .as_array()?
                .iter()
                .map(|claim| {
                    let name = claim.get("name")?.as_str()?;
                    let kind = ClaimKind::from_name(claim.get("kind")?.as_str()?)?;
                    let value =
                        ClaimValue::parse(kind, name, claim.get("value")?.as_str()?).ok()?;
                    Some(Claim {
                        name: name.to_string(),
                        value,
                    })
                })
                .collect::<Option<Vec<_>>>()?;
            let valid_until = match c.get("valid_until") {
                None | Some(Value::Null) => None,
                Some(micros) => Some(DateTime::from_timestamp_micros(micros.as_i64()?)?),
            };
            Some(ConsentedCertificate {
                certificate_id: Uuid::parse_str(text("certificate_id")?).ok()?,
                certificate_type: text("certificate_type")?.to_string(),
                issuer_id: Uuid::parse_str(text("issuer_id")?).ok()?,
                claims,
                status: CertificateStatus::from_name(text("status")?)?,
                valid_from: DateTime::from_timestamp_micros(c.get("valid_from")?.as_i64()?)?,
                valid_until,
            })
        })
        .collect()
}

fn strings(value: &Value, what: &str, id: &str) -> Result<Vec<String>, CertificateError> {
    serde_json::from_value(value.clone()).map_err(|e| corrupt(what, id, e))
}

fn uuid(text: &str) -> Result<Uuid, CertificateError> {
    Uuid::parse_str(text).map_err(|e| CertificateError::Storage(format!("bad id {text:?}: {e}")))
}
