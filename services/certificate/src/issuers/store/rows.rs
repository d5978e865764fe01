//! Rows ↔ domain values. Rows are written only from domain values; a row
//! that does not read back is corruption, reported as a storage failure
//! rather than a panic.

use std::collections::HashMap;

use sea_orm::{ColumnTrait, ConnectionTrait, QueryFilter, QueryOrder, QuerySelect};
use uuid::Uuid;
use zhongtai_credential::PublicKey;
use zhongtai_kit::TenantId;

use super::write::{platform_wide, storage};
use crate::issuers::domain::{Issuer, IssuerState, KeyRecord, KeyState, PlatformKeyRecord};
use crate::issuers::entities::{issuer, issuer_certificate_type, platform_key, signing_key};
use crate::shared::CertificateError;

/// Issuers with their certificate types and active keys.
pub(super) async fn hydrate<C: ConnectionTrait>(
    conn: &C,
    rows: Vec<issuer::Model>,
) -> Result<Vec<Issuer>, CertificateError> {
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<String> = rows.iter().map(|row| row.id.clone()).collect();
    let mut types: HashMap<String, Vec<String>> = HashMap::new();
    let type_rows: Vec<(String, String)> = platform_wide::<issuer_certificate_type::Entity>()
        .select_only()
        .column(issuer_certificate_type::Column::IssuerId)
        .column(issuer_certificate_type::Column::CertificateType)
        .filter(issuer_certificate_type::Column::IssuerId.is_in(ids.iter().map(String::as_str)))
        .order_by_asc(issuer_certificate_type::Column::IssuerId)
        .order_by_asc(issuer_certificate_type::Column::Position)
        .into_tuple()
        .all(conn)
        .await
        .map_err(storage)?;
    for (issuer_id, code) in type_rows {
        types.entry(issuer_id).or_default().push(code);
    }
    let active: HashMap<String, String> = platform_wide::<signing_key::Entity>()
        .select_only()
        .column(signing_key::Column::IssuerId)
        .column(signing_key::Column::KeyId)
        .filter(signing_key::Column::IssuerId.is_in(ids.iter().map(String::as_str)))
        .filter(signing_key::Column::State.eq(KeyState::Active.as_str()))
        .into_tuple::<(String, String)>()
        .all(conn)
        .await
        .map_err(storage)?
        .into_iter()
        .collect();
    rows.into_iter()
        .map(|row| {
            let certificate_types = types.remove(&row.id).unwrap_or_default();
            let active_key_id = active.get(&row.id).cloned();
            issuer_from_row(row, certificate_types, active_key_id)
        })
        .collect()
}

pub(super) fn issuer_from_row(
    row: issuer::Model,
    certificate_types: Vec<String>,
    active_key_id: Option<String>,
) -> Result<Issuer, CertificateError> {
    let corrupt = |what: &str| CertificateError::Storage(format!("issuer {}: bad {what}", row.id));
    Ok(Issuer {
        id: Uuid::parse_str(&row.id).map_err(|_| corrupt("id"))?,
        tenant: TenantId::parse(&row.tenant_division, &row.tenant_department)
            .map_err(|_| corrupt("tenant"))?,
        state: IssuerState::from_name(&row.state).ok_or_else(|| corrupt("state"))?,
        name: row.name,
        certificate_types,
        active_key_id,
        version: row.version,
        created_at: row.created_at,
        updated_at: row.updated_at,
    })
}

pub(super) fn issuer_to_row(issuer: &Issuer) -> issuer::Model {
    issuer::Model {
        id: issuer.id.to_string(),
        tenant_division: issuer.tenant.division.as_str().to_string(),
        tenant_department: issuer.tenant.department.clone().unwrap_or_default(),
        name: issuer.name.clone(),
        state: issuer.state.as_str().to_string(),
        version: issuer.version,
        created_at: issuer.created_at,
        updated_at: issuer.updated_at,
    }
}

pub(super) fn type_rows(issuer: &Issuer) -> Vec<issuer_certificate_type::ActiveModel> {
    (0..)
        .zip(&issuer.certificate_types)
        .map(|(position, code)| {
            sea_orm::IntoActiveModel::into_active_model(issuer_certificate_type::Model {
                issuer_id: issuer.id.to_string(),
                certificate_type: code.clone(),
                position,
            })
        })
        .collect()
}

pub(super) fn key_from_row(row: &signing_key::Model) -> Result<KeyRecord, CertificateError> {
    let corrupt =
        |what: &str| CertificateError::Storage(format!("signing key {}: bad {what}", row.key_id));
    Ok(KeyRecord {
        key_id: row.key_id.clone(),
        issuer_id: Uuid::parse_str(&row.issuer_id).map_err(|_| corrupt("issuer_id"))?,
        public_key: PublicKey::from_base64url(&row.public_key)
            .map_err(|_| corrupt("public_key"))?,
        state: KeyState::from_name(&row.state).ok_or_else(|| corrupt("state"))?,
        created_at: row.created_at,
        activated_at: row.activated_at,
        retired_at: row.retired_at,
        verify_until: row.verify_until,
        revoked_at: row.revoked_at,
        revoke_reason: row.revoke_reason.clone(),
    })
}

pub(super) fn key_to_row(
    key: &KeyRecord,
    sealed_private_key: &[u8],
    request_id: Option<&str>,
    replaces: Option<&str>,
) -> signing_key::Model {
    signing_key::Model {
        key_id: key.key_id.clone(),
        issuer_id: key.issuer_id.to_string(),
        algorithm: "ed25519".into(),
        public_key: key.public_key.to_base64url(),
        sealed_private_key: sealed_private_key.to_vec(),
        state: key.state.as_str().to_string(),
        created_at: key.created_at,
        activated_at: key.activated_at,
        retired_at: key.retired_at,
        verify_until: key.verify_until,
        revoked_at: key.revoked_at,
        revoke_reason: key.revoke_reason.clone(),
        request_id: request_id.map(str::to_string),
        replaces_key_id: replaces.map(str::to_string),
    }
}

pub(super) fn platform_key_from_row(
    row: &platform_key::Model,
) -> Result<PlatformKeyRecord, CertificateError> {
    Ok(PlatformKeyRecord {
        key_id: row.key_id.clone(),
        public_key: PublicKey::from_base64url(&row.public_key).map_err(|_| {
            CertificateError::Storage(format!("platform key {}: bad public_key", row.key_id))
        })?,
        created_at: row.created_at,
    })
}
