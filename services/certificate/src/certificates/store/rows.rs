//! Certificates ↔ rows.

use serde_json::{Value, json};
use uuid::Uuid;
use zhongtai_credential::{Claim, ClaimKind, ClaimValue, Holder};
use zhongtai_kit::TenantId;

use super::entities::certificate;
use crate::shared::{CertificateError, CertificateRecord, CertificateStatus, StatusEntry};

pub fn storage(cause: impl std::fmt::Display + 'static) -> CertificateError {
    CertificateError::storage(cause)
}

pub fn certificate_row(
    record: &CertificateRecord,
    request_id: &str,
) -> Result<certificate::Model, CertificateError> {
    Ok(certificate::Model {
        id: record.id.to_string(),
        serial_number: record.serial_number.clone(),
        certificate_type: record.certificate_type.clone(),
        issuer_id: record.issuer_id.to_string(),
        tenant_division: record.issuer_tenant.division.to_string(),
        tenant_department: record.issuer_tenant.department.clone().unwrap_or_default(),
        key_id: record.key_id.clone(),
        holder_key: record.holder.key(),
        holder: serde_json::to_value(&record.holder).map_err(storage)?,
        claims: claims_json(&record.claims),
        issued_at: record.issued_at,
        valid_from: record.valid_from,
        valid_until: record.valid_until,
        status: record.status.as_str().to_string(),
        status_reason: record.status_reason.clone(),
        status_group: record.status_entry.group.clone(),
        status_index: i64::try_from(record.status_entry.index).map_err(storage)?,
        token: record.token.clone(),
        application_id: record.application_id.map(|id| id.to_string()),
        request_id: request_id.to_string(),
        version: record.version,
        updated_at: record.updated_at,
    })
}

pub fn certificate_from_row(
    row: certificate::Model,
) -> Result<CertificateRecord, CertificateError> {
    let corrupt = |what: &str| storage(format!("certificate {}: stored {what} unreadable", row.id));
    let id = Uuid::parse_str(&row.id).map_err(|_| corrupt("id"))?;
    let issuer_id = Uuid::parse_str(&row.issuer_id).map_err(|_| corrupt("issuer id"))?;
    let issuer_tenant = TenantId::parse(&row.tenant_division, &row.tenant_department)
        .map_err(|_| corrupt("tenant"))?;
    let holder: Holder =
        serde_json::from_value(row.holder.clone()).map_err(|_| corrupt("holder"))?;
    let claims = claims_from_json(&row.claims).ok_or_else(|| corrupt("claims"))?;
    let status = CertificateStatus::from_name(&row.status).ok_or_else(|| corrupt("status"))?;
    let index = u64::try_from(row.status_index).map_err(|_| corrupt("status index"))?;
    let application_id = row
        .application_id
        .as_deref()
        .map(Uuid::parse_str)
        .transpose()
        .map_err(|_| corrupt("application id"))?;
    Ok(CertificateRecord {
        id,
        serial_number: row.serial_number,
        certificate_type: row.certificate_type,
        issuer_id,
        issuer_tenant,
        key_id: row.key_id,
        holder,
        claims,
        issued_at: row.issued_at,
        valid_from: row.valid_from,
        valid_until: row.valid_until,
        status,
        status_reason: row.status_reason,
        status_entry: StatusEntry {
            group: row.status_group,
            index,
        },
        token: row.token,
        application_id,
        version: row.version,
        updated_at: row.updated_at,
    })
}

/// Claims keep their kind beside their value, so a record reads back
/// without its certificate type.
fn claims_json(claims: &[Claim]) -> Value {
    Value::Array(
        claims
            .iter()
            .map(|claim| {
                json!({
                    "name": claim.name,
                    "kind": claim.value.kind().as_str(),
                    "value": claim.value.to_text(),
                })
            })
            .collect(),
    )
}

fn claims_from_json(value: &Value) -> Option<Vec<Claim>> {
    value
        .as_array()?
        .iter()
        .map(|claim| {
            let name = claim.get("name")?.as_str()?;
            let kind = ClaimKind::from_name(claim.get("kind")?.as_str()?)?;
            let text = claim.get("value")?.as_str()?;
            let value = ClaimValue::parse(kind, name, text).ok()?;
            Some(Claim {
                name: name.to_string(),
                value,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn claims_round_trip_with_their_kinds() {
        let claims = vec![
            Claim {
                name: "established_on".into(),
                value: ClaimValue::Date("2026-05-01".into()),
            },
            Claim {
                name: "employees".into(),
                value: ClaimValue::Integer(-3),
            },
            Claim {
                name: "note".into(),
                value: ClaimValue::String("2026-05-01".into()),
            },
        ];
        assert_eq!(claims_from_json(&claims_json(&claims)), Some(claims));
        assert_eq!(claims_from_json(&json!([{"name": "x"}])), None);
    }
}
