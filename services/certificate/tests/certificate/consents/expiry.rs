//! Past its period a consent is refused at once, and the timer records it
//! as EXPIRED.

use sea_orm::ConnectionTrait;
use zhongtai_contracts::certificate::v1 as pb;
use zhongtai_kit::config::CertificateConfig;

use super::world::*;
use crate::support::{Harness, config};

/// Moves a consent's period into the past, as if its time had passed.
pub async fn end_period(w: &World, id: &str) {
    w.h.db
        .execute_unprepared(&format!(
            "UPDATE consents SET starts_at = '2020-01-01T00:00:00+00:00', \
             ends_at = '2020-01-31T00:00:00+00:00' WHERE id = '{id}'"
        ))
        .await
        .unwrap();
}

/// Waits until the timer has recorded the consent as EXPIRED.
pub async fn expired_by_timer(w: &World, id: &str) -> pb::Consent {
    for _ in 0..400 {
        let consent = w.get(&nanny(), id).await.unwrap();
        if consent.state() == pb::ConsentState::Expired {
            return consent;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    panic!("consent {id} was never expired by the timer");
}

#[tokio::test]
async fn reads_past_the_end_are_refused_at_once_and_the_timer_expires_the_consent() {
    // A timer that ticks once at start and then not for an hour.
    let slow_timer = CertificateConfig {
        timer_interval_ms: 3_600_000,
        ..config()
    };
    let w = World::on(Harness::postgres_with(slow_timer).await).await;
    let active = w.active().await;
    w.read(&active.id).await.unwrap();
    let pending = w.pending().await;
    end_period(&w, &active.id).await;
    end_period(&w, &pending.id).await;

    assert_refused(
        w.read(&active.id).await,
        tonic::Code::FailedPrecondition,
        "CONSENT_EXPIRED",
    );
    assert_refused(
        w.read(&pending.id).await,
        tonic::Code::FailedPrecondition,
        "CONSENT_EXPIRED",
    );
    assert_eq!(
        w.get(&nanny(), &active.id).await.unwrap().state(),
        pb::ConsentState::Active,
        "refused before the timer recorded anything"
    );
    let late = w
        .unlock(&nanny(), &pending.id, pb::ConsentParty::Holder)
        .await
        .unwrap_err();
    assert_eq!(late.code(), tonic::Code::FailedPrecondition, "{late:?}");

    // Another instance's timer looks at once.
    let _timer = w.h.another_instance();
    for id in [&active.id, &pending.id] {
        let expired = expired_by_timer(&w, id).await;
        assert_eq!(expired.read_count, if *id == active.id { 1 } else { 0 });
        assert_eq!(w.events("certificate.consent.expired", id).await, 1);
    }
    assert_eq!(
        w.outcomes(&active.id).await,
        vec![
            pb::ConsentUsageOutcome::Allowed,
            pb::ConsentUsageOutcome::RefusedExpired,
        ]
    );
    assert_refused(
        w.read(&active.id).await,
        tonic::Code::FailedPrecondition,
        "CONSENT_EXPIRED",
    );
}
