//! The embedded mode (SQLite): the guarded read, exhaustion, the party
//! filters and the expiry timer's query work there too.

use zhongtai_contracts::certificate::v1 as pb;

use super::expiry::{end_period, expired_by_timer};
use super::world::*;
use crate::support::Harness;

#[tokio::test]
async fn consents_work_on_sqlite() {
    let w = World::on(Harness::sqlite().await).await;
    let consent = w.active_with_limit(2).await;
    let first = w.read(&consent.id).await.unwrap();
    assert_eq!(first.certificates.len(), 2);
    assert_eq!(w.read(&consent.id).await.unwrap().reads_remaining, 0);
    assert_refused(
        w.read(&consent.id).await,
        tonic::Code::FailedPrecondition,
        "CONSENT_LIMIT_REACHED",
    );
    assert_eq!(
        w.get(&nanny(), &consent.id).await.unwrap().state(),
        pb::ConsentState::Exhausted
    );

    let waiting = w.pending().await;
    let awaiting = w
        .list(
            &nanny(),
            pb::ListConsentsRequest {
                awaiting_party: pb::ConsentParty::Holder as i32,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        awaiting.iter().map(|c| c.id.as_str()).collect::<Vec<_>>(),
        vec![waiting.id.as_str()]
    );

    let ending = w.active().await;
    end_period(&w, &ending.id).await;
    assert_refused(
        w.read(&ending.id).await,
        tonic::Code::FailedPrecondition,
        "CONSENT_EXPIRED",
    );
    expired_by_timer(&w, &ending.id).await;
}
