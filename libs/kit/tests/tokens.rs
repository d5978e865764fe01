//! Token verification as a service sees it: keys from a JWKS file or URL,
//! rotation without restart, clock skew within the leeway.

#![allow(clippy::unwrap_used)] // helpers outside #[test] fns may panic: they are test code

use std::sync::Arc;
use std::time::Duration;

use zhongtai_kit::auth::{
    Claims, DevIssuer, JwksSource, KeySet, TokenError, TokenRules, TokenVerifier,
};
use zhongtai_kit::{Role, TenantId};

fn tenant() -> TenantId {
    TenantId::parse("331100", "housing-fund").unwrap()
}

fn claims(issuer: &DevIssuer) -> Claims {
    issuer.claims(
        "alice",
        &tenant(),
        &[Role::Operator],
        Duration::from_secs(600),
    )
}

async fn verifier(source: JwksSource, leeway: Duration) -> TokenVerifier {
    let keys = KeySet::load(source, Duration::from_secs(300))
        .await
        .unwrap();
    TokenVerifier::new(
        Arc::new(keys),
        TokenRules {
            leeway,
            ..DevIssuer::rules()
        },
    )
}

/// Two issuers; the verifier trusts the JWKS file of the old one, which a
/// test may rewrite.
struct Rotation {
    _old: tempfile::TempDir,
    new: tempfile::TempDir,
    old_issuer: DevIssuer,
    new_issuer: DevIssuer,
    jwks: std::path::PathBuf,
    verifier: TokenVerifier,
}

impl Rotation {
    async fn new() -> Self {
        let old = tempfile::tempdir().unwrap();
        let new = tempfile::tempdir().unwrap();
        let old_issuer = DevIssuer::load_or_create(old.path()).unwrap();
        let new_issuer = DevIssuer::load_or_create(new.path()).unwrap();
        let jwks = DevIssuer::jwks_path(old.path());
        let verifier = verifier(JwksSource::File(jwks.clone()), Duration::from_secs(60)).await;
        Self {
            _old: old,
            new,
            old_issuer,
            new_issuer,
            jwks,
            verifier,
        }
    }
}

#[tokio::test]
async fn a_rotated_in_key_is_accepted_without_a_restart() {
    let rotation = Rotation::new().await;
    let (old_issuer, new_issuer, verifier) = (
        &rotation.old_issuer,
        &rotation.new_issuer,
        &rotation.verifier,
    );
    let (jwks, new) = (rotation.jwks.clone(), &rotation.new);

    let caller = verifier
        .verify(&old_issuer.sign(&claims(old_issuer)).unwrap())
        .await
        .unwrap();
    assert_eq!(caller.subject, "alice");
    assert_eq!(caller.tenant, tenant());
    let rotated = new_issuer.sign(&claims(new_issuer)).unwrap();
    assert!(matches!(
        verifier.verify(&rotated).await,
        Err(TokenError::UnknownKey(_))
    ));

    // The identity provider publishes both keys while tokens of the old one
    // are still in use.
    let both = |path: &std::path::Path| -> Vec<serde_json::Value> {
        let set: serde_json::Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
        set["keys"].as_array().unwrap().clone()
    };
    let mut keys = both(&jwks);
    keys.extend(both(&DevIssuer::jwks_path(new.path())));
    std::fs::write(&jwks, serde_json::json!({ "keys": keys }).to_string()).unwrap();
    // Unknown key ids reload the set at most once a second.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(verifier.verify(&rotated).await.unwrap().subject, "alice");
    assert!(
        verifier
            .verify(&old_issuer.sign(&claims(old_issuer)).unwrap())
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn clock_skew_within_the_leeway_is_tolerated() {
    let dir = tempfile::tempdir().unwrap();
    let issuer = DevIssuer::load_or_create(dir.path()).unwrap();
    let verifier = verifier(
        JwksSource::File(DevIssuer::jwks_path(dir.path())),
        Duration::from_secs(60),
    )
    .await;
    let now = chrono::Utc::now().timestamp();
    let just_expired = Claims {
        exp: now - 20,
        ..claims(&issuer)
    };
    let from_a_fast_clock = Claims {
        nbf: now + 20,
        iat: now + 20,
        ..claims(&issuer)
    };
    let long_expired = Claims {
        exp: now - 600,
        ..claims(&issuer)
    };
    assert!(
        verifier
            .verify(&issuer.sign(&just_expired).unwrap())
            .await
            .is_ok()
    );
    assert!(
        verifier
            .verify(&issuer.sign(&from_a_fast_clock).unwrap())
            .await
            .is_ok()
    );
    assert_eq!(
        verifier.verify(&issuer.sign(&long_expired).unwrap()).await,
        Err(TokenError::Expired)
    );
}

#[tokio::test]
async fn keys_are_fetched_from_a_jwks_url() {
    let dir = tempfile::tempdir().unwrap();
    let issuer = DevIssuer::load_or_create(dir.path()).unwrap();
    let body = std::fs::read_to_string(DevIssuer::jwks_path(dir.path())).unwrap();
    let app = axum::Router::new().route(
        "/realms/zhongtai/certs",
        axum::routing::get(move || {
            let body = body.clone();
            async move { ([(http::header::CONTENT_TYPE, "application/json")], body) }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });

    let url = format!("http://{address}/realms/zhongtai/certs");
    let verifier = verifier(JwksSource::parse(&url), Duration::from_secs(60)).await;
    let caller = verifier
        .verify(&issuer.sign(&claims(&issuer)).unwrap())
        .await
        .unwrap();
    assert_eq!(caller.subject, "alice");

    let missing = KeySet::load(
        JwksSource::parse(&format!("http://{address}/nope")),
        Duration::from_secs(60),
    )
    .await;
    let error = missing.err().unwrap().to_string();
    assert!(error.contains("404"), "{error}");
}

#[tokio::test]
async fn a_token_accepted_before_is_refused_once_it_expires() {
    let dir = tempfile::tempdir().unwrap();
    let issuer = DevIssuer::load_or_create(dir.path()).unwrap();
    let verifier = verifier(
        JwksSource::File(DevIssuer::jwks_path(dir.path())),
        Duration::ZERO,
    )
    .await;
    let short = Claims {
        exp: chrono::Utc::now().timestamp() + 1,
        ..claims(&issuer)
    };
    let token = issuer.sign(&short).unwrap();
    assert_eq!(verifier.verify(&token).await.unwrap().subject, "alice");
    assert_eq!(verifier.verify(&token).await.unwrap().subject, "alice");
    tokio::time::sleep(Duration::from_millis(2100)).await;
    assert_eq!(verifier.verify(&token).await, Err(TokenError::Expired));
}

#[tokio::test]
async fn a_token_accepted_before_is_refused_once_its_key_is_withdrawn() {
    let rotation = Rotation::new().await;
    let (old_issuer, new_issuer, verifier) = (
        &rotation.old_issuer,
        &rotation.new_issuer,
        &rotation.verifier,
    );
    let (jwks, new) = (rotation.jwks.clone(), &rotation.new);
    let token = old_issuer.sign(&claims(old_issuer)).unwrap();
    assert!(verifier.verify(&token).await.is_ok());
    assert!(verifier.verify(&token).await.is_ok(), "accepted again");

    // The identity provider replaces the key; a token of the new one makes
    // the set reload.
    std::fs::copy(DevIssuer::jwks_path(new.path()), &jwks).unwrap();
    let rotated = new_issuer.sign(&claims(new_issuer)).unwrap();
    assert!(verifier.verify(&rotated).await.is_ok());
    assert!(matches!(
        verifier.verify(&token).await,
        Err(TokenError::UnknownKey(_))
    ));
}
