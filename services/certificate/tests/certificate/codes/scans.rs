//! Venues and scans: each scan verified and recorded (holder, venue,
//! time), written in batches, listed by venue and by holder.

use tonic::Code;
use zhongtai_contracts::certificate::v1 as pb;
use zhongtai_contracts::certificate::v1::code_service_server::CodeService;
use zhongtai_contracts::common::v1 as common;
use zhongtai_kit::Role;
use zhongtai_kit::config::CertificateConfig;

use super::world::*;
use crate::support::{Harness, by, citizen, config, person, rid, staff};

#[tokio::test]
async fn venues_are_registered_once_and_read_by_their_tenant() {
    let w = World::new().await;
    let request = pb::RegisterVenueRequest {
        request_id: rid(),
        name: "丽水市图书馆".into(),
        address: "丽水市莲都区丽阳街".into(),
        division_code: "331102".into(),
    };
    let register =
        |request: pb::RegisterVenueRequest| w.h.codes.register_venue(by(&gate_clerk(), request));
    let venue = register(request.clone())
        .await
        .unwrap()
        .into_inner()
        .venue
        .unwrap();
    let again = register(request.clone())
        .await
        .unwrap()
        .into_inner()
        .venue
        .unwrap();
    assert_eq!(venue, again);
    let reused = register(pb::RegisterVenueRequest {
        name: "别的馆".into(),
        ..request.clone()
    })
    .await
    .unwrap_err();
    assert_eq!(reused.code(), Code::InvalidArgument);
    assert_eq!(w.events("certificate.venue.registered", &venue.id).await, 1);

    let outside = register(pb::RegisterVenueRequest {
        request_id: rid(),
        division_code: "331121".into(),
        ..request
    })
    .await
    .unwrap_err();
    assert_eq!(fields(&outside), ["division_code"], "{outside:?}");

    let got =
        w.h.codes
            .get_venue(by(
                &venue_auditor(),
                pb::GetVenueRequest {
                    id: venue.id.clone(),
                },
            ))
            .await
            .unwrap()
            .into_inner()
            .venue
            .unwrap();
    assert_eq!(got, venue);
    let foreign = staff("someone", OTHER_CITY, &[Role::Admin]);
    let hidden =
        w.h.codes
            .get_venue(by(
                &foreign,
                pb::GetVenueRequest {
                    id: venue.id.clone(),
                },
            ))
            .await
            .unwrap_err();
    assert_eq!(hidden.code(), Code::NotFound);
    let list = |caller, division: &str| {
        let request = pb::ListVenuesRequest {
            division_code: division.into(),
            ..Default::default()
        };
        let codes = w.h.codes.clone();
        async move {
            codes
                .list_venues(by(&caller, request))
                .await
                .unwrap()
                .into_inner()
                .venues
        }
    };
    assert_eq!(list(gate_clerk(), "").await, vec![venue.clone()]);
    assert_eq!(list(gate_clerk(), "331100").await, vec![venue.clone()]);
    assert!(list(gate_clerk(), "331121").await.is_empty());
    assert!(list(foreign, "").await.is_empty());
}

#[tokio::test]
async fn scans_are_recorded_and_traced_by_venue_and_by_holder() {
    let w = World::new().await;
    w.parent_certified().await;
    let library = w.register_venue(&gate_clerk(), "图书馆").await.unwrap();
    let museum = w.register_venue(&gate_clerk(), "博物馆").await.unwrap();
    let code = w.show(&parent()).await.unwrap();

    let first = w
        .scan(&library.id, &code.qr_payload, &rid(), 30)
        .await
        .unwrap();
    assert_eq!(first.outcome(), pb::VerificationOutcome::Valid);
    assert_eq!(first.code_id, code.id);
    assert_eq!(first.code_kind(), pb::CodeKind::Personal);
    assert_eq!(first.holder_status(), pb::HolderStatus::Normal);
    assert!(format!("{:?}", first.holder).contains("**************4321"));
    assert_eq!(first.scanned_by.as_ref().unwrap().subject, "gate-clerk");
    w.scan(&museum.id, &code.qr_payload, &rid(), 20)
        .await
        .unwrap();
    w.scan(&library.id, &code.qr_payload, &rid(), 10)
        .await
        .unwrap();
    assert_eq!(
        w.h.count("event_outbox WHERE event_type LIKE '%scan%'")
            .await,
        0,
        "no event per scan"
    );

    let at_library = w
        .venue_scans(
            &venue_auditor(),
            &library.id,
            60,
            0,
            common::PageRequest::default(),
        )
        .await
        .unwrap()
        .scans;
    assert_eq!(at_library.len(), 2);
    let seconds = |scan: &pb::ScanRecord| scan.scan_time.unwrap().seconds;
    assert!(
        seconds(&at_library[0]) < seconds(&at_library[1]),
        "oldest first"
    );
    assert_eq!(at_library[0], first);
    let earlier = w
        .venue_scans(
            &venue_auditor(),
            &library.id,
            60,
            15,
            common::PageRequest::default(),
        )
        .await
        .unwrap()
        .scans;
    assert_eq!(earlier, vec![first.clone()], "only the window");
    let paged = w
        .venue_scans(
            &venue_auditor(),
            &library.id,
            60,
            0,
            common::PageRequest {
                page_size: 1,
                page_token: String::new(),
            },
        )
        .await
        .unwrap();
    assert_eq!(paged.scans, vec![first.clone()]);
    let next = w
        .venue_scans(
            &venue_auditor(),
            &library.id,
            60,
            0,
            common::PageRequest {
                page_size: 1,
                page_token: paged.page.unwrap().next_page_token,
            },
        )
        .await
        .unwrap();
    assert_eq!(next.scans, vec![at_library[1].clone()]);

    // Where was she? She may ask herself; an auditor of the venues may
    // ask about her; another citizen may not.
    let own = w.holder_scans(&parent(), None, 60, 0).await.unwrap();
    let venues: Vec<&str> = own.iter().map(|s| s.venue_id.as_str()).collect();
    assert_eq!(venues, [&library.id, &museum.id, &library.id]);
    let her = Some(person(PARENT_NAME, PARENT_ID));
    assert_eq!(
        w.holder_scans(&venue_auditor(), her.clone(), 60, 0)
            .await
            .unwrap(),
        own
    );
    let denied = w
        .holder_scans(&citizen(STRANGER_ID), her.clone(), 60, 0)
        .await
        .unwrap_err();
    assert_eq!(denied.code(), Code::PermissionDenied);
    let foreign_auditor = staff("auditor", OTHER_CITY, &[Role::Auditor]);
    assert!(
        w.holder_scans(&foreign_auditor, her, 60, 0)
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn a_retried_scan_is_recorded_once_and_answered_as_first_recorded() {
    let w = World::new().await;
    w.parent_certified().await;
    let venue = w.register_venue(&gate_clerk(), "体育馆").await.unwrap();
    let code = w.show(&parent()).await.unwrap();
    let scan_id = rid();
    let first = w
        .scan(&venue.id, &code.qr_payload, &scan_id, 5)
        .await
        .unwrap();
    let retried = w
        .scan(&venue.id, &code.qr_payload, &scan_id, 1)
        .await
        .unwrap();
    assert_eq!(retried, first);
    assert_eq!(w.h.count("venue_scans").await, 1);
}

#[tokio::test]
async fn an_unreadable_code_is_refused_but_recorded_as_a_failed_scan() {
    let w = World::new().await;
    let venue = w.register_venue(&gate_clerk(), "体育馆").await.unwrap();
    let refused = w
        .scan(&venue.id, "ZT1:THIS IS NOT A CODE", &rid(), 0)
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::InvalidArgument, "{refused:?}");
    assert_eq!(fields(&refused), ["payload"]);
    assert_eq!(
        w.h.count("venue_scans WHERE outcome = 'unreadable' AND code_id = ''")
            .await,
        1
    );
    let scans = w
        .venue_scans(
            &venue_auditor(),
            &venue.id,
            10,
            -10,
            common::PageRequest::default(),
        )
        .await
        .unwrap()
        .scans;
    assert_eq!(scans[0].outcome(), pb::VerificationOutcome::Unspecified);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_thousand_concurrent_scans_are_all_recorded_in_few_batches() {
    let h = Harness::postgres_with(CertificateConfig {
        scan_batch_linger_ms: 100,
        ..config()
    })
    .await;
    let w = World::on(h);
    w.parent_certified().await;
    let venue = w.register_venue(&gate_clerk(), "火车站").await.unwrap();
    let code = w.show(&parent()).await.unwrap();
    let before = w.h.center.codes.scan_batches();

    let scans: Vec<_> = (0..2_000)
        .map(|_| {
            let api = w.h.codes.clone();
            let request = pb::ScanCodeRequest {
                scan_id: rid(),
                venue_id: venue.id.clone(),
                payload: code.qr_payload.clone(),
                device_id: "gate-2".into(),
                ..Default::default()
            };
            tokio::spawn(async move { api.scan_code(by(&gate_clerk(), request)).await })
        })
        .collect();
    for scan in scans {
        let scan = scan.await.unwrap().unwrap().into_inner().scan.unwrap();
        assert_eq!(scan.outcome(), pb::VerificationOutcome::Valid);
    }

    assert_eq!(
        w.h.count("venue_scans").await,
        2_000,
        "every answered scan is stored"
    );
    let after = w.h.center.codes.scan_batches();
    let batches = after.batches - before.batches;
    assert_eq!(after.items - before.items, 2_000);
    assert!(batches <= 100, "2000 scans in {batches} INSERT batches");
}
