//! The signed record proves what was agreed; consents are seen by their
//! parties and their app only.

use zhongtai_certificate::shared::Keyring;
use zhongtai_contracts::certificate::v1 as pb;
use zhongtai_credential::CompactJws;
use zhongtai_kit::Role;

use super::world::*;
use crate::support::{HEALTH, citizen, staff};

/// The terms of a consent's record, verified with the platform key of the
/// trust store.
async fn verified_terms(w: &World, consent: &pb::Consent) -> serde_json::Value {
    let jws = CompactJws::parse(&consent.signed_record).unwrap();
    assert_eq!(jws.header().typ.as_deref(), Some("zt-consent+jwt"));
    let trust = w.h.center.issuers.trust_store().await.unwrap();
    let key = trust
        .platform_key(&jws.header().kid)
        .expect("the record's key is the platform's");
    assert!(jws.verify(key), "signed by the platform key");
    jws.payload_json().unwrap()
}

#[tokio::test]
async fn the_signed_record_verifies_and_states_the_agreed_terms_after_every_change() {
    let w = World::postgres().await;
    let consent = w.pending().await;
    let terms = verified_terms(&w, &consent).await;
    assert_eq!(terms["consent_id"], consent.id.as_str());
    assert_eq!(terms["app_id"], APP_ID);
    assert_eq!(terms["requester_name"], "丽水好阿姨家政平台");
    assert_eq!(
        terms["holder"],
        format!("person:resident-id-card:{NANNY_ID}")
    );
    assert_eq!(terms["custodian"], HUMAN_RESOURCES);
    assert_eq!(
        terms["certificate_types"],
        serde_json::json!([QUALIFICATION, HEALTH_CERTIFICATE])
    );
    assert_eq!(terms["claims"], serde_json::json!(SCOPED_CLAIMS));
    assert_eq!(terms["purpose"], "hiring check");
    assert_eq!(terms["read_limit"], 3);
    assert_eq!(terms["state"], "pending");
    assert_eq!(terms["version"], consent.version);
    let period = consent.period.unwrap();
    let end =
        chrono::DateTime::parse_from_rfc3339(terms["period"]["end"].as_str().unwrap()).unwrap();
    assert_eq!(end.timestamp(), period.end_time.unwrap().seconds);

    let mut last = consent.signed_record.clone();
    for party in PARTIES {
        let unlocked = w
            .unlock(&acting_for(party), &consent.id, party)
            .await
            .unwrap();
        assert_ne!(unlocked.signed_record, last, "re-signed on every change");
        last = unlocked.signed_record.clone();
        let terms = verified_terms(&w, &unlocked).await;
        assert_eq!(terms["version"], unlocked.version);
        let unlocks = terms["unlocks"].as_array().unwrap();
        assert_eq!(unlocks.len(), unlocked.unlocks.len());
        let signed = unlocks.last().unwrap();
        assert_eq!(signed["actor"], acting_for(party).subject.as_str());
    }
    let revoked = w
        .revoke(&nanny(), &consent.id, pb::ConsentParty::Holder)
        .await
        .unwrap();
    let terms = verified_terms(&w, &revoked).await;
    assert_eq!(terms["state"], "revoked");
    assert_eq!(terms["ended_by"], "holder");
    assert_eq!(terms["end_reason"], "已另择平台");

    let stored = w.get(&platform(), &consent.id).await.unwrap();
    assert_eq!(
        stored.signed_record, revoked.signed_record,
        "the stored record is the last"
    );
}

#[tokio::test]
async fn only_the_parties_and_the_app_see_a_consent() {
    let w = World::postgres().await;
    let consent = w.pending().await;
    for who in [app(), custodian(), platform(), nanny()] {
        let seen = w.get(&who, &consent.id).await.unwrap();
        assert_eq!(seen.id, consent.id, "{}", who.subject);
        let listed = w.list(&who, Default::default()).await.unwrap();
        assert_eq!(listed.len(), 1, "{}", who.subject);
    }
    for who in [
        other_app(),
        citizen("331102199202023456"),
        staff("hr-operator", HUMAN_RESOURCES, &[Role::Operator]),
        staff("health-admin", HEALTH, &[Role::Admin]),
        staff("platform-viewer", crate::support::PLATFORM, &[Role::Viewer]),
    ] {
        let status = w.get(&who, &consent.id).await.unwrap_err();
        assert_eq!(status.code(), tonic::Code::NotFound, "{}", who.subject);
        let listed = w.list(&who, Default::default()).await.unwrap();
        assert!(listed.is_empty(), "{} lists {listed:?}", who.subject);
    }
}

#[tokio::test]
async fn lists_filter_by_state_and_by_the_party_still_awaited() {
    let w = World::postgres().await;
    let fresh = w.pending().await;
    let custodian_done = w.pending().await;
    w.unlock(
        &custodian(),
        &custodian_done.id,
        pb::ConsentParty::Custodian,
    )
    .await
    .unwrap();
    let active = w.active().await;
    let ids = |consents: Vec<pb::Consent>| -> Vec<String> {
        consents.into_iter().map(|c| c.id).collect()
    };
    let all = ids(w.list(&nanny(), Default::default()).await.unwrap());
    assert_eq!(
        all,
        vec![
            active.id.clone(),
            custodian_done.id.clone(),
            fresh.id.clone()
        ],
        "newest first"
    );
    let awaiting_custodian = ids(w
        .list(
            &custodian(),
            pb::ListConsentsRequest {
                awaiting_party: pb::ConsentParty::Custodian as i32,
                ..Default::default()
            },
        )
        .await
        .unwrap());
    assert_eq!(awaiting_custodian, vec![fresh.id.clone()]);
    let awaiting_holder = ids(w
        .list(
            &nanny(),
            pb::ListConsentsRequest {
                awaiting_party: pb::ConsentParty::Holder as i32,
                ..Default::default()
            },
        )
        .await
        .unwrap());
    assert_eq!(
        awaiting_holder,
        vec![custodian_done.id.clone(), fresh.id.clone()]
    );
    let active_only = ids(w
        .list(
            &app(),
            pb::ListConsentsRequest {
                states: vec![pb::ConsentState::Active as i32],
                ..Default::default()
            },
        )
        .await
        .unwrap());
    assert_eq!(active_only, vec![active.id.clone()]);

    let first_page = w.list_page(&platform(), 2, "").await;
    assert_eq!(
        ids(first_page.0),
        vec![active.id.clone(), custodian_done.id.clone()]
    );
    let second_page = w.list_page(&platform(), 2, &first_page.1).await;
    assert_eq!(ids(second_page.0), vec![fresh.id.clone()]);
    assert!(second_page.1.is_empty());
}
