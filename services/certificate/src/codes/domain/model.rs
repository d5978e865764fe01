//! What the codes part keeps and answers with, as its rules see it.

use chrono::{DateTime, Utc};
use uuid::Uuid;
use zhongtai_credential::{Claim, CodeKind, Holder, HolderStatus};
use zhongtai_kit::{Actor, DivisionCode, TenantId};

/// How a guardian is related to a dependant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Relationship {
    Parent,
    LegalGuardian,
    /// An adult child caring for an elderly parent.
    Child,
    Spouse,
}

impl Relationship {
    pub const ALL: [Self; 4] = [Self::Parent, Self::LegalGuardian, Self::Child, Self::Spouse];

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Parent => "parent",
            Self::LegalGuardian => "legal-guardian",
            Self::Child => "child",
            Self::Spouse => "spouse",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == name)
    }
}

/// Whether a dependant link still allows family codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DependantState {
    Active,
    /// Final.
    Removed,
}

impl DependantState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Removed => "removed",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        [Self::Active, Self::Removed]
            .into_iter()
            .find(|s| s.as_str() == name)
    }
}

/// A guardian's link to a dependant (family codes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DependantLink {
    pub id: Uuid,
    /// A person; the caller who linked.
    pub guardian: Holder,
    /// A person.
    pub dependant: Holder,
    pub relationship: Relationship,
    pub evidence_certificate_id: Uuid,
    pub state: DependantState,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A venue (场所) where codes are scanned. Venues do not change once
/// registered, so instances may keep them in memory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Venue {
    pub id: Uuid,
    pub tenant: TenantId,
    pub name: String,
    pub address: String,
    pub division: DivisionCode,
    pub created_at: DateTime<Utc>,
}

/// An offline code as stored: its token is never kept, only the claim set
/// it signs, so a dump of the table prints no usable code.
#[derive(Debug, Clone, PartialEq)]
pub struct OfflineCode {
    pub id: Uuid,
    /// The counter that issued it.
    pub tenant: TenantId,
    pub holder_key: String,
    /// Masked, as the code shows it.
    pub holder: Holder,
    pub key_id: String,
    pub issued_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub revoke_reason: String,
    /// The claim set, as JSON.
    pub payload: serde_json::Value,
    pub issued_by: Actor,
}

/// A presentation code just signed.
#[derive(Debug, Clone, PartialEq)]
pub struct MintedCode {
    pub id: String,
    pub kind: CodeKind,
    /// Masked.
    pub holder: Holder,
    pub status: HolderStatus,
    pub claims: Vec<Claim>,
    pub issued_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub token: String,
    pub qr_payload: String,
    pub key_id: String,
    /// For family codes, the link.
    pub dependant_id: Option<Uuid>,
    pub image: Option<QrImage>,
}

/// A QR image as asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QrRequest {
    pub format: zhongtai_credential::QrImageFormat,
    /// Pixels, 64..2048.
    pub size: u32,
}

/// A rendered QR image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QrImage {
    pub format: zhongtai_credential::QrImageFormat,
    pub data: Vec<u8>,
    pub size: u32,
}

/// How a code fared, online: offline verification's answers plus
/// revocation of offline codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeOutcome {
    Valid,
    SignatureInvalid,
    UntrustedKey,
    Expired,
    NotYetValid,
    IssuerNotAuthorized,
    /// An offline code revoked at the counter.
    Revoked,
    /// Not a code at all (recorded for scans; VerifyCode refuses it).
    Unreadable,
}

impl CodeOutcome {
    pub const ALL: [Self; 8] = [
        Self::Valid,
        Self::SignatureInvalid,
        Self::UntrustedKey,
        Self::Expired,
        Self::NotYetValid,
        Self::IssuerNotAuthorized,
        Self::Revoked,
        Self::Unreadable,
    ];

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Valid => "valid",
            Self::SignatureInvalid => "signature-invalid",
            Self::UntrustedKey => "untrusted-key",
            Self::Expired => "expired",
            Self::NotYetValid => "not-yet-valid",
            Self::IssuerNotAuthorized => "issuer-not-authorized",
            Self::Revoked => "revoked",
            Self::Unreadable => "unreadable",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|o| o.as_str() == name)
    }

    pub fn from_offline(outcome: zhongtai_credential::Outcome) -> Self {
        use zhongtai_credential::Outcome;
        match outcome {
            Outcome::Valid => Self::Valid,
            Outcome::SignatureInvalid => Self::SignatureInvalid,
            Outcome::UntrustedKey => Self::UntrustedKey,
            Outcome::Expired => Self::Expired,
            Outcome::NotYetValid => Self::NotYetValid,
            Outcome::IssuerNotAuthorized => Self::IssuerNotAuthorized,
        }
    }
}

/// One recorded scan of a code at a venue.
#[derive(Debug, Clone, PartialEq)]
pub struct ScanRecord {
    pub scan_id: Uuid,
    /// The venue's tenant: scans belong to it.
    pub tenant: TenantId,
    pub venue_id: Uuid,
    /// The code's id; empty when it could not be read.
    pub code_id: String,
    pub code_kind: Option<CodeKind>,
    /// The holder's key, when the code's signature held; empty otherwise.
    pub holder_key: String,
    /// Masked, as the code showed it.
    pub holder: Option<Holder>,
    pub outcome: CodeOutcome,
    pub holder_status: Option<HolderStatus>,
    /// As the device reported it, to the microsecond.
    pub scan_time: DateTime<Utc>,
    pub record_time: DateTime<Utc>,
    pub device_id: String,
    pub scanned_by: Actor,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for relationship in Relationship::ALL {
            assert_eq!(
                Relationship::from_name(relationship.as_str()),
                Some(relationship)
            );
        }
        for outcome in CodeOutcome::ALL {
            assert_eq!(CodeOutcome::from_name(outcome.as_str()), Some(outcome));
        }
        for state in [DependantState::Active, DependantState::Removed] {
            assert_eq!(DependantState::from_name(state.as_str()), Some(state));
        }
        assert_eq!(Relationship::from_name("PARENT"), None);
    }
}
