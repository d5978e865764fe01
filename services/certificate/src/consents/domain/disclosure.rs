//! What a consented read discloses: the holder's valid certificates of the
//! consent's types issued by its custodian, each with only the claims in
//! scope, never the signed token (which carries every claim).

use chrono::{DateTime, Utc};

use super::model::{Consent, ConsentedCertificate};
use crate::shared::{CertificateRecord, CertificateStatus};

/// The part of `certificates` the consent discloses at `now`.
pub fn disclose(
    consent: &Consent,
    certificates: &[CertificateRecord],
    now: DateTime<Utc>,
) -> Vec<ConsentedCertificate> {
    let terms = &consent.terms;
    let holder_key = consent.holder_key();
    certificates
        .iter()
        .filter(|record| {
            record.issuer_tenant == terms.custodian
                && terms.certificate_types.contains(&record.certificate_type)
                && record.holder.key() == holder_key
                && record.status_at(now) == CertificateStatus::Valid
                && record.valid_from <= now
        })
        .map(|record| ConsentedCertificate {
            certificate_id: record.id,
            certificate_type: record.certificate_type.clone(),
            issuer_id: record.issuer_id,
            claims: record
                .claims
                .iter()
                .filter(|claim| terms.claims.is_empty() || terms.claims.contains(&claim.name))
                .cloned()
                .collect(),
            status: CertificateStatus::Valid,
            valid_from: record.valid_from,
            valid_until: record.valid_until,
        })
        .collect()
}

/// The claim names a disclosure returns, each once, in order of appearance.
pub fn claim_names(certificates: &[ConsentedCertificate]) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for claim in certificates.iter().flat_map(|c| &c.claims) {
        if !names.contains(&claim.name) {
            names.push(claim.name.clone());
        }
    }
    names
}
