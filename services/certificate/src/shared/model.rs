//! The records every part of the center shares: certificate types and
//! certificates as the domain sees them. Holders and claim values come from
//! `zhongtai-credential`, so tokens and records speak the same language.

use chrono::{DateTime, Duration, Utc};
use uuid::Uuid;
use zhongtai_credential::{Claim, ClaimKind, Holder};
use zhongtai_kit::TenantId;

/// Kinds of holder a certificate type is issued to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HolderKind {
    Person,
    Organization,
    Any,
}

impl HolderKind {
    pub const ALL: [Self; 3] = [Self::Person, Self::Organization, Self::Any];

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Person => "person",
            Self::Organization => "organization",
            Self::Any => "any",
        }
    }

    /// Inverse of [`HolderKind::as_str`].
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| kind.as_str() == name)
    }

    pub fn admits(self, holder: &Holder) -> bool {
        matches!(
            (self, holder),
            (Self::Any, _)
                | (Self::Person, Holder::Person { .. })
                | (Self::Organization, Holder::Organization { .. })
        )
    }
}

/// One claim of a certificate type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimDefinition {
    /// snake_case; the JSON key in tokens.
    pub name: String,
    pub title: String,
    pub kind: ClaimKind,
    pub required: bool,
    /// Presentation codes carry it.
    pub include_in_code: bool,
}

/// A certificate type (证照类型).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificateType {
    /// e.g. `business-licence`.
    pub code: String,
    pub name: String,
    pub description: String,
    pub claims: Vec<ClaimDefinition>,
    pub holder_kind: HolderKind,
    /// `None`: certificates of the type do not expire unless asked to.
    pub default_validity: Option<Duration>,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl CertificateType {
    pub fn claim(&self, name: &str) -> Option<&ClaimDefinition> {
        self.claims.iter().find(|claim| claim.name == name)
    }
}

/// Status of a certificate as stored (expiry is computed, see
/// [`CertificateRecord::status_at`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CertificateStatus {
    Valid,
    Suspended,
    /// Final.
    Revoked,
    /// Past `valid_until`; never stored, only computed.
    Expired,
}

impl CertificateStatus {
    pub const ALL: [Self; 4] = [Self::Valid, Self::Suspended, Self::Revoked, Self::Expired];

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Valid => "valid",
            Self::Suspended => "suspended",
            Self::Revoked => "revoked",
            Self::Expired => "expired",
        }
    }

    /// Inverse of [`CertificateStatus::as_str`].
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|status| status.as_str() == name)
    }
}

/// Where a certificate's revocation and suspension bits live: the same
/// index in the two lists of one status-list group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusEntry {
    /// Group id; its lists are `<group>-revocation` and `<group>-suspension`.
    pub group: String,
    pub index: u64,
}

impl StatusEntry {
    pub fn revocation_list_id(&self) -> String {
        format!("{}-revocation", self.group)
    }

    pub fn suspension_list_id(&self) -> String {
        format!("{}-suspension", self.group)
    }
}

/// An issued certificate (电子证照).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificateRecord {
    pub id: Uuid,
    pub serial_number: String,
    pub certificate_type: String,
    pub issuer_id: Uuid,
    /// The issuing department (the issuer's tenant): the certificate's
    /// custodian.
    pub issuer_tenant: TenantId,
    pub key_id: String,
    pub holder: Holder,
    pub claims: Vec<Claim>,
    pub issued_at: DateTime<Utc>,
    pub valid_from: DateTime<Utc>,
    pub valid_until: Option<DateTime<Utc>>,
    /// As stored: `Valid`, `Suspended` or `Revoked`.
    pub status: CertificateStatus,
    pub status_reason: String,
    pub status_entry: StatusEntry,
    /// The signed compact JWS.
    pub token: String,
    /// The approved application it was issued on.
    pub application_id: Option<Uuid>,
    pub version: i64,
    pub updated_at: DateTime<Utc>,
}

impl CertificateRecord {
    /// The status at `now`: a stored `Valid` or `Suspended` past its
    /// validity is `Expired`; `Revoked` stays `Revoked`.
    pub fn status_at(&self, now: DateTime<Utc>) -> CertificateStatus {
        match (self.status, self.valid_until) {
            (CertificateStatus::Revoked, _) => CertificateStatus::Revoked,
            (_, Some(until)) if until <= now => CertificateStatus::Expired,
            (status, _) => status,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for kind in HolderKind::ALL {
            assert_eq!(HolderKind::from_name(kind.as_str()), Some(kind));
        }
        for status in CertificateStatus::ALL {
            assert_eq!(CertificateStatus::from_name(status.as_str()), Some(status));
        }
        assert_eq!(CertificateStatus::from_name("VALID"), None);
    }

    #[test]
    fn expiry_is_computed_but_revocation_wins() {
        let now = Utc::now();
        let mut record = CertificateRecord {
            id: Uuid::nil(),
            serial_number: "1".into(),
            certificate_type: "health-certificate".into(),
            issuer_id: Uuid::nil(),
            issuer_tenant: TenantId::parse("331100", "health").unwrap_or_else(|_| unreachable!()),
            key_id: "k".into(),
            holder: Holder::Organization {
                name: "x".into(),
                unified_social_credit_code: "91330000000000000X".into(),
            },
            claims: Vec::new(),
            issued_at: now,
            valid_from: now,
            valid_until: Some(now - Duration::seconds(1)),
            status: CertificateStatus::Suspended,
            status_reason: String::new(),
            status_entry: StatusEntry {
                group: "1".into(),
                index: 7,
            },
            token: String::new(),
            application_id: None,
            version: 1,
            updated_at: now,
        };
        assert_eq!(record.status_at(now), CertificateStatus::Expired);
        record.status = CertificateStatus::Revoked;
        assert_eq!(record.status_at(now), CertificateStatus::Revoked);
        record.status = CertificateStatus::Valid;
        record.valid_until = None;
        assert_eq!(record.status_at(now), CertificateStatus::Valid);
        assert_eq!(record.status_entry.revocation_list_id(), "1-revocation");
    }
}
