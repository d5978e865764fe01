//! The consent state machine: pure decisions on a consent and the time,
//! each giving the consent after the change and the events it raises.
//!
//! ```text
//! PENDING ──unlock×3──▶ ACTIVE ──last read──▶ EXHAUSTED
//!    │ decline            │ revoke (any party)
//!    ▼                    ▼
//! DECLINED             REVOKED          PENDING/ACTIVE ──period over──▶ EXPIRED
//! ```

use chrono::{DateTime, Months, SubsecRound, Utc};
use uuid::Uuid;
use zhongtai_credential::Holder;
use zhongtai_kit::Actor;

use super::model::{Consent, ConsentRequest, ConsentState, Ending, Party, Period, Terms, Unlock};
use crate::shared::{CertificateError, ConsentRefusal};

/// The longest period a consent may run.
const MAX_PERIOD_MONTHS: u32 = 12;

/// What a change raises, beside the audit record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConsentEvent {
    Requested { actor: Actor },
    Unlocked { unlock: Unlock },
    Activated,
    Declined { actor: Actor },
    Revoked { actor: Actor },
    Exhausted,
    Expired,
}

/// A decided change of a consent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// The consent after the change (not yet sealed).
    pub consent: Consent,
    /// The version the change was decided on; saving checks it.
    pub previous_version: i64,
    pub events: Vec<ConsentEvent>,
    /// The audited action.
    pub action: &'static str,
}

impl Change {
    fn of(
        previous: &Consent,
        mut consent: Consent,
        now: DateTime<Utc>,
        action: &'static str,
    ) -> Self {
        consent.version = previous.version + 1;
        consent.updated_at = now;
        Self {
            consent,
            previous_version: previous.version,
            events: Vec::new(),
            action,
        }
    }

    fn raising(mut self, event: ConsentEvent) -> Self {
        self.events.push(event);
        self
    }
}

/// A new PENDING consent for `request`; the period starts now unless the
/// request says otherwise, ends after its start, at most a year later, and
/// not already.
pub fn open(
    request: &ConsentRequest,
    id: Uuid,
    actor: Actor,
    now: DateTime<Utc>,
) -> Result<Change, CertificateError> {
    if !matches!(request.holder, Holder::Person { .. }) {
        // The holder party unlocks signed in as the person; nobody signs
        // in as an organisation, so such a consent could never open.
        return Err(CertificateError::invalid(
            "holder",
            "must be a person: the holder unlocks a consent signed in as that person",
        ));
    }
    // Databases keep microseconds: so do the stored, signed and returned
    // terms.
    let start = request.start.unwrap_or(now).trunc_subsecs(6);
    let end = request.end.trunc_subsecs(6);
    if end <= start {
        return Err(CertificateError::invalid(
            "period.end_time",
            "must be after the period's start",
        ));
    }
    let longest = start
        .checked_add_months(Months::new(MAX_PERIOD_MONTHS))
        .unwrap_or(DateTime::<Utc>::MAX_UTC);
    if end > longest {
        return Err(CertificateError::invalid(
            "period.end_time",
            "must be at most one year after the period's start",
        ));
    }
    if end <= now {
        return Err(CertificateError::invalid(
            "period.end_time",
            "is already over",
        ));
    }
    let consent = Consent {
        id,
        request_id: request.request_id.clone(),
        terms: Terms {
            app_id: request.app_id.clone(),
            requester_name: request.requester_name.clone(),
            holder: request.holder.clone(),
            custodian: request.custodian.clone(),
            certificate_types: request.certificate_types.clone(),
            claims: request.claims.clone(),
            purpose: request.purpose.clone(),
            period: Period { start, end },
            read_limit: request.read_limit,
        },
        state: ConsentState::Pending,
        read_count: 0,
        unlocks: Vec::new(),
        ending: None,
        signed_record: String::new(),
        version: 1,
        created_at: now,
        updated_at: now,
    };
    Ok(Change {
        consent,
        previous_version: 0,
        events: vec![ConsentEvent::Requested { actor }],
        action: "certificate.consent.request",
    })
}

/// `party`'s unlock; the third makes the consent ACTIVE. `None`: the party
/// had unlocked already, nothing changes.
pub fn unlock(
    consent: &Consent,
    party: Party,
    actor: Actor,
    now: DateTime<Utc>,
) -> Result<Option<Change>, CertificateError> {
    if consent.unlock_of(party).is_some() {
        return Ok(None);
    }
    require_state(consent, now, &[ConsentState::Pending], "unlocked")?;
    let unlock = Unlock {
        party,
        actor,
        at: now,
    };
    let mut next = consent.clone();
    next.unlocks.push(unlock.clone());
    let activates = next.awaiting().is_empty();
    if activates {
        next.state = ConsentState::Active;
    }
    let change = Change::of(consent, next, now, "certificate.consent.unlock")
        .raising(ConsentEvent::Unlocked { unlock });
    Ok(Some(if activates {
        change.raising(ConsentEvent::Activated)
    } else {
        change
    }))
}

/// `party` refuses to unlock: DECLINED, final. A party that unlocked
/// already revokes instead. `None`: declined already.
pub fn decline(
    consent: &Consent,
    party: Party,
    actor: Actor,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<Option<Change>, CertificateError> {
    if consent.state == ConsentState::Declined {
        return Ok(None);
    }
    require_state(consent, now, &[ConsentState::Pending], "declined")?;
    if consent.unlock_of(party).is_some() {
        return Err(CertificateError::FailedPrecondition(format!(
            "the {} unlocked consent {} already; revoke it instead",
            party.as_str(),
            consent.id
        )));
    }
    Ok(Some(end(
        consent,
        ConsentState::Declined,
        party,
        reason,
        now,
        "certificate.consent.decline",
        ConsentEvent::Declined { actor },
    )))
}

/// Any party ends a pending or active consent: REVOKED, final, reads
/// refused from now on. `None`: revoked already.
pub fn revoke(
    consent: &Consent,
    party: Party,
    actor: Actor,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<Option<Change>, CertificateError> {
    if consent.state == ConsentState::Revoked {
        return Ok(None);
    }
    require_state(
        consent,
        now,
        &[ConsentState::Pending, ConsentState::Active],
        "revoked",
    )?;
    Ok(Some(end(
        consent,
        ConsentState::Revoked,
        party,
        reason,
        now,
        "certificate.consent.revoke",
        ConsentEvent::Revoked { actor },
    )))
}

/// EXPIRED once an open consent's period is over; `None` otherwise.
pub fn expire(consent: &Consent, now: DateTime<Utc>) -> Option<Change> {
    if consent.state.is_final() || !consent.terms.period.is_over(now) {
        return None;
    }
    let mut next = consent.clone();
    next.state = ConsentState::Expired;
    Some(
        Change::of(consent, next, now, "certificate.consent.expire").raising(ConsentEvent::Expired),
    )
}

/// EXHAUSTED once an active consent's reads reach its limit; `None`
/// otherwise. Decided right after a read was counted.
pub fn exhaust(consent: &Consent, now: DateTime<Utc>) -> Option<Change> {
    if consent.state != ConsentState::Active || consent.read_count < consent.terms.read_limit {
        return None;
    }
    let mut next = consent.clone();
    next.state = ConsentState::Exhausted;
    Some(
        Change::of(consent, next, now, "certificate.consent.exhaust")
            .raising(ConsentEvent::Exhausted),
    )
}

/// Whether the consent's app may read (and count a read) now; the store
/// applies the same rule as a guarded update.
pub fn read_gate(consent: &Consent, now: DateTime<Utc>) -> Result<(), ConsentRefusal> {
    match consent.state_at(now) {
        ConsentState::Revoked | ConsentState::Declined => Err(ConsentRefusal::Revoked),
        ConsentState::Expired => Err(ConsentRefusal::Expired),
        ConsentState::Exhausted => Err(ConsentRefusal::LimitReached),
        ConsentState::Pending => Err(ConsentRefusal::Locked),
        ConsentState::Active if !consent.terms.period.contains(now) => Err(ConsentRefusal::Expired),
        ConsentState::Active if consent.read_count >= consent.terms.read_limit => {
            Err(ConsentRefusal::LimitReached)
        }
        ConsentState::Active => Ok(()),
    }
}

/// Whether a retry of an allowed read may get its data again: yes, even
/// once the limit is used up (that read was counted), but not once the
/// consent was revoked or its period is over.
pub fn replay_gate(consent: &Consent, now: DateTime<Utc>) -> Result<(), ConsentRefusal> {
    match consent.state_at(now) {
        ConsentState::Revoked | ConsentState::Declined => Err(ConsentRefusal::Revoked),
        ConsentState::Expired => Err(ConsentRefusal::Expired),
        _ => Ok(()),
    }
}

/// What a refused reader is told.
pub fn refusal_message(refusal: ConsentRefusal, consent: &Consent, now: DateTime<Utc>) -> String {
    let id = consent.id;
    match refusal {
        ConsentRefusal::Locked => {
            let waiting: Vec<&str> = consent.awaiting().iter().map(|p| p.as_str()).collect();
            format!(
                "consent {id} is not unlocked yet: waiting for the {}",
                waiting.join(", ")
            )
        }
        ConsentRefusal::Revoked => match &consent.ending {
            Some(ending) => format!(
                "consent {id} was {} by the {}",
                consent.state.as_str(),
                ending.party.as_str()
            ),
            None => format!("consent {id} was revoked"),
        },
        ConsentRefusal::Expired if now < consent.terms.period.start => format!(
            "consent {id} allows reads from {} only",
            consent.terms.period.start
        ),
        ConsentRefusal::Expired => {
            format!("consent {id} ended at {}", consent.terms.period.end)
        }
        ConsentRefusal::LimitReached => format!(
            "consent {id} has used all of its {} reads",
            consent.terms.read_limit
        ),
        ConsentRefusal::WrongApp => {
            format!("consent {id} was given to another app; only that app may read under it")
        }
    }
}

fn end(
    consent: &Consent,
    state: ConsentState,
    party: Party,
    reason: &str,
    now: DateTime<Utc>,
    action: &'static str,
    event: ConsentEvent,
) -> Change {
    let mut next = consent.clone();
    next.state = state;
    next.ending = Some(Ending {
        party,
        reason: reason.to_string(),
    });
    Change::of(consent, next, now, action).raising(event)
}

fn require_state(
    consent: &Consent,
    now: DateTime<Utc>,
    allowed: &[ConsentState],
    verb: &str,
) -> Result<(), CertificateError> {
    let state = consent.state_at(now);
    if allowed.contains(&state) {
        return Ok(());
    }
    Err(CertificateError::FailedPrecondition(format!(
        "consent {} is {} and can no longer be {verb}",
        consent.id,
        state.as_str()
    )))
}
