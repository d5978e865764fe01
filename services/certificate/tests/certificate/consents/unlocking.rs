//! Unlocks: only all three together open a consent; nobody acts for a
//! party they are not; declining and revoking end it.

use zhongtai_contracts::certificate::v1 as pb;
use zhongtai_kit::Role;

use super::world::*;
use crate::support::{HEALTH, citizen, staff};

#[tokio::test]
async fn every_combination_of_missing_unlocks_refuses_reads_and_logs_them() {
    use pb::ConsentParty::{Custodian, Holder, Platform};
    let w = World::postgres().await;
    let combinations: [&[pb::ConsentParty]; 7] = [
        &[],
        &[Custodian],
        &[Platform],
        &[Holder],
        &[Custodian, Platform],
        &[Custodian, Holder],
        &[Platform, Holder],
    ];
    for unlocked in combinations {
        let consent = w.pending().await;
        for party in unlocked {
            w.unlock(&acting_for(*party), &consent.id, *party)
                .await
                .unwrap();
        }
        assert_refused(
            w.read(&consent.id).await,
            tonic::Code::PermissionDenied,
            "CONSENT_LOCKED",
        );
        let seen = w.get(&nanny(), &consent.id).await.unwrap();
        assert_eq!(seen.state(), pb::ConsentState::Pending, "{unlocked:?}");
        assert_eq!(seen.read_count, 0);
        assert_eq!(
            w.outcomes(&consent.id).await,
            vec![pb::ConsentUsageOutcome::RefusedLocked],
            "{unlocked:?}: the refused read is logged"
        );
        assert_eq!(w.events("certificate.consent.read", &consent.id).await, 1);

        for party in PARTIES.into_iter().filter(|p| !unlocked.contains(p)) {
            w.unlock(&acting_for(party), &consent.id, party)
                .await
                .unwrap();
        }
        let read = w.read(&consent.id).await;
        assert!(read.is_ok(), "{unlocked:?} then the rest: {read:?}");
    }
}

#[tokio::test]
async fn the_third_unlock_activates_and_unlocking_again_changes_nothing() {
    let w = World::postgres().await;
    let consent = w.pending().await;
    assert_eq!(consent.state(), pb::ConsentState::Pending);
    assert!(consent.unlocks.is_empty());
    let mut last = consent.clone();
    for (i, party) in PARTIES.into_iter().enumerate() {
        let unlocked = w
            .unlock(&acting_for(party), &consent.id, party)
            .await
            .unwrap();
        assert_eq!(unlocked.version, last.version + 1);
        assert_eq!(unlocked.unlocks.len(), i + 1);
        let unlock = unlocked.unlocks.last().unwrap();
        assert_eq!(unlock.party(), party);
        assert_eq!(
            unlock.actor.as_ref().map(|a| a.subject.clone()),
            Some(acting_for(party).subject)
        );
        let expected = if i == 2 {
            pb::ConsentState::Active
        } else {
            pb::ConsentState::Pending
        };
        assert_eq!(unlocked.state(), expected);
        last = unlocked;
    }
    for party in PARTIES {
        let again = w
            .unlock(&acting_for(party), &consent.id, party)
            .await
            .unwrap();
        assert_eq!(again.version, last.version, "unlocking twice is a no-op");
        assert_eq!(again.unlocks.len(), 3);
    }
    assert_eq!(
        w.events("certificate.consent.requested", &consent.id).await,
        1
    );
    assert_eq!(
        w.events("certificate.consent.unlocked", &consent.id).await,
        3
    );
    assert_eq!(
        w.events("certificate.consent.activated", &consent.id).await,
        1
    );
    assert_eq!(
        w.audited("certificate.consent.request", &consent.id, "allowed")
            .await,
        1
    );
    assert_eq!(
        w.audited("certificate.consent.unlock", &consent.id, "allowed")
            .await,
        3,
        "each unlock audited once"
    );
}

#[tokio::test]
async fn a_party_acting_for_another_party_is_refused_and_nothing_changes() {
    let w = World::postgres().await;
    let consent = w.pending().await;
    let outsiders = [
        app(),
        staff("hr-operator", HUMAN_RESOURCES, &[Role::Operator]),
        staff("health-admin", HEALTH, &[Role::Admin]),
        staff("city-admin", "331100", &[Role::Admin]),
        citizen("331102199202023456"),
    ];
    let before = w.footprint().await;
    for party in PARTIES {
        let wrong = PARTIES
            .into_iter()
            .filter(|other| *other != party)
            .map(acting_for)
            .chain(outsiders.iter().cloned());
        for who in wrong {
            for answer in [
                w.unlock(&who, &consent.id, party).await,
                w.decline(&who, &consent.id, party).await,
                w.revoke(&who, &consent.id, party).await,
            ] {
                let status = answer.expect_err("refused");
                assert_eq!(
                    status.code(),
                    tonic::Code::PermissionDenied,
                    "{} as {party:?}: {status:?}",
                    who.subject
                );
                assert!(details(&status).contains("NOT_CONSENT_PARTY"), "{status:?}");
            }
        }
    }
    assert_eq!(w.footprint().await, before, "refusals write nothing");
    let unchanged = w.get(&nanny(), &consent.id).await.unwrap();
    assert_eq!(unchanged.version, consent.version);
    assert!(unchanged.unlocks.is_empty());
}

#[tokio::test]
async fn declining_ends_the_consent_for_good() {
    let w = World::postgres().await;
    let consent = w.pending().await;
    w.unlock(&custodian(), &consent.id, pb::ConsentParty::Custodian)
        .await
        .unwrap();
    let declined = w
        .decline(&nanny(), &consent.id, pb::ConsentParty::Holder)
        .await
        .unwrap();
    assert_eq!(declined.state(), pb::ConsentState::Declined);
    assert_eq!(declined.ended_by(), pb::ConsentParty::Holder);
    assert_eq!(declined.end_reason, "不同意");
    assert_eq!(
        w.events("certificate.consent.declined", &consent.id).await,
        1
    );

    let again = w
        .decline(&nanny(), &consent.id, pb::ConsentParty::Holder)
        .await
        .unwrap();
    assert_eq!(
        again.version, declined.version,
        "declining twice is a no-op"
    );
    let late = w
        .unlock(&platform(), &consent.id, pb::ConsentParty::Platform)
        .await
        .unwrap_err();
    assert_eq!(late.code(), tonic::Code::FailedPrecondition, "{late:?}");
    assert_refused(
        w.read(&consent.id).await,
        tonic::Code::PermissionDenied,
        "CONSENT_REVOKED",
    );
}

#[tokio::test]
async fn a_party_that_unlocked_revokes_instead_of_declining() {
    let w = World::postgres().await;
    let consent = w.pending().await;
    w.unlock(&custodian(), &consent.id, pb::ConsentParty::Custodian)
        .await
        .unwrap();
    let refused = w
        .decline(&custodian(), &consent.id, pb::ConsentParty::Custodian)
        .await
        .unwrap_err();
    assert_eq!(refused.code(), tonic::Code::FailedPrecondition);
    let revoked = w
        .revoke(&custodian(), &consent.id, pb::ConsentParty::Custodian)
        .await
        .unwrap();
    assert_eq!(revoked.state(), pb::ConsentState::Revoked);
    assert_eq!(revoked.ended_by(), pb::ConsentParty::Custodian);
}

#[tokio::test]
async fn the_three_parties_unlocking_at_once_all_count() {
    let w = World::postgres().await;
    let consent = w.pending().await;
    let (custodian, platform, holder) = (custodian(), platform(), nanny());
    let (a, b, c) = tokio::join!(
        w.unlock(&custodian, &consent.id, pb::ConsentParty::Custodian),
        w.unlock(&platform, &consent.id, pb::ConsentParty::Platform),
        w.unlock(&holder, &consent.id, pb::ConsentParty::Holder),
    );
    for answer in [a, b, c] {
        assert!(answer.is_ok(), "{answer:?}");
    }
    let active = w.get(&nanny(), &consent.id).await.unwrap();
    assert_eq!(active.state(), pb::ConsentState::Active);
    assert_eq!(active.unlocks.len(), 3);
    assert_eq!(
        w.events("certificate.consent.activated", &consent.id).await,
        1
    );
}
