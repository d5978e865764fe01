use chrono::Duration;
use zhongtai_credential::{Claim, ClaimValue};

use super::*;
use crate::consents::domain::disclosure::{claim_names, disclose};
use crate::shared::{CertificateRecord, CertificateStatus, StatusEntry};

fn certificate(kind: &str, issuer: &str, claims: &[(&str, &str)]) -> CertificateRecord {
    CertificateRecord {
        id: Uuid::new_v4(),
        serial_number: "1".into(),
        certificate_type: kind.into(),
        issuer_id: Uuid::nil(),
        issuer_tenant: tenant(issuer),
        key_id: "k".into(),
        holder: nanny(),
        claims: claims
            .iter()
            .map(|(name, value)| Claim {
                name: (*name).into(),
                value: ClaimValue::String((*value).into()),
            })
            .collect(),
        issued_at: t0() - Duration::days(100),
        valid_from: t0() - Duration::days(100),
        valid_until: Some(t0() + Duration::days(300)),
        status: CertificateStatus::Valid,
        status_reason: String::new(),
        status_entry: StatusEntry {
            group: "g".into(),
            index: 1,
        },
        token: "header.payload.signature".into(),
        application_id: None,
        version: 1,
        updated_at: t0(),
    }
}

#[test]
fn only_valid_certificates_of_the_types_from_the_custodian_with_the_claims_in_scope() {
    let consent = active();
    let qualification = certificate(
        "qualification-certificate",
        CUSTODIAN,
        &[("qualification", "育婴员"), ("level", "高级")],
    );
    let health = certificate(
        "health-certificate",
        CUSTODIAN,
        &[("occupation", "家政服务"), ("examined_on", "2026-11-20")],
    );
    let from_elsewhere = certificate(
        "health-certificate",
        "331100/health",
        &[("occupation", "x")],
    );
    let other_type = certificate("driving-licence", CUSTODIAN, &[("class", "C1")]);
    let mut revoked = certificate("health-certificate", CUSTODIAN, &[("occupation", "x")]);
    revoked.status = CertificateStatus::Revoked;
    let mut suspended = revoked.clone();
    suspended.status = CertificateStatus::Suspended;
    let mut expired = certificate("health-certificate", CUSTODIAN, &[("occupation", "x")]);
    expired.valid_until = Some(t0() - Duration::days(1));
    let mut someone_else = certificate("health-certificate", CUSTODIAN, &[("occupation", "x")]);
    someone_else.holder = Holder::Person {
        name: "x".into(),
        id_type: IdDocumentType::ResidentIdCard,
        id_number: "331102199202023456".into(),
    };
    let records = vec![
        qualification.clone(),
        health.clone(),
        from_elsewhere,
        other_type,
        revoked,
        suspended,
        expired,
        someone_else,
    ];
    let disclosed = disclose(&consent, &records, t0());
    let ids: Vec<Uuid> = disclosed.iter().map(|c| c.certificate_id).collect();
    assert_eq!(ids, vec![qualification.id, health.id]);
    let names = claim_names(&disclosed);
    assert_eq!(
        names,
        vec!["qualification".to_string(), "occupation".to_string()]
    );
    assert!(
        disclosed
            .iter()
            .all(|c| c.status == CertificateStatus::Valid)
    );
}

#[test]
fn an_empty_claim_scope_discloses_every_claim() {
    let mut consent = active();
    consent.terms.claims.clear();
    let qualification = certificate(
        "qualification-certificate",
        CUSTODIAN,
        &[("qualification", "育婴员"), ("level", "高级")],
    );
    let disclosed = disclose(&consent, &[qualification], t0());
    assert_eq!(
        claim_names(&disclosed),
        vec!["qualification".to_string(), "level".to_string()]
    );
}
