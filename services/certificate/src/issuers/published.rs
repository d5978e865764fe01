//! The events the issuers part publishes, built from domain values.
//! Tenant: the issuer's own for issuer and key events, the platform's
//! (empty: platform-wide) for types and the trust list.

use prost_types::FieldMask;
use zhongtai_contracts::events::v1 as events;
use zhongtai_events::Event;
use zhongtai_kit::Actor;
use zhongtai_kit::proto::actor_message;

use super::api::convert::{
    certificate_type_message, issuer_message, key_message, trust_list_message,
};
use super::domain::{Issuer, IssuerChange, KeyRecord, TrustList, TypeChange};
use crate::shared::CertificateType;

/// Platform-wide events belong to no tenant.
const PLATFORM_WIDE: &str = "";

/// `certificate.certificate_type.created`
pub fn certificate_type_created(certificate_type: &CertificateType, actor: &Actor) -> Event {
    Event::new(
        "certificate.certificate_type.created",
        PLATFORM_WIDE,
        certificate_type.code.clone(),
        &events::CertificateTypeCreated {
            certificate_type: Some(certificate_type_message(certificate_type)),
            actor: Some(actor_message(actor)),
        },
    )
}

/// `certificate.certificate_type.updated`
pub fn certificate_type_updated(change: &TypeChange) -> Event {
    Event::new(
        "certificate.certificate_type.updated",
        PLATFORM_WIDE,
        change.certificate_type.code.clone(),
        &events::CertificateTypeUpdated {
            certificate_type: Some(certificate_type_message(&change.certificate_type)),
            changed_fields: Some(FieldMask {
                paths: change.changed_fields.clone(),
            }),
            actor: Some(actor_message(&change.actor)),
        },
    )
}

/// `certificate.issuer.created`
pub fn issuer_created(issuer: &Issuer, key: &KeyRecord, actor: &Actor, version: i64) -> Event {
    Event::new(
        "certificate.issuer.created",
        issuer.tenant.key(),
        issuer.id.to_string(),
        &events::IssuerCreated {
            issuer: Some(issuer_message(issuer)),
            key: Some(key_message(key)),
            actor: Some(actor_message(actor)),
            trust_list_version: version,
        },
    )
}

/// `certificate.issuer.updated`
pub fn issuer_updated(change: &IssuerChange) -> Event {
    Event::new(
        "certificate.issuer.updated",
        change.issuer.tenant.key(),
        change.issuer.id.to_string(),
        &events::IssuerUpdated {
            issuer: Some(issuer_message(&change.issuer)),
            changed_fields: Some(FieldMask {
                paths: change.changed_fields.clone(),
            }),
            actor: Some(actor_message(&change.actor)),
        },
    )
}

/// `certificate.signing_key.rotated`
pub fn signing_key_rotated(
    issuer: &Issuer,
    new_key: &KeyRecord,
    retired: &KeyRecord,
    version: i64,
    actor: &Actor,
) -> Event {
    Event::new(
        "certificate.signing_key.rotated",
        issuer.tenant.key(),
        issuer.id.to_string(),
        &events::SigningKeyRotated {
            new_key: Some(key_message(new_key)),
            retired_key: Some(key_message(retired)),
            trust_list_version: version,
            actor: Some(actor_message(actor)),
        },
    )
}

/// `certificate.signing_key.revoked`
pub fn signing_key_revoked(
    issuer: &Issuer,
    key: &KeyRecord,
    replacement: Option<&KeyRecord>,
    reason: &str,
    version: i64,
    actor: &Actor,
) -> Event {
    Event::new(
        "certificate.signing_key.revoked",
        issuer.tenant.key(),
        issuer.id.to_string(),
        &events::SigningKeyRevoked {
            key: Some(key_message(key)),
            replacement_key: replacement.map(key_message),
            reason: reason.to_string(),
            trust_list_version: version,
            actor: Some(actor_message(actor)),
        },
    )
}

/// `certificate.trust_list.published`
pub fn trust_list_published(list: &TrustList) -> Event {
    let issued_at = list.published_at;
    Event::new(
        "certificate.trust_list.published",
        PLATFORM_WIDE,
        list.version.to_string(),
        &events::TrustListPublished {
            trust_list: Some(trust_list_message(list, issued_at)),
        },
    )
}
