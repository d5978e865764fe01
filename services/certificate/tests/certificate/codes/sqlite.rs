//! The embedded mode (SQLite): scans written in batches with
//! insert-or-ignore and read back by window, venues listed by division,
//! offline revocations loaded at start.

use zhongtai_contracts::certificate::v1 as pb;
use zhongtai_contracts::certificate::v1::code_service_server::CodeService;
use zhongtai_contracts::common::v1 as common;

use super::world::*;
use crate::support::{Harness, by, person, rid};

#[tokio::test]
async fn scans_and_revocations_work_on_sqlite() {
    let w = World::on(Harness::sqlite().await);
    w.parent_certified().await;
    let venue = w.register_venue(&gate_clerk(), "图书馆").await.unwrap();
    let code = w.show(&parent()).await.unwrap();
    let scan_id = rid();
    let first = w
        .scan(&venue.id, &code.qr_payload, &scan_id, 20)
        .await
        .unwrap();
    assert_eq!(
        w.scan(&venue.id, &code.qr_payload, &scan_id, 1)
            .await
            .unwrap(),
        first
    );
    let second = w
        .scan(&venue.id, &code.qr_payload, &rid(), 10)
        .await
        .unwrap();
    assert_eq!(w.h.count("venue_scans").await, 2);

    let scans = w
        .venue_scans(
            &venue_auditor(),
            &venue.id,
            30,
            0,
            common::PageRequest::default(),
        )
        .await
        .unwrap()
        .scans;
    assert_eq!(scans, vec![first.clone(), second]);
    let earlier = w
        .venue_scans(
            &venue_auditor(),
            &venue.id,
            30,
            15,
            common::PageRequest::default(),
        )
        .await
        .unwrap()
        .scans;
    assert_eq!(earlier, vec![first]);
    let hers = w
        .holder_scans(
            &venue_auditor(),
            Some(person(PARENT_NAME, PARENT_ID)),
            30,
            0,
        )
        .await
        .unwrap();
    assert_eq!(hers.len(), 2);

    let offline = w.issue_offline(&rid(), PARENT_ID, 30).await.unwrap();
    w.h.codes
        .revoke_offline_code(by(
            &counter_clerk(),
            pb::RevokeOfflineCodeRequest {
                id: offline.id.clone(),
                reason: "遗失".into(),
            },
        ))
        .await
        .unwrap();
    let fresh = w.h.another_instance().codes.api();
    let outcome = fresh
        .verify_code(by(
            &gate_clerk(),
            pb::VerifyCodeRequest {
                payload: offline.qr_payload,
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .result
        .unwrap()
        .outcome();
    assert_eq!(outcome, pb::VerificationOutcome::Revoked);
}
