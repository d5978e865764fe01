//! Concurrent reads never pass the limit.

use std::sync::Arc;

use zhongtai_contracts::certificate::v1 as pb;
use zhongtai_contracts::certificate::v1::consent_service_server::ConsentService;

use super::world::*;
use crate::support::{by, rid};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn twenty_parallel_reads_with_a_limit_of_five_allow_exactly_five() {
    let w = World::postgres().await;
    let consent = w.active_with_limit(5).await;
    let api = Arc::new(w.h.consents.clone());
    let reads: Vec<_> = (0..20)
        .map(|_| {
            let api = api.clone();
            let request = by(
                &app(),
                pb::ReadConsentedDataRequest {
                    request_id: rid(),
                    consent_id: consent.id.clone(),
                },
            );
            tokio::spawn(async move { api.read_consented_data(request).await })
        })
        .collect();
    let mut allowed = Vec::new();
    let mut refused = 0;
    for read in reads {
        match read.await.unwrap() {
            Ok(response) => allowed.push(response.into_inner().usage.unwrap().read_number),
            Err(status) => {
                assert_eq!(status.code(), tonic::Code::FailedPrecondition, "{status:?}");
                assert!(details(&status).contains("CONSENT_LIMIT_REACHED"));
                refused += 1;
            }
        }
    }
    allowed.sort();
    assert_eq!(allowed, vec![1, 2, 3, 4, 5], "each read number once");
    assert_eq!(refused, 15);
    let after = w.get(&nanny(), &consent.id).await.unwrap();
    assert_eq!(after.read_count, 5);
    assert_eq!(after.state(), pb::ConsentState::Exhausted);
    assert_eq!(
        w.events("certificate.consent.exhausted", &consent.id).await,
        1
    );
    let outcomes = w.outcomes(&consent.id).await;
    assert_eq!(outcomes.len(), 20, "every attempt is logged");
    let allowed_logged = outcomes
        .iter()
        .filter(|o| **o == pb::ConsentUsageOutcome::Allowed)
        .count();
    assert_eq!(allowed_logged, 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn parallel_retries_of_one_read_count_once() {
    let w = World::postgres().await;
    let consent = w.active_with_limit(5).await;
    let api = Arc::new(w.h.consents.clone());
    let request_id = rid();
    let reads: Vec<_> = (0..6)
        .map(|_| {
            let api = api.clone();
            let request = by(
                &app(),
                pb::ReadConsentedDataRequest {
                    request_id: request_id.clone(),
                    consent_id: consent.id.clone(),
                },
            );
            tokio::spawn(async move { api.read_consented_data(request).await })
        })
        .collect();
    let mut usages = Vec::new();
    for read in reads {
        usages.push(read.await.unwrap().unwrap().into_inner().usage.unwrap().id);
    }
    usages.dedup();
    assert_eq!(usages.len(), 1, "one read, returned to every retry");
    assert_eq!(w.get(&nanny(), &consent.id).await.unwrap().read_count, 1);
}
