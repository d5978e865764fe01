//! Contract ↔ domain conversions every part of the API shares: holders,
//! claims, statuses, certificates. Translation and shape checks only.

use zhongtai_contracts::certificate::v1 as pb;
use zhongtai_contracts::common::v1 as common;
use zhongtai_credential::{Claim, ClaimValue, Holder, IdDocumentType};
use zhongtai_kit::ApiError;
use zhongtai_kit::proto::timestamp;

use super::model::{CertificateRecord, CertificateStatus, StatusEntry};

const MAX_NAME_CHARS: usize = 200;
const MAX_ID_NUMBER_CHARS: usize = 64;

/// A holder from the contract, with its shape checked; `field` names it in
/// errors (e.g. "holder", "dependant").
pub fn holder_from_message(
    field: &str,
    holder: Option<&common::Holder>,
) -> Result<Holder, ApiError> {
    use common::holder::Holder as Which;
    match holder.and_then(|h| h.holder.as_ref()) {
        Some(Which::Person(person)) => {
            person_from_message(&format!("{field}.person"), Some(person))
        }
        Some(Which::Organization(org)) => {
            check_name(&format!("{field}.organization.name"), &org.name)?;
            let code = &org.unified_social_credit_code;
            if code.chars().count() != 18
                || !code
                    .chars()
                    .all(|c| c.is_ascii_digit() || c.is_ascii_uppercase())
            {
                return Err(ApiError::invalid_field(
                    format!("{field}.organization.unified_social_credit_code"),
                    "must be 18 digits or capital letters (GB 32100)",
                ));
            }
            Ok(Holder::Organization {
                name: org.name.clone(),
                unified_social_credit_code: code.clone(),
            })
        }
        None => Err(ApiError::invalid_field(
            field,
            "required: a person or an organization",
        )),
    }
}

/// A person from the contract, with its shape checked.
pub fn person_from_message(
    field: &str,
    person: Option<&common::Person>,
) -> Result<Holder, ApiError> {
    let Some(person) = person else {
        return Err(ApiError::invalid_field(field, "required"));
    };
    check_name(&format!("{field}.name"), &person.name)?;
    let id_type = match common::IdDocumentType::try_from(person.id_type) {
        Ok(common::IdDocumentType::ResidentIdCard) => IdDocumentType::ResidentIdCard,
        Ok(common::IdDocumentType::Passport) => IdDocumentType::Passport,
        Ok(common::IdDocumentType::MainlandTravelPermit) => IdDocumentType::MainlandTravelPermit,
        Ok(common::IdDocumentType::ForeignPermanentResidentCard) => {
            IdDocumentType::ForeignPermanentResidentCard
        }
        _ => {
            return Err(ApiError::invalid_field(
                format!("{field}.id_type"),
                "required: a known identity document type",
            ));
        }
    };
    let number = &person.id_number;
    let shape_ok = match id_type {
        IdDocumentType::ResidentIdCard => {
            number.len() == 18
                && number[..17].chars().all(|c| c.is_ascii_digit())
                && number[17..].chars().all(|c| c.is_ascii_digit() || c == 'X')
        }
        _ => {
            (1..=MAX_ID_NUMBER_CHARS).contains(&number.len())
                && number.chars().all(|c| c.is_ascii_alphanumeric())
        }
    };
    if !shape_ok {
        return Err(ApiError::invalid_field(
            format!("{field}.id_number"),
            "must be 18 characters (17 digits, then a digit or X) for a resident identity card, else 1..64 letters or digits",
        ));
    }
    Ok(Holder::Person {
        name: person.name.clone(),
        id_type,
        id_number: number.clone(),
    })
}

fn check_name(field: &str, name: &str) -> Result<(), ApiError> {
    let chars = name.trim().chars().count();
    if chars == 0 || chars > MAX_NAME_CHARS || name.chars().any(char::is_control) {
        return Err(ApiError::invalid_field(
            field,
            format!("required, 1..{MAX_NAME_CHARS} characters, no control characters"),
        ));
    }
    Ok(())
}

pub fn holder_message(holder: &Holder) -> common::Holder {
    use common::holder::Holder as Which;
    let which = match holder {
        Holder::Person {
            name,
            id_type,
            id_number,
        } => Which::Person(common::Person {
            name: name.clone(),
            id_type: id_type_message(*id_type) as i32,
            id_number: id_number.clone(),
        }),
        Holder::Organization {
            name,
            unified_social_credit_code,
        } => Which::Organization(common::Organization {
            name: name.clone(),
            unified_social_credit_code: unified_social_credit_code.clone(),
        }),
    };
    common::Holder {
        holder: Some(which),
    }
}

pub fn id_type_message(id_type: IdDocumentType) -> common::IdDocumentType {
    match id_type {
        IdDocumentType::ResidentIdCard => common::IdDocumentType::ResidentIdCard,
        IdDocumentType::Passport => common::IdDocumentType::Passport,
        IdDocumentType::MainlandTravelPermit => common::IdDocumentType::MainlandTravelPermit,
        IdDocumentType::ForeignPermanentResidentCard => {
            common::IdDocumentType::ForeignPermanentResidentCard
        }
    }
}

/// Claims from the contract: names and value cases only; whether they fit a
/// certificate type is the domain's check.
pub fn claims_from_messages(field: &str, claims: &[pb::Claim]) -> Result<Vec<Claim>, ApiError> {
    use pb::claim::Value;
    claims
        .iter()
        .enumerate()
        .map(|(i, claim)| {
            let value = match &claim.value {
                Some(Value::StringValue(v)) => ClaimValue::String(v.clone()),
                Some(Value::IntValue(v)) => ClaimValue::Integer(*v),
                Some(Value::BoolValue(v)) => ClaimValue::Boolean(*v),
                Some(Value::DateValue(v)) => ClaimValue::Date(v.clone()),
                Some(Value::DecimalValue(v)) => ClaimValue::Decimal(v.clone()),
                None => {
                    return Err(ApiError::invalid_field(
                        format!("{field}[{i}].value"),
                        "required",
                    ));
                }
            };
            Ok(Claim {
                name: claim.name.clone(),
                value,
            })
        })
        .collect()
}

pub fn claim_message(claim: &Claim) -> pb::Claim {
    use pb::claim::Value;
    let value = match &claim.value {
        ClaimValue::String(v) => Value::StringValue(v.clone()),
        ClaimValue::Integer(v) => Value::IntValue(*v),
        ClaimValue::Boolean(v) => Value::BoolValue(*v),
        ClaimValue::Date(v) => Value::DateValue(v.clone()),
        ClaimValue::Decimal(v) => Value::DecimalValue(v.clone()),
    };
    pb::Claim {
        name: claim.name.clone(),
        value: Some(value),
    }
}

pub fn status_message(status: CertificateStatus) -> pb::CertificateStatus {
    match status {
        CertificateStatus::Valid => pb::CertificateStatus::Valid,
        CertificateStatus::Suspended => pb::CertificateStatus::Suspended,
        CertificateStatus::Revoked => pb::CertificateStatus::Revoked,
        CertificateStatus::Expired => pb::CertificateStatus::Expired,
    }
}

pub fn status_entry_message(entry: &StatusEntry) -> pb::StatusListEntry {
    pb::StatusListEntry {
        status_list_id: entry.group.clone(),
        index: i64::try_from(entry.index).unwrap_or(i64::MAX),
    }
}

/// The contract form of a certificate, its status as of `now`.
pub fn certificate_message(
    record: &CertificateRecord,
    now: chrono::DateTime<chrono::Utc>,
) -> pb::Certificate {
    pb::Certificate {
        id: record.id.to_string(),
        serial_number: record.serial_number.clone(),
        certificate_type: record.certificate_type.clone(),
        issuer_id: record.issuer_id.to_string(),
        key_id: record.key_id.clone(),
        holder: Some(holder_message(&record.holder)),
        claims: record.claims.iter().map(claim_message).collect(),
        issue_time: Some(timestamp(record.issued_at)),
        valid_from_time: Some(timestamp(record.valid_from)),
        valid_until_time: record.valid_until.map(timestamp),
        status: status_message(record.status_at(now)) as i32,
        status_reason: record.status_reason.clone(),
        status_entry: Some(status_entry_message(&record.status_entry)),
        token: record.token.clone(),
        qr_payload: zhongtai_credential::qr_payload(&record.token),
        application_id: record
            .application_id
            .map(|id| id.to_string())
            .unwrap_or_default(),
        version: record.version,
        update_time: Some(timestamp(record.updated_at)),
    }
}
