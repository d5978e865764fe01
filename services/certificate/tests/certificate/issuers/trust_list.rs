//! The trust list: public, signed by the platform anchor, cheap to poll,
//! following rotations and revocations on this instance at once and on
//! others within the refresh interval.

use std::time::Duration;

use tonic::Request;
use zhongtai_certificate::shared::Keyring;
use zhongtai_contracts::certificate::v1 as pb;
use zhongtai_contracts::certificate::v1::certificate_service_server::CertificateService;
use zhongtai_credential::{PublicKey, TrustListDocument};
use zhongtai_testkit::eventually;

use crate::support::*;

/// Without a token: the trust list is public.
async fn trust_list(h: &Harness, if_newer_than_version: i64) -> pb::GetTrustListResponse {
    h.api
        .get_trust_list(Request::new(pb::GetTrustListRequest {
            if_newer_than_version,
        }))
        .await
        .unwrap()
        .into_inner()
}

async fn anchor(h: &Harness) -> (String, PublicKey) {
    let platform = h.center.issuers.platform_signer().await.unwrap();
    (platform.key_id().to_string(), platform.public_key())
}

async fn with_issuer(h: &Harness) -> pb::CreateIssuerResponse {
    create_type(h, business_licence_type()).await.unwrap();
    create_issuer(h, MARKET, "丽水市市场监督管理局", &["business-licence"])
        .await
        .unwrap()
}

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

fn listed_keys(list: &pb::TrustList) -> Vec<String> {
    list.issuers
        .iter()
        .flat_map(|issuer| issuer.keys.iter().map(|key| key.key_id.clone()))
        .collect()
}

#[tokio::test]
async fn the_list_carries_the_keys_signed_by_the_anchor() {
    let h = Harness::postgres().await;
    let created = with_issuer(&h).await;
    let issuer = created.issuer.unwrap();
    let key = created.signing_key.unwrap();
    let answer = trust_list(&h, 0).await;
    assert!(!answer.not_modified);
    let list = answer.trust_list.clone().unwrap();
    assert!(list.version >= 1);
    assert_eq!(list.issuers.len(), 1);
    let listed = &list.issuers[0];
    assert_eq!(listed.issuer_id, issuer.id);
    assert_eq!(listed.name, issuer.name);
    assert_eq!(listed.certificate_types, ["business-licence"]);
    assert_eq!(listed.keys, std::slice::from_ref(&key));
    let issued = list.issue_time.unwrap().seconds;
    assert_eq!(list.next_update_time.unwrap().seconds, issued + 300);

    // The signed form opens with the pinned anchor only.
    let (anchor_kid, anchor_key) = anchor(&h).await;
    assert_eq!(answer.anchor_key_id, anchor_kid);
    let document = TrustListDocument::open(
        &answer.signed_trust_list,
        &[(anchor_kid.clone(), anchor_key)],
    )
    .unwrap();
    assert_eq!(document.version, list.version);
    assert_eq!(document.next_update - document.iat, 300);
    let store = document.to_store().unwrap();
    let trusted = store.issuer_key(&key.key_id).unwrap();
    assert_eq!(trusted.issuer_id, issuer.id);
    assert_eq!(trusted.public_key.0.as_slice(), key.public_key.as_slice());
    assert_eq!(trusted.certificate_types, ["business-licence"]);
    assert!(store.platform_key(&anchor_kid).is_some());
    let stranger = zhongtai_credential::SigningKey::generate("ztp-stranger")
        .unwrap()
        .0;
    assert!(
        TrustListDocument::open(
            &answer.signed_trust_list,
            &[(anchor_kid.clone(), stranger.public_key())]
        )
        .is_err()
    );

    // The JWKS has every key for standard JOSE libraries.
    let jwks: serde_json::Value = serde_json::from_str(&answer.jwks).unwrap();
    let keys = jwks["keys"].as_array().unwrap();
    let kids: Vec<&str> = keys.iter().map(|k| k["kid"].as_str().unwrap()).collect();
    assert!(kids.contains(&key.key_id.as_str()) && kids.contains(&anchor_kid.as_str()));
    for jwk in keys {
        assert_eq!(jwk["kty"], "OKP");
        assert_eq!(jwk["crv"], "Ed25519");
        assert!(jwk.get("d").is_none(), "no private part: {jwk}");
    }

    // What verification uses in memory is the same list.
    let in_memory = h.center.issuers.trust_store().await.unwrap();
    assert_eq!(in_memory.version(), list.version);
    assert!(in_memory.issuer_key(&key.key_id).is_some());
}

#[tokio::test]
async fn rotation_keeps_the_old_key_and_revocation_drops_it() {
    let h = Harness::postgres().await;
    let created = with_issuer(&h).await;
    let issuer = created.issuer.unwrap();
    let first = created.signing_key.unwrap();
    let before = trust_list(&h, 0).await.trust_list.unwrap();

    let rotated = rotate(&h, &issuer.id).await;
    let new_key = rotated.new_key.unwrap();
    let after = trust_list(&h, 0).await.trust_list.unwrap();
    assert_eq!(after.version, rotated.trust_list_version);
    assert!(after.version > before.version);
    let keys = listed_keys(&after);
    assert!(
        keys.contains(&first.key_id) && keys.contains(&new_key.key_id),
        "{keys:?}"
    );
    let retired = after.issuers[0]
        .keys
        .iter()
        .find(|k| k.key_id == first.key_id)
        .unwrap();
    assert_eq!(retired.state(), pb::SigningKeyState::Retired);
    let store = h.center.issuers.trust_store().await.unwrap();
    assert!(
        store
            .issuer_key(&first.key_id)
            .unwrap()
            .verify_until
            .is_some()
    );
    assert!(
        store
            .issuer_key(&new_key.key_id)
            .unwrap()
            .verify_until
            .is_none()
    );

    h.api
        .revoke_signing_key(by(
            &platform_admin(),
            pb::RevokeSigningKeyRequest {
                key_id: first.key_id.clone(),
                reason: "私钥泄露".into(),
            },
        ))
        .await
        .unwrap();
    let revoked = trust_list(&h, 0).await;
    let list = revoked.trust_list.unwrap();
    assert_eq!(listed_keys(&list), std::slice::from_ref(&new_key.key_id));
    let (anchor_kid, anchor_key) = anchor(&h).await;
    let document =
        TrustListDocument::open(&revoked.signed_trust_list, &[(anchor_kid, anchor_key)]).unwrap();
    let signed = document.to_store().unwrap();
    assert!(signed.issuer_key(&first.key_id).is_none());
    assert!(!revoked.jwks.contains(&first.key_id));
    let store = h.center.issuers.trust_store().await.unwrap();
    assert!(
        store.issuer_key(&first.key_id).is_none(),
        "revoked at once here"
    );
    assert_eq!(
        h.count("event_outbox WHERE event_type = 'certificate.trust_list.published'")
            .await,
        h.count("trust_list_state t, generate_series(1, t.version)")
            .await,
        "one event per version"
    );
}

#[tokio::test]
async fn polling_with_the_current_version_is_not_modified() {
    let h = Harness::postgres().await;
    let created = with_issuer(&h).await;
    let current = trust_list(&h, 0).await.trust_list.unwrap().version;
    let polled = trust_list(&h, current).await;
    assert!(polled.not_modified);
    assert!(polled.trust_list.is_none());
    assert!(polled.signed_trust_list.is_empty() && polled.jwks.is_empty());
    let newer = trust_list(&h, current - 1).await;
    assert!(!newer.not_modified);
    assert_eq!(newer.trust_list.unwrap().version, current);

    rotate(&h, &created.issuer.unwrap().id).await;
    let moved = trust_list(&h, current).await;
    assert!(!moved.not_modified);
    assert!(moved.trust_list.unwrap().version > current);
}

#[tokio::test]
async fn another_instance_sees_a_rotation_within_the_refresh_interval() {
    let h = Harness::postgres().await;
    let created = with_issuer(&h).await;
    let issuer = created.issuer.unwrap();
    let other = h.another_instance();
    let other_api = other.certificate_api();
    let before = other.issuers.trust_store().await.unwrap();
    assert!(
        before
            .issuer_key(&created.signing_key.unwrap().key_id)
            .is_some()
    );

    let rotated = rotate(&h, &issuer.id).await;
    let new_kid = rotated.new_key.unwrap().key_id;
    // The harness refreshes every 50 ms; a generous bound, not a timing.
    eventually(
        Duration::from_secs(10),
        "the other instance's trust store",
        || {
            let other = other.clone();
            let new_kid = new_kid.clone();
            async move {
                let store = other.issuers.trust_store().await.ok()?;
                store.issuer_key(&new_kid).map(|_| ())
            }
        },
    )
    .await;
    let listed = eventually(Duration::from_secs(10), "the other instance's list", || {
        let api = &other_api;
        let new_kid = new_kid.clone();
        async move {
            let list = api
                .get_trust_list(Request::new(pb::GetTrustListRequest::default()))
                .await
                .ok()?
                .into_inner()
                .trust_list?;
            listed_keys(&list).contains(&new_kid).then_some(list)
        }
    })
    .await;
    assert_eq!(listed.version, rotated.trust_list_version);
    // And it signs with the new key.
    let signer = other
        .issuers
        .issuer_signer(issuer.id.parse().unwrap(), "business-licence")
        .await
        .unwrap();
    assert_eq!(signer.key.key_id(), new_kid);
}

#[tokio::test]
async fn an_issuer_without_keys_is_not_listed() {
    let h = Harness::sqlite().await;
    let empty = trust_list(&h, 0).await.trust_list.unwrap();
    assert!(empty.issuers.is_empty());
    let created = with_issuer(&h).await;
    let list = trust_list(&h, 0).await.trust_list.unwrap();
    assert_eq!(listed_keys(&list), [created.signing_key.unwrap().key_id]);
}
