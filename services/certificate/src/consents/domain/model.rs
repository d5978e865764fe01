//! A consent as the domain sees it: the terms an app asked for, the three
//! parties' unlocks, where it stands, and the reads made under it.

use chrono::{DateTime, Utc};
use uuid::Uuid;
use zhongtai_credential::{Claim, Holder};
use zhongtai_kit::{Actor, TenantId};

use crate::shared::{CertificateStatus, ConsentRefusal};

/// The three parties whose unlocks make a consent usable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Party {
    /// The department whose certificates are read.
    Custodian,
    /// The platform operator.
    Platform,
    /// The data subject.
    Holder,
}

impl Party {
    pub const ALL: [Self; 3] = [Self::Custodian, Self::Platform, Self::Holder];

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Custodian => "custodian",
            Self::Platform => "platform",
            Self::Holder => "holder",
        }
    }

    /// Inverse of [`Party::as_str`].
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|party| party.as_str() == name)
    }
}

/// Lifecycle of a consent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ConsentState {
    /// Waiting for unlocks.
    Pending,
    /// Unlocked by all three parties.
    Active,
    /// A party refused to unlock. Final.
    Declined,
    /// The read limit is used up. Final.
    Exhausted,
    /// Past its period. Final.
    Expired,
    /// A party revoked it. Final.
    Revoked,
}

impl ConsentState {
    pub const ALL: [Self; 6] = [
        Self::Pending,
        Self::Active,
        Self::Declined,
        Self::Exhausted,
        Self::Expired,
        Self::Revoked,
    ];

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Active => "active",
            Self::Declined => "declined",
            Self::Exhausted => "exhausted",
            Self::Expired => "expired",
            Self::Revoked => "revoked",
        }
    }

    /// Inverse of [`ConsentState::as_str`].
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|state| state.as_str() == name)
    }

    /// No transition leaves a final state.
    pub fn is_final(self) -> bool {
        !matches!(self, Self::Pending | Self::Active)
    }
}

/// When reads are allowed: from `start` (inclusive) to `end` (exclusive).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Period {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
}

impl Period {
    pub fn contains(&self, at: DateTime<Utc>) -> bool {
        self.start <= at && at < self.end
    }

    pub fn is_over(&self, at: DateTime<Utc>) -> bool {
        at >= self.end
    }
}

/// What the app asked for and the parties agree to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Terms {
    /// The integrator app that asks and alone may read.
    pub app_id: String,
    pub requester_name: String,
    pub holder: Holder,
    /// The department whose certificates are read: the consent's owner
    /// tenant.
    pub custodian: TenantId,
    pub certificate_types: Vec<String>,
    /// Claim names in scope; empty means every claim.
    pub claims: Vec<String>,
    pub purpose: String,
    pub period: Period,
    pub read_limit: i64,
}

/// One party's unlock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unlock {
    pub party: Party,
    /// Who unlocked on the party's behalf.
    pub actor: Actor,
    pub at: DateTime<Utc>,
}

/// Who ended a consent by declining or revoking it, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ending {
    pub party: Party,
    pub reason: String,
}

/// A consent (三解锁).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Consent {
    pub id: Uuid,
    /// The app's request id it was asked with.
    pub request_id: String,
    pub terms: Terms,
    pub state: ConsentState,
    pub read_count: i64,
    /// At most one per party, in the order given.
    pub unlocks: Vec<Unlock>,
    /// For DECLINED and REVOKED.
    pub ending: Option<Ending>,
    /// The agreed terms as a compact JWS signed by the platform; see
    /// [`super::record`].
    pub signed_record: String,
    /// Counts changes to the agreement (request, unlocks, state changes);
    /// reads are counted in `read_count`, not here.
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Consent {
    pub fn unlock_of(&self, party: Party) -> Option<&Unlock> {
        self.unlocks.iter().find(|unlock| unlock.party == party)
    }

    /// Parties whose unlock is still missing.
    pub fn awaiting(&self) -> Vec<Party> {
        Party::ALL
            .into_iter()
            .filter(|party| self.unlock_of(*party).is_none())
            .collect()
    }

    /// The holder's lookup key (`Holder::key`), as certificates carry it.
    pub fn holder_key(&self) -> String {
        self.terms.holder.key()
    }

    pub fn reads_remaining(&self) -> i64 {
        (self.terms.read_limit - self.read_count).max(0)
    }

    /// The state as of `now`: an open consent past its period is expired
    /// even before the timer has recorded it.
    pub fn state_at(&self, now: DateTime<Utc>) -> ConsentState {
        if !self.state.is_final() && self.terms.period.is_over(now) {
            ConsentState::Expired
        } else {
            self.state
        }
    }
}

/// A request for consent as the app sent it, before the server's defaults
/// (a missing start means "from now").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsentRequest {
    pub request_id: String,
    pub app_id: String,
    pub requester_name: String,
    pub holder: Holder,
    pub custodian: TenantId,
    pub certificate_types: Vec<String>,
    pub claims: Vec<String>,
    pub purpose: String,
    pub start: Option<DateTime<Utc>>,
    pub end: DateTime<Utc>,
    pub read_limit: i64,
}

impl ConsentRequest {
    /// What identifies the request for idempotency: the same request id
    /// with another fingerprint is a different request.
    pub fn fingerprint(&self) -> String {
        serde_json::json!({
            "app_id": self.app_id,
            "requester_name": self.requester_name,
            "holder": self.holder,
            "custodian": self.custodian.key(),
            "certificate_types": self.certificate_types,
            "claims": self.claims,
            "purpose": self.purpose,
            "start": self.start.map(|at| at.timestamp_micros()),
            "end": self.end.timestamp_micros(),
            "read_limit": self.read_limit,
        })
        .to_string()
    }
}

/// How a read attempt ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadOutcome {
    Allowed,
    Refused(ConsentRefusal),
}

impl ReadOutcome {
    pub const ALL: [Self; 6] = [
        Self::Allowed,
        Self::Refused(ConsentRefusal::Locked),
        Self::Refused(ConsentRefusal::LimitReached),
        Self::Refused(ConsentRefusal::Expired),
        Self::Refused(ConsentRefusal::Revoked),
        Self::Refused(ConsentRefusal::WrongApp),
    ];

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Allowed => "allowed",
            Self::Refused(ConsentRefusal::Locked) => "refused_locked",
            Self::Refused(ConsentRefusal::LimitReached) => "refused_limit",
            Self::Refused(ConsentRefusal::Expired) => "refused_expired",
            Self::Refused(ConsentRefusal::Revoked) => "refused_revoked",
            Self::Refused(ConsentRefusal::WrongApp) => "refused_wrong_app",
        }
    }

    /// Inverse of [`ReadOutcome::as_str`].
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|outcome| outcome.as_str() == name)
    }
}

/// One logged read attempt, allowed or refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Usage {
    pub id: Uuid,
    pub consent_id: Uuid,
    /// The app that read: the caller's app id, or the caller's subject when
    /// the caller is no app at all.
    pub app_id: String,
    pub reader: Actor,
    pub outcome: ReadOutcome,
    /// For allowed reads: 1..read_limit; 0 for refused ones.
    pub read_number: i64,
    pub certificate_ids: Vec<Uuid>,
    pub claims: Vec<String>,
    pub request_id: String,
    pub at: DateTime<Utc>,
}

/// A holder's certificate as a consented read returns it: the claims in
/// scope only, never the signed token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsentedCertificate {
    pub certificate_id: Uuid,
    pub certificate_type: String,
    pub issuer_id: Uuid,
    pub claims: Vec<Claim>,
    pub status: CertificateStatus,
    pub valid_from: DateTime<Utc>,
    pub valid_until: Option<DateTime<Utc>>,
}

/// What an allowed read returns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Disclosure {
    pub certificates: Vec<ConsentedCertificate>,
    pub usage: Usage,
    pub reads_remaining: i64,
}

/// Which consents a list returns.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConsentFilter {
    /// Empty means every state.
    pub states: Vec<ConsentState>,
    /// Only PENDING consents still waiting for this party's unlock.
    pub awaiting_party: Option<Party>,
}
