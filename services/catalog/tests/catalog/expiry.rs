//! Expiry of grants past their period by the timer loop, exactly once even
//! with two timers racing.

use crate::support::requests::*;
use crate::support::*;
use std::time::Duration;
use tonic::Code;
use zhongtai_contracts::catalog::v1 as pb;

use sea_orm::ConnectionTrait;
use tokio_util::sync::CancellationToken;

#[tokio::test]
async fn the_timer_expires_grants_past_their_period_exactly_once() {
    let t = TestCatalog::postgres().await;
    let granted = setup(&t).await;
    t.db.execute_unprepared(&format!(
        "UPDATE grants SET period_end = period_start WHERE id IN ('{}', '{}')",
        granted.reviewed.id, granted.hashed_names.id
    ))
    .await
    .unwrap();

    // Two timers racing over the same due grants.
    let stop = CancellationToken::new();
    let timers: Vec<_> = (0..2)
        .map(|n| {
            let grants = t.catalog.grants.clone();
            tokio::spawn(zhongtai_kit::timers::every(
                if n == 0 { "expiry-a" } else { "expiry-b" },
                Duration::from_millis(20),
                stop.clone(),
                move || {
                    let grants = grants.clone();
                    async move { grants.expire_due(zhongtai_catalog::domain::now()).await }
                },
            ))
        })
        .collect();
    let housing = operator(HOUSING_FUND);
    zhongtai_testkit::eventually(Duration::from_secs(20), "grants expired", || {
        let t = &t;
        let housing = housing.clone();
        async move { (accessible(t, &housing).await.len() == 1).then_some(()) }
    })
    .await;
    stop.cancel();
    for timer in timers {
        timer.await.unwrap();
    }
    // Another tick finds nothing left to do.
    let after_expiry = t.snapshot().await;
    assert_eq!(
        t.catalog
            .grants
            .expire_due(zhongtai_catalog::domain::now())
            .await
            .unwrap(),
        0
    );
    assert_eq!(t.snapshot().await, after_expiry);
    assert_eq!(t.events("catalog.grant.expired").await, 2, "once per grant");
    assert_eq!(
        t.count("audit_log WHERE action = 'catalog.grant.expire'")
            .await,
        2
    );
    let expired = get_grant(&t, &housing, &granted.reviewed.id).await.unwrap();
    assert_eq!(expired.state(), pb::GrantState::Expired);
    assert_eq!(
        revoke(&t, &operator(CIVIL_AFFAIRS), &expired.id, "too late")
            .await
            .unwrap_err()
            .code(),
        Code::FailedPrecondition
    );
    assert_eq!(
        get_grant(&t, &housing, &granted.plain_ids.id)
            .await
            .unwrap()
            .state(),
        pb::GrantState::Approved
    );

    // Two instances ticking at the same moment expire a grant once.
    t.db.execute_unprepared(&format!(
        "UPDATE grants SET period_end = period_start WHERE id = '{}'",
        granted.plain_ids.id
    ))
    .await
    .unwrap();
    let now = zhongtai_catalog::domain::now();
    let (a, b) = tokio::join!(
        t.catalog.grants.expire_due(now),
        t.catalog.grants.expire_due(now)
    );
    assert_eq!(a.unwrap() + b.unwrap(), 1);
    assert_eq!(t.events("catalog.grant.expired").await, 3);
}
