//! Contract messages ↔ domain values of the issuers part: translation and
//! shape checks only.

use chrono::{DateTime, Duration, Utc};
use zhongtai_contracts::certificate::v1 as pb;
use zhongtai_credential::ClaimKind;
use zhongtai_kit::proto::{tenant_message, timestamp};

use crate::issuers::domain::trust_list::freshness;
use crate::issuers::domain::{
    ClaimDraft, Issuer, IssuerState, KeyRecord, KeyState, TrustList, TypeDraft,
};
use crate::shared::{CertificateType, HolderKind};

pub fn issuer_message(issuer: &Issuer) -> pb::Issuer {
    pb::Issuer {
        id: issuer.id.to_string(),
        tenant: Some(tenant_message(&issuer.tenant)),
        name: issuer.name.clone(),
        certificate_types: issuer.certificate_types.clone(),
        state: issuer_state_message(issuer.state) as i32,
        active_key_id: issuer.active_key_id.clone().unwrap_or_default(),
        create_time: Some(timestamp(issuer.created_at)),
        update_time: Some(timestamp(issuer.updated_at)),
        version: issuer.version,
    }
}

pub fn issuer_state_message(state: IssuerState) -> pb::IssuerState {
    match state {
        IssuerState::Active => pb::IssuerState::Active,
        IssuerState::Suspended => pb::IssuerState::Suspended,
    }
}

pub fn issuer_state(state: pb::IssuerState) -> Option<IssuerState> {
    match state {
        pb::IssuerState::Unspecified => None,
        pb::IssuerState::Active => Some(IssuerState::Active),
        pb::IssuerState::Suspended => Some(IssuerState::Suspended),
    }
}

/// The public part of a key; a private key is never part of any message.
pub fn key_message(key: &KeyRecord) -> pb::SigningKey {
    pb::SigningKey {
        key_id: key.key_id.clone(),
        issuer_id: key.issuer_id.to_string(),
        algorithm: pb::SigningAlgorithm::Ed25519 as i32,
        public_key: key.public_key.0.to_vec(),
        state: match key.state {
            KeyState::Active => pb::SigningKeyState::Active,
            KeyState::Retired => pb::SigningKeyState::Retired,
            KeyState::Revoked => pb::SigningKeyState::Revoked,
        } as i32,
        create_time: Some(timestamp(key.created_at)),
        activate_time: Some(timestamp(key.activated_at)),
        retire_time: key.retired_at.map(timestamp),
        verify_until_time: key.verify_until.map(timestamp),
    }
}

/// The list as issued at `issued_at` (fresh for five minutes).
pub fn trust_list_message(list: &TrustList, issued_at: DateTime<Utc>) -> pb::TrustList {
    pb::TrustList {
        version: list.version,
        issue_time: Some(timestamp(issued_at)),
        next_update_time: Some(timestamp(issued_at + freshness())),
        issuers: list
            .issuers
            .iter()
            .map(|entry| pb::TrustedIssuer {
                issuer_id: entry.issuer.id.to_string(),
                name: entry.issuer.name.clone(),
                tenant: Some(tenant_message(&entry.issuer.tenant)),
                certificate_types: entry.issuer.certificate_types.clone(),
                keys: entry.keys.iter().map(key_message).collect(),
            })
            .collect(),
    }
}

pub fn certificate_type_message(t: &CertificateType) -> pb::CertificateType {
    pb::CertificateType {
        code: t.code.clone(),
        name: t.name.clone(),
        description: t.description.clone(),
        claims: t
            .claims
            .iter()
            .map(|c| pb::ClaimDefinition {
                name: c.name.clone(),
                title: c.title.clone(),
                r#type: claim_type_message(c.kind) as i32,
                required: c.required,
                include_in_code: c.include_in_code,
            })
            .collect(),
        holder_kind: match t.holder_kind {
            HolderKind::Person => pb::HolderKind::Person,
            HolderKind::Organization => pb::HolderKind::Organization,
            HolderKind::Any => pb::HolderKind::Any,
        } as i32,
        default_validity: t.default_validity.map(|d| prost_types::Duration {
            seconds: d.num_seconds(),
            nanos: 0,
        }),
        version: t.version,
        create_time: Some(timestamp(t.created_at)),
        update_time: Some(timestamp(t.updated_at)),
    }
}

fn claim_type_message(kind: ClaimKind) -> pb::ClaimType {
    match kind {
        ClaimKind::String => pb::ClaimType::String,
        ClaimKind::Integer => pb::ClaimType::Integer,
        ClaimKind::Boolean => pb::ClaimType::Boolean,
        ClaimKind::Date => pb::ClaimType::Date,
        ClaimKind::Decimal => pb::ClaimType::Decimal,
    }
}

fn claim_kind(claim_type: pb::ClaimType) -> Option<ClaimKind> {
    match claim_type {
        pb::ClaimType::Unspecified => None,
        pb::ClaimType::String => Some(ClaimKind::String),
        pb::ClaimType::Integer => Some(ClaimKind::Integer),
        pb::ClaimType::Boolean => Some(ClaimKind::Boolean),
        pb::ClaimType::Date => Some(ClaimKind::Date),
        pb::ClaimType::Decimal => Some(ClaimKind::Decimal),
    }
}

/// A type as the request states it; the domain checks the values.
pub fn type_draft(t: &pb::CertificateType) -> TypeDraft {
    TypeDraft {
        code: t.code.clone(),
        name: t.name.clone(),
        description: t.description.clone(),
        claims: t
            .claims
            .iter()
            .map(|c| ClaimDraft {
                name: c.name.clone(),
                title: c.title.clone(),
                // An unknown enum number reads as unspecified.
                kind: pb::ClaimType::try_from(c.r#type).ok().and_then(claim_kind),
                required: c.required,
                include_in_code: c.include_in_code,
            })
            .collect(),
        holder_kind: match pb::HolderKind::try_from(t.holder_kind) {
            Ok(pb::HolderKind::Person) => Some(HolderKind::Person),
            Ok(pb::HolderKind::Organization) => Some(HolderKind::Organization),
            Ok(pb::HolderKind::Any) => Some(HolderKind::Any),
            Ok(pb::HolderKind::Unspecified) | Err(_) => None,
        },
        default_validity: t.default_validity.as_ref().map(duration),
    }
}

/// A protobuf duration as whole seconds, rounded down; out-of-range values
/// saturate (and then fail the domain's limit).
fn duration(d: &prost_types::Duration) -> Duration {
    let seconds = d
        .seconds
        .saturating_add(i64::from(d.nanos) / 1_000_000_000)
        .clamp(-i64::MAX / 1000, i64::MAX / 1000);
    Duration::seconds(seconds)
}
