//! Reads under an active consent: the scoped data, counted and logged; the
//! limit, revocation and the wrong app refuse at once.

use prost::Message;
use zhongtai_contracts::certificate::v1 as pb;

use super::world::*;
use crate::support::{citizen, rid};

fn claim_names(certificate: &pb::ConsentedCertificate) -> Vec<String> {
    certificate.claims.iter().map(|c| c.name.clone()).collect()
}

#[tokio::test]
async fn reads_return_the_scoped_claims_and_are_counted_until_the_limit() {
    let w = World::postgres().await;
    let consent = w.active().await;
    assert_eq!(consent.state(), pb::ConsentState::Active);

    let first = w.read(&consent.id).await.unwrap();
    let mut ids: Vec<&str> = first
        .certificates
        .iter()
        .map(|c| c.certificate_id.as_str())
        .collect();
    ids.sort();
    let mut expected = vec![w.qualification.id.as_str(), w.health.id.as_str()];
    expected.sort();
    assert_eq!(ids, expected, "the custodian's certificates only");
    assert!(!ids.contains(&w.other_health.id.as_str()));
    for certificate in &first.certificates {
        assert_eq!(certificate.status(), pb::CertificateStatus::Valid);
        assert!(certificate.valid_from_time.is_some());
        let names = claim_names(certificate);
        if certificate.certificate_id == w.qualification.id {
            assert_eq!(certificate.certificate_type, QUALIFICATION);
            assert_eq!(
                names,
                vec!["qualification", "level"],
                "no certificate number"
            );
            let qualification = &certificate.claims[0];
            assert_eq!(
                qualification.value,
                Some(pb::claim::Value::StringValue("育婴员".into()))
            );
        } else {
            assert_eq!(names, vec!["occupation"], "no examination date");
        }
    }
    let encoded = first.encode_to_vec();
    for token in [&w.qualification.token, &w.health.token] {
        assert!(
            !encoded
                .windows(token.len())
                .any(|window| window == token.as_bytes()),
            "a consented read never returns the signed token"
        );
    }
    assert_eq!(first.reads_remaining, 2);
    let usage = first.usage.clone().unwrap();
    assert_eq!(usage.outcome(), pb::ConsentUsageOutcome::Allowed);
    assert_eq!(usage.read_number, 1);
    assert_eq!(usage.app_id, APP_ID);
    assert_eq!(usage.certificate_ids.len(), 2);
    let mut logged_claims = usage.claims.clone();
    logged_claims.sort();
    assert_eq!(logged_claims, vec!["level", "occupation", "qualification"]);

    let second = w.read(&consent.id).await.unwrap();
    assert_eq!(second.reads_remaining, 1);
    assert_eq!(
        w.get(&custodian(), &consent.id).await.unwrap().state(),
        pb::ConsentState::Active
    );
    let third = w.read(&consent.id).await.unwrap();
    assert_eq!(third.reads_remaining, 0);
    assert_eq!(third.usage.unwrap().read_number, 3);
    let exhausted = w.get(&custodian(), &consent.id).await.unwrap();
    assert_eq!(exhausted.state(), pb::ConsentState::Exhausted);
    assert_eq!(exhausted.read_count, 3);
    assert_eq!(
        w.events("certificate.consent.exhausted", &consent.id).await,
        1
    );

    assert_refused(
        w.read(&consent.id).await,
        tonic::Code::FailedPrecondition,
        "CONSENT_LIMIT_REACHED",
    );
    let usage = w.usage(&custodian(), &consent.id).await.unwrap();
    let log: Vec<(pb::ConsentUsageOutcome, i64)> =
        usage.iter().map(|u| (u.outcome(), u.read_number)).collect();
    assert_eq!(
        log,
        vec![
            (pb::ConsentUsageOutcome::RefusedLimit, 0),
            (pb::ConsentUsageOutcome::Allowed, 3),
            (pb::ConsentUsageOutcome::Allowed, 2),
            (pb::ConsentUsageOutcome::Allowed, 1),
        ],
        "every attempt, newest first"
    );
    assert!(
        usage[0].certificate_ids.is_empty(),
        "a refused read returns nothing"
    );
    assert_eq!(w.events("certificate.consent.read", &consent.id).await, 4);
}

#[tokio::test]
async fn a_retry_with_the_same_request_id_returns_the_same_data_uncounted() {
    let w = World::postgres().await;
    let consent = w.active_with_limit(2).await;
    let request_id = rid();
    let first = w.read_with(&app(), &consent.id, &request_id).await.unwrap();
    let retry = w.read_with(&app(), &consent.id, &request_id).await.unwrap();
    assert_eq!(retry, first, "the same read again");
    let seen = w.get(&nanny(), &consent.id).await.unwrap();
    assert_eq!(seen.read_count, 1, "counted once");
    assert_eq!(w.usage(&nanny(), &consent.id).await.unwrap().len(), 1);

    let last_id = rid();
    let last = w.read_with(&app(), &consent.id, &last_id).await.unwrap();
    assert_eq!(last.reads_remaining, 0);
    let retry = w.read_with(&app(), &consent.id, &last_id).await.unwrap();
    assert_eq!(
        retry, last,
        "the read that used up the limit can be retried"
    );
    assert_refused(
        w.read(&consent.id).await,
        tonic::Code::FailedPrecondition,
        "CONSENT_LIMIT_REACHED",
    );
}

#[tokio::test]
async fn the_holder_revokes_and_reads_are_refused_at_once() {
    let w = World::postgres().await;
    let consent = w.active().await;
    let request_id = rid();
    w.read_with(&app(), &consent.id, &request_id).await.unwrap();
    let revoked = w
        .revoke(&nanny(), &consent.id, pb::ConsentParty::Holder)
        .await
        .unwrap();
    assert_eq!(revoked.state(), pb::ConsentState::Revoked);
    assert_eq!(revoked.ended_by(), pb::ConsentParty::Holder);
    assert_eq!(revoked.end_reason, "已另择平台");
    assert_eq!(
        w.events("certificate.consent.revoked", &consent.id).await,
        1
    );

    assert_refused(
        w.read(&consent.id).await,
        tonic::Code::PermissionDenied,
        "CONSENT_REVOKED",
    );
    assert_refused(
        w.read_with(&app(), &consent.id, &request_id).await,
        tonic::Code::PermissionDenied,
        "CONSENT_REVOKED",
    );
    let again = w
        .revoke(&custodian(), &consent.id, pb::ConsentParty::Custodian)
        .await
        .unwrap();
    assert_eq!(
        again.ended_by(),
        pb::ConsentParty::Holder,
        "revoking twice is a no-op"
    );
    assert_eq!(
        w.outcomes(&consent.id).await,
        vec![
            pb::ConsentUsageOutcome::Allowed,
            pb::ConsentUsageOutcome::RefusedRevoked,
            pb::ConsentUsageOutcome::RefusedRevoked,
        ]
    );
}

#[tokio::test]
async fn any_party_can_revoke() {
    let w = World::postgres().await;
    for party in PARTIES {
        let consent = w.active().await;
        let revoked = w
            .revoke(&acting_for(party), &consent.id, party)
            .await
            .unwrap();
        assert_eq!(revoked.ended_by(), party);
        assert_refused(
            w.read(&consent.id).await,
            tonic::Code::PermissionDenied,
            "CONSENT_REVOKED",
        );
    }
}

#[tokio::test]
async fn only_the_consents_app_reads_and_other_readers_are_logged() {
    let w = World::postgres().await;
    let consent = w.active().await;
    for reader in [other_app(), custodian(), nanny()] {
        assert_refused(
            w.read_with(&reader, &consent.id, &rid()).await,
            tonic::Code::PermissionDenied,
            "CONSENT_WRONG_APP",
        );
    }
    let seen = w.get(&nanny(), &consent.id).await.unwrap();
    assert_eq!(seen.read_count, 0, "refused reads are not counted");
    let mut usage = w.usage(&nanny(), &consent.id).await.unwrap();
    usage.reverse();
    let readers: Vec<(&str, pb::ConsentUsageOutcome)> = usage
        .iter()
        .map(|u| (u.app_id.as_str(), u.outcome()))
        .collect();
    let custodian = custodian();
    let nanny = nanny();
    assert_eq!(
        readers,
        vec![
            ("cheap-nannies", pb::ConsentUsageOutcome::RefusedWrongApp),
            (
                custodian.subject.as_str(),
                pb::ConsentUsageOutcome::RefusedWrongApp
            ),
            (
                nanny.subject.as_str(),
                pb::ConsentUsageOutcome::RefusedWrongApp
            ),
        ]
    );
    assert_eq!(
        w.audited("certificate.consent.read", &consent.id, "denied")
            .await,
        3,
        "each refusal is audited"
    );
    assert!(
        w.read(&consent.id).await.is_ok(),
        "the app itself still reads"
    );
    assert_eq!(
        w.audited("certificate.consent.read", &consent.id, "allowed")
            .await,
        1
    );
}

#[tokio::test]
async fn the_usage_log_is_for_the_parties_and_the_app() {
    let w = World::postgres().await;
    let consent = w.active().await;
    w.read(&consent.id).await.unwrap();
    for who in [app(), custodian(), platform(), nanny()] {
        let usage = w.usage(&who, &consent.id).await.unwrap();
        assert_eq!(usage.len(), 1, "{}", who.subject);
    }
    for who in [other_app(), citizen("331102199202023456")] {
        let status = w.usage(&who, &consent.id).await.unwrap_err();
        assert_eq!(status.code(), tonic::Code::NotFound, "{}", who.subject);
    }
}
