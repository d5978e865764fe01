use chrono::Duration;

use super::*;
use crate::consents::domain::model::ConsentState;
use crate::consents::domain::rules::{self, read_gate, replay_gate};
use crate::shared::ConsentRefusal;

#[test]
fn every_combination_of_missing_unlocks_is_locked() {
    let combinations: [&[Party]; 7] = [
        &[],
        &[Party::Custodian],
        &[Party::Platform],
        &[Party::Holder],
        &[Party::Custodian, Party::Platform],
        &[Party::Custodian, Party::Holder],
        &[Party::Platform, Party::Holder],
    ];
    let during = t0() + Duration::hours(1);
    for parties in combinations {
        let consent = unlocked_by(parties);
        assert_eq!(consent.state, ConsentState::Pending, "{parties:?}");
        assert_eq!(
            read_gate(&consent, during),
            Err(ConsentRefusal::Locked),
            "{parties:?}"
        );
        let message = rules::refusal_message(ConsentRefusal::Locked, &consent, during);
        for party in consent.awaiting() {
            assert!(message.contains(party.as_str()), "{message}");
        }
    }
    assert_eq!(read_gate(&active(), during), Ok(()));
}

#[test]
fn reads_stop_at_the_limit_the_end_and_any_ending() {
    let during = t0() + Duration::hours(1);
    let mut used_up = active();
    used_up.read_count = used_up.terms.read_limit;
    assert_eq!(
        read_gate(&used_up, during),
        Err(ConsentRefusal::LimitReached)
    );
    let exhausted = rules::exhaust(&used_up, during)
        .unwrap_or_else(|| unreachable!())
        .consent;
    assert_eq!(
        read_gate(&exhausted, during),
        Err(ConsentRefusal::LimitReached)
    );

    let end = t0() + Duration::days(30);
    assert_eq!(
        read_gate(&active(), end),
        Err(ConsentRefusal::Expired),
        "at once, before the timer"
    );
    assert_eq!(read_gate(&pending(), end), Err(ConsentRefusal::Expired));
    let expired = rules::expire(&active(), end)
        .unwrap_or_else(|| unreachable!())
        .consent;
    assert_eq!(read_gate(&expired, during), Err(ConsentRefusal::Expired));

    for party in Party::ALL {
        let revoked = rules::revoke(&active(), party, actor("p"), "x", during)
            .ok()
            .flatten()
            .unwrap_or_else(|| unreachable!())
            .consent;
        assert_eq!(read_gate(&revoked, during), Err(ConsentRefusal::Revoked));
    }
    let declined = rules::decline(&pending(), Party::Holder, actor("h"), "x", during)
        .ok()
        .flatten()
        .unwrap_or_else(|| unreachable!())
        .consent;
    assert_eq!(read_gate(&declined, during), Err(ConsentRefusal::Revoked));
}

#[test]
fn a_period_that_has_not_started_refuses_as_outside_it() {
    let request = ConsentRequest {
        start: Some(t0() + Duration::days(1)),
        ..request()
    };
    let mut consent = rules::open(&request, uuid::Uuid::nil(), actor("app"), t0())
        .unwrap_or_else(|e| unreachable!("{e}"))
        .consent;
    for party in Party::ALL {
        if let Ok(Some(change)) = rules::unlock(&consent, party, actor("p"), t0()) {
            consent = change.consent;
        }
    }
    assert_eq!(consent.state, ConsentState::Active);
    assert_eq!(read_gate(&consent, t0()), Err(ConsentRefusal::Expired));
    assert!(rules::refusal_message(ConsentRefusal::Expired, &consent, t0()).contains("from"));
    assert_eq!(read_gate(&consent, t0() + Duration::days(1)), Ok(()));
}

#[test]
fn a_retried_read_is_returned_again_even_when_it_used_up_the_limit_but_not_once_ended() {
    let during = t0() + Duration::hours(1);
    let mut used_up = active();
    used_up.read_count = used_up.terms.read_limit;
    let exhausted = rules::exhaust(&used_up, during)
        .unwrap_or_else(|| unreachable!())
        .consent;
    assert_eq!(replay_gate(&exhausted, during), Ok(()));
    let revoked = rules::revoke(&active(), Party::Holder, actor("h"), "x", during)
        .ok()
        .flatten()
        .unwrap_or_else(|| unreachable!())
        .consent;
    assert_eq!(replay_gate(&revoked, during), Err(ConsentRefusal::Revoked));
    assert_eq!(
        replay_gate(&active(), t0() + Duration::days(30)),
        Err(ConsentRefusal::Expired)
    );
}

#[test]
fn refusals_say_who_ended_it() {
    let revoked = rules::revoke(&active(), Party::Holder, actor("h"), "x", t0())
        .ok()
        .flatten()
        .unwrap_or_else(|| unreachable!())
        .consent;
    let message = rules::refusal_message(ConsentRefusal::Revoked, &revoked, t0());
    assert!(message.contains("revoked by the holder"), "{message}");
}
