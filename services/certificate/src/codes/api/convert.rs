//! Codes, dependants, venues and scans ↔ contract messages.

use zhongtai_contracts::certificate::v1 as pb;
use zhongtai_contracts::common::v1 as common;
use zhongtai_credential::{CodeKind, Holder, HolderStatus, QrImageFormat};
use zhongtai_kit::proto::{actor_message, tenant_message, timestamp};

use crate::codes::domain::model::{
    CodeOutcome, DependantLink, DependantState, MintedCode, QrImage, Relationship, ScanRecord,
    Venue,
};
use crate::shared::CertificateError;
use crate::shared::convert::{claim_message, holder_message, id_type_message};

pub fn code_message(code: &MintedCode) -> pb::PresentationCode {
    pb::PresentationCode {
        id: code.id.clone(),
        kind: kind_message(code.kind) as i32,
        holder: Some(holder_message(&code.holder)),
        holder_status: holder_status_message(code.status) as i32,
        claims: code.claims.iter().map(claim_message).collect(),
        issue_time: Some(timestamp(code.issued_at)),
        expire_time: Some(timestamp(code.expires_at)),
        token: code.token.clone(),
        qr_payload: code.qr_payload.clone(),
        qr_image: code.image.as_ref().map(image_message),
        key_id: code.key_id.clone(),
        dependant_id: code
            .dependant_id
            .map(|id| id.to_string())
            .unwrap_or_default(),
    }
}

fn image_message(image: &QrImage) -> pb::QrImage {
    pb::QrImage {
        format: match image.format {
            QrImageFormat::Png => pb::QrImageFormat::Png,
            QrImageFormat::Svg => pb::QrImageFormat::Svg,
        } as i32,
        data: image.data.clone(),
        size: i32::try_from(image.size).unwrap_or(i32::MAX),
    }
}

/// An image format of a request; `None` for unspecified.
pub fn qr_format(field: &str, value: i32) -> Result<Option<QrImageFormat>, CertificateError> {
    match pb::QrImageFormat::try_from(value) {
        Ok(pb::QrImageFormat::Unspecified) => Ok(None),
        Ok(pb::QrImageFormat::Png) => Ok(Some(QrImageFormat::Png)),
        Ok(pb::QrImageFormat::Svg) => Ok(Some(QrImageFormat::Svg)),
        Err(_) => Err(CertificateError::invalid(field, "unknown image format")),
    }
}

pub fn kind_message(kind: CodeKind) -> pb::CodeKind {
    match kind {
        CodeKind::Personal => pb::CodeKind::Personal,
        CodeKind::Family => pb::CodeKind::Family,
        CodeKind::Offline => pb::CodeKind::Offline,
    }
}

pub fn holder_status_message(status: HolderStatus) -> pb::HolderStatus {
    match status {
        HolderStatus::Normal => pb::HolderStatus::Normal,
        HolderStatus::Attention => pb::HolderStatus::Attention,
        HolderStatus::Restricted => pb::HolderStatus::Restricted,
    }
}

pub fn outcome_message(outcome: CodeOutcome) -> pb::VerificationOutcome {
    use pb::VerificationOutcome as O;
    match outcome {
        CodeOutcome::Valid => O::Valid,
        CodeOutcome::SignatureInvalid => O::SignatureInvalid,
        CodeOutcome::UntrustedKey => O::UntrustedKey,
        CodeOutcome::Expired => O::Expired,
        CodeOutcome::NotYetValid => O::NotYetValid,
        CodeOutcome::IssuerNotAuthorized => O::IssuerNotAuthorized,
        CodeOutcome::Revoked => O::Revoked,
        CodeOutcome::Unreadable => O::Unspecified,
    }
}

pub fn relationship(value: i32) -> Option<Relationship> {
    match pb::Relationship::try_from(value) {
        Ok(pb::Relationship::Parent) => Some(Relationship::Parent),
        Ok(pb::Relationship::LegalGuardian) => Some(Relationship::LegalGuardian),
        Ok(pb::Relationship::Child) => Some(Relationship::Child),
        Ok(pb::Relationship::Spouse) => Some(Relationship::Spouse),
        _ => None,
    }
}

fn relationship_message(relationship: Relationship) -> pb::Relationship {
    match relationship {
        Relationship::Parent => pb::Relationship::Parent,
        Relationship::LegalGuardian => pb::Relationship::LegalGuardian,
        Relationship::Child => pb::Relationship::Child,
        Relationship::Spouse => pb::Relationship::Spouse,
    }
}

fn person_message(holder: &Holder) -> Option<common::Person> {
    match holder {
        Holder::Person {
            name,
            id_type,
            id_number,
        } => Some(common::Person {
            name: name.clone(),
            id_type: id_type_message(*id_type) as i32,
            id_number: id_number.clone(),
        }),
        Holder::Organization { .. } => None,
    }
}

pub fn dependant_message(link: &DependantLink) -> pb::Dependant {
    pb::Dependant {
        id: link.id.to_string(),
        guardian: person_message(&link.guardian),
        dependant: person_message(&link.dependant),
        relationship: relationship_message(link.relationship) as i32,
        evidence_certificate_id: link.evidence_certificate_id.to_string(),
        state: match link.state {
            DependantState::Active => pb::DependantState::Active,
            DependantState::Removed => pb::DependantState::Removed,
        } as i32,
        create_time: Some(timestamp(link.created_at)),
        update_time: Some(timestamp(link.updated_at)),
    }
}

pub fn venue_message(venue: &Venue) -> pb::Venue {
    pb::Venue {
        id: venue.id.to_string(),
        tenant: Some(tenant_message(&venue.tenant)),
        name: venue.name.clone(),
        address: venue.address.clone(),
        division_code: venue.division.to_string(),
        create_time: Some(timestamp(venue.created_at)),
    }
}

/// Holders show as the code showed them: masked.
pub fn scan_message(scan: &ScanRecord) -> pb::ScanRecord {
    pb::ScanRecord {
        scan_id: scan.scan_id.to_string(),
        venue_id: scan.venue_id.to_string(),
        code_id: scan.code_id.clone(),
        code_kind: scan
            .code_kind
            .map_or(pb::CodeKind::Unspecified, kind_message) as i32,
        holder: scan.holder.as_ref().map(|h| holder_message(&h.masked())),
        outcome: outcome_message(scan.outcome) as i32,
        holder_status: scan
            .holder_status
            .map_or(pb::HolderStatus::Unspecified, holder_status_message)
            as i32,
        scan_time: Some(timestamp(scan.scan_time)),
        record_time: Some(timestamp(scan.record_time)),
        device_id: scan.device_id.clone(),
        scanned_by: Some(actor_message(&scan.scanned_by)),
    }
}
