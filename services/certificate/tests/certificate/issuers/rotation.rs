//! Rotation with certificates signed: the retired key verifies until the
//! last of them expires (or forever, when one never does), old
//! certificates keep verifying and new ones are signed with the new key.

use sea_orm::ConnectionTrait;
use zhongtai_certificate::shared::Keyring;
use zhongtai_contracts::certificate::v1 as pb;
use zhongtai_contracts::certificate::v1::certificate_service_server::CertificateService;

use crate::support::*;

async fn rotate(h: &Harness, issuer_id: &str) -> pb::RotateSigningKeyResponse {
    h.api
        .rotate_signing_key(by(
            &platform_admin(),
            pb::RotateSigningKeyRequest {
                request_id: rid(),
                issuer_id: issuer_id.into(),
            },
        ))
        .await
        .unwrap()
        .into_inner()
}

#[tokio::test]
async fn a_retired_key_verifies_until_its_last_certificate_expires() {
    check_retirement(Harness::postgres().await).await;
}

/// The embedded mode reads the certificates' expiry from SQLite's text
/// timestamps.
#[tokio::test]
async fn a_retired_key_verifies_until_its_last_certificate_expires_on_sqlite() {
    check_retirement(Harness::sqlite().await).await;
}

async fn check_retirement(h: Harness) {
    let issuer = licence_issuer(&h).await;
    let operator = issuer_operator(MARKET);
    let short = {
        let mut request = licence_request(&issuer);
        request.validity = Some(prost_types::Duration {
            seconds: 86_400,
            nanos: 0,
        });
        issue(&h, &operator, request).await.unwrap()
    };
    let long = issue(&h, &operator, licence_request(&issuer))
        .await
        .unwrap();
    assert_eq!(long.key_id, issuer.active_key_id);

    let rotated = rotate(&h, &issuer.id).await;
    let retired = rotated.retired_key.unwrap();
    let new_key = rotated.new_key.unwrap();
    assert_eq!(retired.key_id, long.key_id);
    // The latest expiry wins: ten years, not a day.
    assert_eq!(retired.verify_until_time, long.valid_until_time);
    assert!(short.valid_until_time.unwrap().seconds < long.valid_until_time.unwrap().seconds);
    let store = h.center.issuers.trust_store().await.unwrap();
    let trusted = store.issuer_key(&retired.key_id).unwrap();
    assert!(trusted.verify_until.unwrap().timestamp() >= long.valid_until_time.unwrap().seconds);

    // What the old key signed still verifies; new certificates use the new key.
    let checked = verify(&h, &operator, &long.token, false).await.unwrap();
    assert_eq!(
        checked.outcome(),
        pb::VerificationOutcome::Valid,
        "{checked:?}"
    );
    let newer = issue(&h, &operator, licence_request(&issuer))
        .await
        .unwrap();
    assert_eq!(newer.key_id, new_key.key_id);
    let checked = verify(&h, &operator, &newer.token, false).await.unwrap();
    assert_eq!(
        checked.outcome(),
        pb::VerificationOutcome::Valid,
        "{checked:?}"
    );
}

#[tokio::test]
async fn a_key_that_signed_a_certificate_without_expiry_verifies_forever() {
    let h = Harness::postgres().await;
    let mut forever = business_licence_type();
    forever.default_validity = None;
    let issuer = issuer_for(&h, MARKET, "丽水市市场监督管理局", forever).await;
    let certificate = issue(&h, &issuer_operator(MARKET), licence_request(&issuer))
        .await
        .unwrap();
    assert!(certificate.valid_until_time.is_none());
    let retired = rotate(&h, &issuer.id).await.retired_key.unwrap();
    assert_eq!(retired.state(), pb::SigningKeyState::Retired);
    assert!(retired.verify_until_time.is_none());
    let store = h.center.issuers.trust_store().await.unwrap();
    assert!(
        store
            .issuer_key(&retired.key_id)
            .unwrap()
            .verify_until
            .is_none()
    );
}

/// A certificate signed with the old key but stored only after the
/// rotation read the key's certificates (issuance racing the rotation).
#[tokio::test]
async fn a_certificate_stored_after_the_rotation_extends_the_retired_key() {
    let h = Harness::postgres().await;
    let issuer = licence_issuer(&h).await;
    let old_key = issuer.active_key_id.clone();
    let retired = rotate(&h, &issuer.id).await.retired_key.unwrap();
    let grace_end = retired.verify_until_time.unwrap();
    let late = issue(&h, &issuer_operator(MARKET), licence_request(&issuer))
        .await
        .unwrap();
    h.db.execute_unprepared(&format!(
        "UPDATE certificates SET key_id = '{old_key}' WHERE id = '{}'",
        late.id
    ))
    .await
    .unwrap();
    let until = late.valid_until_time.unwrap();
    assert!(until.seconds > grace_end.seconds);
    let extended = zhongtai_testkit::eventually(
        std::time::Duration::from_secs(10),
        "the retired key's verify_until to reach the late certificate's expiry",
        || async {
            let keys = h
                .api
                .list_signing_keys(by(
                    &platform_admin(),
                    pb::ListSigningKeysRequest {
                        issuer_id: issuer.id.clone(),
                        page: None,
                    },
                ))
                .await
                .ok()?
                .into_inner()
                .keys;
            let key = keys.into_iter().find(|k| k.key_id == old_key)?;
            (key.verify_until_time != Some(grace_end)).then_some(key)
        },
    )
    .await;
    assert_eq!(extended.verify_until_time, Some(until));
    assert_eq!(extended.state(), pb::SigningKeyState::Retired);
    zhongtai_testkit::eventually(
        std::time::Duration::from_secs(10),
        "the trust store to carry the extension",
        || async {
            let store = h.center.issuers.trust_store().await.ok()?;
            let until = store.issuer_key(&old_key)?.verify_until?;
            (until.timestamp() >= late.valid_until_time.unwrap().seconds).then_some(())
        },
    )
    .await;
}
