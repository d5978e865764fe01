use chrono::Duration;
use uuid::Uuid;

use super::*;
use crate::consents::domain::model::{ConsentState, Ending};
use crate::consents::domain::rules::{self, ConsentEvent};
use crate::shared::CertificateError;

fn invalid_field(error: CertificateError) -> String {
    match error {
        CertificateError::Invalid(violations) => violations
            .first()
            .map(|(field, _)| field.clone())
            .unwrap_or_default(),
        other => format!("not invalid: {other}"),
    }
}

#[test]
fn opening_starts_pending_from_now_with_no_unlocks() {
    let change = rules::open(&request(), Uuid::nil(), actor("app:home-service"), t0())
        .unwrap_or_else(|e| unreachable!("{e}"));
    let consent = &change.consent;
    assert_eq!(consent.state, ConsentState::Pending);
    assert_eq!(consent.terms.period.start, t0());
    assert_eq!(consent.terms.period.end, t0() + Duration::days(30));
    assert!(consent.unlocks.is_empty());
    assert_eq!((consent.version, consent.read_count), (1, 0));
    assert_eq!(consent.awaiting(), Party::ALL.to_vec());
    assert_eq!(
        change.events,
        vec![ConsentEvent::Requested {
            actor: actor("app:home-service")
        }]
    );
}

#[test]
fn periods_must_end_after_their_start_within_a_year_and_not_be_over() {
    let open = |start: Option<DateTime<Utc>>, end: DateTime<Utc>| {
        let request = ConsentRequest {
            start,
            end,
            ..request()
        };
        rules::open(&request, Uuid::nil(), actor("app"), t0()).map(|c| c.consent)
    };
    let field = |result: Result<Consent, CertificateError>| match result {
        Ok(_) => "accepted".to_string(),
        Err(e) => invalid_field(e),
    };
    assert_eq!(field(open(None, t0())), "period.end_time");
    assert_eq!(
        field(open(
            Some(t0() + Duration::days(2)),
            t0() + Duration::days(1)
        )),
        "period.end_time"
    );
    assert_eq!(
        field(open(None, t0() + Duration::days(366))),
        "period.end_time"
    );
    assert_eq!(
        field(open(
            Some(t0() - Duration::days(10)),
            t0() - Duration::days(1)
        )),
        "period.end_time",
        "a period already over"
    );
    assert!(
        open(None, t0() + Duration::days(365)).is_ok(),
        "a year is allowed"
    );
    let later = open(Some(t0() + Duration::days(7)), t0() + Duration::days(8));
    assert_eq!(
        later.map(|c| c.terms.period.start).ok(),
        Some(t0() + Duration::days(7)),
        "a period may start later"
    );
}

#[test]
fn each_unlock_is_recorded_and_the_third_activates() {
    let mut consent = pending();
    for (i, party) in [Party::Holder, Party::Custodian, Party::Platform]
        .into_iter()
        .enumerate()
    {
        let at = t0() + Duration::minutes(i as i64 + 1);
        let change = rules::unlock(&consent, party, actor(party.as_str()), at)
            .unwrap_or_else(|e| unreachable!("{e}"))
            .unwrap_or_else(|| unreachable!("a new unlock changes the consent"));
        assert_eq!(change.previous_version, consent.version);
        assert_eq!(change.consent.version, consent.version + 1);
        assert_eq!(change.consent.updated_at, at);
        let unlock = change.consent.unlock_of(party).cloned();
        assert_eq!(unlock.as_ref().map(|u| u.at), Some(at));
        let last = i == 2;
        let mut expected = vec![ConsentEvent::Unlocked {
            unlock: unlock.unwrap_or_else(|| unreachable!()),
        }];
        if last {
            expected.push(ConsentEvent::Activated);
        }
        assert_eq!(change.events, expected);
        assert_eq!(
            change.consent.state,
            if last {
                ConsentState::Active
            } else {
                ConsentState::Pending
            }
        );
        consent = change.consent;
    }
    assert!(consent.awaiting().is_empty());
}

#[test]
fn unlocking_twice_changes_nothing_even_once_active() {
    let consent = unlocked_by(&[Party::Custodian]);
    let again = rules::unlock(
        &consent,
        Party::Custodian,
        actor("other"),
        t0() + Duration::hours(1),
    );
    assert_eq!(again.ok(), Some(None));
    let consent = active();
    let again = rules::unlock(
        &consent,
        Party::Holder,
        actor("holder"),
        t0() + Duration::hours(1),
    );
    assert_eq!(again.ok(), Some(None));
}

#[test]
fn ended_or_expired_consents_take_no_new_unlock() {
    let declined = decline(&pending(), Party::Holder);
    let refused = rules::unlock(
        &declined,
        Party::Custodian,
        actor("c"),
        t0() + Duration::hours(1),
    );
    assert!(matches!(
        refused,
        Err(CertificateError::FailedPrecondition(_))
    ));
    let after_end = t0() + Duration::days(31);
    let refused = rules::unlock(&pending(), Party::Custodian, actor("c"), after_end);
    assert!(
        matches!(&refused, Err(CertificateError::FailedPrecondition(m)) if m.contains("expired")),
        "{refused:?}"
    );
}

fn decline(consent: &Consent, party: Party) -> Consent {
    rules::decline(
        consent,
        party,
        actor("decliner"),
        "not now",
        t0() + Duration::minutes(30),
    )
    .unwrap_or_else(|e| unreachable!("{e}"))
    .unwrap_or_else(|| unreachable!("declining changes a pending consent"))
    .consent
}

#[test]
fn declining_ends_a_pending_consent_for_good() {
    let change = rules::decline(
        &unlocked_by(&[Party::Custodian]),
        Party::Holder,
        actor("holder"),
        "找到工作了",
        t0() + Duration::minutes(30),
    )
    .unwrap_or_else(|e| unreachable!("{e}"))
    .unwrap_or_else(|| unreachable!());
    assert_eq!(change.consent.state, ConsentState::Declined);
    assert_eq!(
        change.consent.ending,
        Some(Ending {
            party: Party::Holder,
            reason: "找到工作了".into()
        })
    );
    assert_eq!(
        change.events,
        vec![ConsentEvent::Declined {
            actor: actor("holder")
        }]
    );
    let again = rules::decline(&change.consent, Party::Platform, actor("p"), "x", t0());
    assert_eq!(again.ok(), Some(None), "declined already");
}

#[test]
fn a_party_that_unlocked_revokes_rather_than_declines_and_active_ones_cannot_be_declined() {
    let consent = unlocked_by(&[Party::Custodian]);
    let refused = rules::decline(&consent, Party::Custodian, actor("c"), "x", t0());
    assert!(
        matches!(&refused, Err(CertificateError::FailedPrecondition(m)) if m.contains("revoke"))
    );
    let refused = rules::decline(&active(), Party::Holder, actor("h"), "x", t0());
    assert!(matches!(
        refused,
        Err(CertificateError::FailedPrecondition(_))
    ));
}

#[test]
fn any_party_revokes_a_pending_or_active_consent_once() {
    for consent in [pending(), active()] {
        for party in Party::ALL {
            let change = rules::revoke(&consent, party, actor(party.as_str()), "enough", t0())
                .unwrap_or_else(|e| unreachable!("{e}"))
                .unwrap_or_else(|| unreachable!());
            assert_eq!(change.consent.state, ConsentState::Revoked);
            assert_eq!(change.consent.ending.as_ref().map(|e| e.party), Some(party));
            assert_eq!(
                change.events,
                vec![ConsentEvent::Revoked {
                    actor: actor(party.as_str())
                }]
            );
            let again = rules::revoke(&change.consent, Party::Holder, actor("h"), "x", t0());
            assert_eq!(again.ok(), Some(None), "revoked already");
        }
    }
}

#[test]
fn final_consents_cannot_be_revoked() {
    let declined = decline(&pending(), Party::Platform);
    let mut exhausted = active();
    exhausted.read_count = exhausted.terms.read_limit;
    let exhausted = rules::exhaust(&exhausted, t0())
        .unwrap_or_else(|| unreachable!())
        .consent;
    let expired = rules::expire(&active(), t0() + Duration::days(30))
        .unwrap_or_else(|| unreachable!())
        .consent;
    for consent in [declined, exhausted, expired] {
        let refused = rules::revoke(&consent, Party::Holder, actor("h"), "x", t0());
        assert!(
            matches!(refused, Err(CertificateError::FailedPrecondition(_))),
            "{:?}",
            consent.state
        );
    }
    let past = rules::revoke(
        &active(),
        Party::Holder,
        actor("h"),
        "x",
        t0() + Duration::days(40),
    );
    assert!(
        matches!(past, Err(CertificateError::FailedPrecondition(_))),
        "past its period"
    );
}

#[test]
fn expiry_comes_at_the_end_of_the_period_for_open_consents_only() {
    let end = t0() + Duration::days(30);
    assert_eq!(
        rules::expire(&active(), end - Duration::microseconds(1)),
        None
    );
    for consent in [pending(), active()] {
        let change = rules::expire(&consent, end).unwrap_or_else(|| unreachable!());
        assert_eq!(change.consent.state, ConsentState::Expired);
        assert_eq!(change.events, vec![ConsentEvent::Expired]);
        assert_eq!(change.consent.version, consent.version + 1);
        assert_eq!(
            rules::expire(&change.consent, end + Duration::days(1)),
            None
        );
    }
    assert_eq!(
        rules::expire(&decline(&pending(), Party::Holder), end),
        None
    );
}

#[test]
fn the_read_that_reaches_the_limit_exhausts() {
    let mut consent = active();
    consent.read_count = 2;
    assert_eq!(rules::exhaust(&consent, t0()), None);
    consent.read_count = 3;
    let change = rules::exhaust(&consent, t0()).unwrap_or_else(|| unreachable!());
    assert_eq!(change.consent.state, ConsentState::Exhausted);
    assert_eq!(change.events, vec![ConsentEvent::Exhausted]);
    assert_eq!(rules::exhaust(&change.consent, t0()), None, "once");
}

#[test]
fn the_state_at_a_time_sees_expiry_before_the_timer() {
    let consent = active();
    assert_eq!(consent.state_at(t0()), ConsentState::Active);
    assert_eq!(
        consent.state_at(t0() + Duration::days(30)),
        ConsentState::Expired
    );
    let declined = decline(&pending(), Party::Holder);
    assert_eq!(
        declined.state_at(t0() + Duration::days(30)),
        ConsentState::Declined
    );
}

#[test]
fn names_round_trip() {
    for party in Party::ALL {
        assert_eq!(Party::from_name(party.as_str()), Some(party));
    }
    for state in ConsentState::ALL {
        assert_eq!(ConsentState::from_name(state.as_str()), Some(state));
    }
    for outcome in crate::consents::domain::ReadOutcome::ALL {
        assert_eq!(
            crate::consents::domain::ReadOutcome::from_name(outcome.as_str()),
            Some(outcome)
        );
    }
}

#[test]
fn fingerprints_tell_requests_apart() {
    let base = request();
    assert_eq!(base.fingerprint(), request().fingerprint());
    let other = ConsentRequest {
        read_limit: 4,
        ..request()
    };
    assert_ne!(base.fingerprint(), other.fingerprint());
}

#[test]
fn only_persons_can_be_asked_for_consent() {
    let request = ConsentRequest {
        holder: Holder::Organization {
            name: "丽水青瓷有限公司".into(),
            unified_social_credit_code: "91331100MA2A0B1C2D".into(),
        },
        ..request()
    };
    let refused = rules::open(&request, Uuid::nil(), actor("app"), t0());
    assert_eq!(refused.err().map(invalid_field).as_deref(), Some("holder"));
}
