//! What a code says about its holder, derived from the holder's
//! certificates at the moment it is signed.
//!
//! The holder status rule (the code's colour):
//! - **RESTRICTED** (red) when any certificate of the holder is revoked
//!   but would otherwise still be valid (not past its validity): something
//!   the holder relied on was withdrawn;
//! - else **ATTENTION** (yellow) when any is suspended (and not expired);
//! - else **NORMAL** (green). Expired certificates count for nothing.
//!
//! The code carries the claims its certificates' types mark
//! `include_in_code`, from certificates in force only (valid, started, not
//! expired); of two claims of the same name the newer certificate's wins.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use zhongtai_credential::{Claim, Holder, HolderStatus, IdDocumentType};

use crate::shared::{CertificateRecord, CertificateStatus, CertificateType};

/// Claims a code carries at most: codes must stay small enough to scan.
pub const MAX_CODE_CLAIMS: usize = 16;

/// The holder status of the holder of `certificates` at `now`.
pub fn holder_status(certificates: &[CertificateRecord], now: DateTime<Utc>) -> HolderStatus {
    let still_valid_but_revoked = |c: &CertificateRecord| {
        c.status == CertificateStatus::Revoked && c.valid_until.is_none_or(|until| until > now)
    };
    if certificates.iter().any(still_valid_but_revoked) {
        HolderStatus::Restricted
    } else if certificates
        .iter()
        .any(|c| c.status_at(now) == CertificateStatus::Suspended)
    {
        HolderStatus::Attention
    } else {
        HolderStatus::Normal
    }
}

/// Whether `certificate` is in force at `now`: valid, started, not expired.
pub fn in_force(certificate: &CertificateRecord, now: DateTime<Utc>) -> bool {
    certificate.status_at(now) == CertificateStatus::Valid && certificate.valid_from <= now
}

/// The claims a code carries, from `certificates` newest first and their
/// `types` by code.
pub fn code_claims(
    certificates: &[CertificateRecord],
    types: &HashMap<String, CertificateType>,
    now: DateTime<Utc>,
) -> Vec<Claim> {
    let mut claims: Vec<Claim> = Vec::new();
    for certificate in certificates.iter().filter(|c| in_force(c, now)) {
        let Some(certificate_type) = types.get(&certificate.certificate_type) else {
            continue;
        };
        for claim in &certificate.claims {
            let shown = certificate_type
                .claim(&claim.name)
                .is_some_and(|definition| definition.include_in_code);
            if shown && !claims.iter().any(|c| c.name == claim.name) {
                if claims.len() == MAX_CODE_CLAIMS {
                    return claims;
                }
                claims.push(claim.clone());
            }
        }
    }
    claims
}

/// The distinct types of the certificates in force, whose definitions
/// [`code_claims`] needs.
pub fn types_in_force(certificates: &[CertificateRecord], now: DateTime<Utc>) -> Vec<String> {
    let mut codes: Vec<String> = Vec::new();
    for certificate in certificates.iter().filter(|c| in_force(c, now)) {
        if !codes.contains(&certificate.certificate_type) {
            codes.push(certificate.certificate_type.clone());
        }
    }
    codes
}

/// The person a holder key `person:<id-type>:<id-number>` names, under
/// `name`; `None` for other keys.
pub fn person_of_key(key: &str, name: &str) -> Option<Holder> {
    let mut parts = key.splitn(3, ':');
    if parts.next() != Some("person") {
        return None;
    }
    let id_type = IdDocumentType::from_name(parts.next()?)?;
    let id_number = parts.next().filter(|n| !n.is_empty())?;
    Some(Holder::Person {
        name: name.to_string(),
        id_type,
        id_number: id_number.to_string(),
    })
}

/// The identity number of a person, or the credit code of an
/// organisation.
pub fn identifier(holder: &Holder) -> &str {
    match holder {
        Holder::Person { id_number, .. } => id_number,
        Holder::Organization {
            unified_social_credit_code,
            ..
        } => unified_social_credit_code,
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use chrono::Duration;
    use uuid::Uuid;
    use zhongtai_credential::{ClaimKind, ClaimValue};
    use zhongtai_kit::TenantId;

    use super::*;
    use crate::shared::{ClaimDefinition, HolderKind, StatusEntry};

    pub fn person(number: &str) -> Holder {
        Holder::Person {
            name: "张三".into(),
            id_type: IdDocumentType::ResidentIdCard,
            id_number: number.into(),
        }
    }

    pub fn certificate(
        certificate_type: &str,
        status: CertificateStatus,
        valid_until: Option<DateTime<Utc>>,
        claims: &[(&str, &str)],
    ) -> CertificateRecord {
        let now = Utc::now();
        CertificateRecord {
            id: Uuid::new_v4(),
            serial_number: "1".into(),
            certificate_type: certificate_type.into(),
            issuer_id: Uuid::nil(),
            issuer_tenant: TenantId::parse("331100", "health").unwrap_or_else(|_| unreachable!()),
            key_id: "k".into(),
            holder: person("33110019900101123X"),
            claims: claims
                .iter()
                .map(|(name, value)| Claim {
                    name: (*name).into(),
                    value: ClaimValue::String((*value).into()),
                })
                .collect(),
            issued_at: now - Duration::days(1),
            valid_from: now - Duration::days(1),
            valid_until,
            status,
            status_reason: String::new(),
            status_entry: StatusEntry {
                group: "g".into(),
                index: 0,
            },
            token: String::new(),
            application_id: None,
            version: 1,
            updated_at: now,
        }
    }

    pub fn certificate_type(code: &str, in_code: &[&str], hidden: &[&str]) -> CertificateType {
        let definition = |name: &str, include_in_code| ClaimDefinition {
            name: name.into(),
            title: name.into(),
            kind: ClaimKind::String,
            required: false,
            include_in_code,
        };
        CertificateType {
            code: code.into(),
            name: code.into(),
            description: String::new(),
            claims: in_code
                .iter()
                .map(|n| definition(n, true))
                .chain(hidden.iter().map(|n| definition(n, false)))
                .collect(),
            holder_kind: HolderKind::Person,
            default_validity: None,
            version: 1,
            created_at: Utc::now(),
            updated_at: Utc::now(),
        }
    }

    #[test]
    fn revoked_but_unexpired_is_restricted_and_outranks_suspended() {
        let now = Utc::now();
        let valid = certificate("health-certificate", CertificateStatus::Valid, None, &[]);
        let suspended = certificate("qualification", CertificateStatus::Suspended, None, &[]);
        let revoked = certificate(
            "health-certificate",
            CertificateStatus::Revoked,
            Some(now + Duration::days(30)),
            &[],
        );
        assert_eq!(
            holder_status(std::slice::from_ref(&valid), now),
            HolderStatus::Normal
        );
        assert_eq!(
            holder_status(&[valid.clone(), suspended.clone()], now),
            HolderStatus::Attention
        );
        assert_eq!(
            holder_status(&[valid, suspended, revoked], now),
            HolderStatus::Restricted
        );
        assert_eq!(holder_status(&[], now), HolderStatus::Normal);
    }

    #[test]
    fn expired_certificates_count_for_nothing() {
        let now = Utc::now();
        let past = Some(now - Duration::seconds(1));
        let revoked_long_ago = certificate("a", CertificateStatus::Revoked, past, &[]);
        let suspended_expired = certificate("b", CertificateStatus::Suspended, past, &[]);
        assert_eq!(
            holder_status(&[revoked_long_ago, suspended_expired], now),
            HolderStatus::Normal
        );
    }

    #[test]
    fn codes_carry_marked_claims_of_certificates_in_force_newest_first() {
        let now = Utc::now();
        let types = HashMap::from([
            (
                "health-certificate".to_string(),
                certificate_type("health-certificate", &["occupation"], &["examined_on"]),
            ),
            (
                "qualification".to_string(),
                certificate_type("qualification", &["occupation", "level"], &[]),
            ),
        ]);
        let newest = certificate(
            "health-certificate",
            CertificateStatus::Valid,
            None,
            &[("occupation", "育婴员"), ("examined_on", "2026-01-01")],
        );
        let older = certificate(
            "qualification",
            CertificateStatus::Valid,
            None,
            &[("occupation", "保姆"), ("level", "高级")],
        );
        let suspended = certificate(
            "qualification",
            CertificateStatus::Suspended,
            None,
            &[("level", "特级")],
        );
        let claims = code_claims(&[newest, suspended, older], &types, now);
        let shown: Vec<(&str, String)> = claims
            .iter()
            .map(|c| (c.name.as_str(), c.value.to_text()))
            .collect();
        assert_eq!(
            shown,
            vec![
                ("occupation", "育婴员".to_string()),
                ("level", "高级".to_string())
            ]
        );
    }

    #[test]
    fn holder_keys_name_persons_only() {
        assert_eq!(
            person_of_key("person:resident-id-card:33110019900101123X", "张三"),
            Some(person("33110019900101123X"))
        );
        for key in [
            "org:91331121MA2E0ABC1X",
            "person:library-card:1",
            "person:passport:",
            "",
        ] {
            assert_eq!(person_of_key(key, "x"), None, "{key}");
        }
    }
}
