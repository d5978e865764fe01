//! Issue, list, rotate and revoke credentials; what the database keeps;
//! what the configuration loader opens.

use prost_types::Duration;
use sea_orm::EntityTrait;
use tonic::Code;
use zhongtai_contracts::gateway::v1 as pb;
use zhongtai_gateway::domain::{ConfigSource, CredentialState};
use zhongtai_gateway::store::entities::credential;

use crate::fixture::{CITY, Engine, OTHER_CITY, Plane, as_admin, as_viewer, violated_fields};

#[tokio::test]
async fn credentials_on_sqlite() {
    credential_lifecycle(Plane::on(Engine::Sqlite).await).await;
}

#[tokio::test]
async fn credentials_on_postgres() {
    credential_lifecycle(Plane::on(Engine::Postgres).await).await;
}

fn issue(app_id: &str) -> pb::IssueCredentialRequest {
    pb::IssueCredentialRequest {
        app_id: app_id.into(),
        validity: None,
    }
}

async fn credential_lifecycle(plane: Plane) {
    let app = plane.app("bank", CITY).await;
    let api = &plane.credentials;
    let revision_before = plane.config.revision().await.unwrap();
    let issued = api
        .issue_credential(as_admin(CITY, issue(&app.id)))
        .await
        .unwrap()
        .into_inner();
    let credential = issued.credential.unwrap();
    assert!(credential.app_key.starts_with("ztk_") && credential.app_key.len() == 36);
    assert_eq!(issued.secret.len(), 43);
    assert_eq!(credential.secret_hint, issued.secret[39..]);
    assert_eq!(credential.state(), pb::CredentialState::Active);
    assert!(plane.config.revision().await.unwrap() > revision_before);

    let rows = credential::Entity::find().all(&plane.db).await.unwrap();
    assert_eq!(rows.len(), 1);
    assert!(
        !rows[0].sealed_secret.contains(&issued.secret),
        "secret stored in the clear"
    );

    let snapshot = plane.config.load().await.unwrap();
    assert_eq!(snapshot.revision, plane.config.revision().await.unwrap());
    assert_eq!(snapshot.credentials.len(), 1);
    assert_eq!(snapshot.credentials[0].secret, issued.secret.as_bytes());
    assert_eq!(snapshot.apps.len(), 1);

    let listed = api
        .list_credentials(as_admin(
            CITY,
            pb::ListCredentialsRequest {
                app_id: app.id.clone(),
                page: None,
            },
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(listed.credentials, std::slice::from_ref(&credential));
    assert!(!format!("{listed:?}").contains(&issued.secret));
    let hidden = api
        .list_credentials(as_viewer(
            OTHER_CITY,
            pb::ListCredentialsRequest {
                app_id: app.id.clone(),
                page: None,
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(hidden.code(), Code::NotFound);
    let foreign = api
        .issue_credential(as_admin(OTHER_CITY, issue(&app.id)))
        .await
        .unwrap_err();
    assert_eq!(foreign.code(), Code::NotFound);

    let too_long = api
        .rotate_credential(as_admin(
            CITY,
            pb::RotateCredentialRequest {
                app_key: credential.app_key.clone(),
                grace_period: Some(Duration {
                    seconds: 31 * 86_400,
                    nanos: 0,
                }),
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(violated_fields(&too_long), ["grace_period"]);
    let rotated = api
        .rotate_credential(as_admin(
            CITY,
            pb::RotateCredentialRequest {
                app_key: credential.app_key.clone(),
                grace_period: None,
            },
        ))
        .await
        .unwrap()
        .into_inner();
    let previous = rotated.previous.unwrap();
    assert_eq!(previous.state(), pb::CredentialState::Rotating);
    let grace = previous.expire_time.unwrap().seconds
        - rotated
            .credential
            .as_ref()
            .unwrap()
            .create_time
            .unwrap()
            .seconds;
    assert!((86_399..=86_400).contains(&grace), "grace {grace}");
    let new_key = rotated.credential.unwrap().app_key;
    assert_ne!(new_key, credential.app_key);
    assert_ne!(rotated.secret, issued.secret);

    let revoked = api
        .revoke_credential(as_admin(
            CITY,
            pb::RevokeCredentialRequest {
                app_key: credential.app_key.clone(),
                reason: "rotated out".into(),
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .credential
        .unwrap();
    assert_eq!(revoked.state(), pb::CredentialState::Revoked);
    assert!(revoked.revoke_time.is_some());
    let snapshot = plane.config.load().await.unwrap();
    let keys: Vec<_> = snapshot
        .credentials
        .iter()
        .map(|c| c.credential.app_key.clone())
        .collect();
    assert_eq!(keys, std::slice::from_ref(&new_key));
    assert_eq!(
        snapshot.credentials[0].credential.state,
        CredentialState::Active
    );

    let rotate_revoked = api
        .rotate_credential(as_admin(
            CITY,
            pb::RotateCredentialRequest {
                app_key: credential.app_key.clone(),
                grace_period: None,
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(rotate_revoked.code(), Code::FailedPrecondition);
    let bad_key = api
        .revoke_credential(as_admin(
            CITY,
            pb::RevokeCredentialRequest {
                app_key: "key-1".into(),
                reason: String::new(),
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(violated_fields(&bad_key), ["app_key"]);

    // One live credential so far; the limit is ten.
    for _ in 0..9 {
        api.issue_credential(as_admin(CITY, issue(&app.id)))
            .await
            .unwrap();
    }
    let beyond = api
        .issue_credential(as_admin(CITY, issue(&app.id)))
        .await
        .unwrap_err();
    assert_eq!(beyond.code(), Code::FailedPrecondition);

    let short = api
        .issue_credential(as_admin(
            CITY,
            pb::IssueCredentialRequest {
                app_id: app.id.clone(),
                validity: Some(Duration {
                    seconds: -5,
                    nanos: 0,
                }),
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(violated_fields(&short), ["validity"]);
}

#[tokio::test]
async fn a_secret_sealed_under_another_key_is_skipped() {
    let plane = Plane::on(Engine::Sqlite).await;
    let app = plane.app("bank", CITY).await;
    plane
        .credentials
        .issue_credential(as_admin(CITY, issue(&app.id)))
        .await
        .unwrap();
    let other = std::sync::Arc::new(zhongtai_credential::KeySealer::new(&[9; 32]).unwrap());
    let config = zhongtai_gateway::store::SeaConfig::new(plane.db.clone(), other);
    let snapshot = config.load().await.unwrap();
    assert!(snapshot.credentials.is_empty());
    assert_eq!(snapshot.apps.len(), 1);
}

#[tokio::test]
async fn mark_used_records_without_moving_the_revision() {
    let plane = Plane::on(Engine::Sqlite).await;
    let app = plane.app("bank", CITY).await;
    let issued = plane
        .credentials
        .issue_credential(as_admin(CITY, issue(&app.id)))
        .await
        .unwrap()
        .into_inner();
    let key = issued.credential.unwrap().app_key;
    let revision = plane.config.revision().await.unwrap();
    let at = zhongtai_gateway::domain::ports::now();
    zhongtai_gateway::store::SeaCredentials::new(plane.db.clone())
        .mark_used(&[(key.clone(), at)])
        .await
        .unwrap();
    assert_eq!(plane.config.revision().await.unwrap(), revision);
    let listed = plane
        .credentials
        .list_credentials(as_admin(
            CITY,
            pb::ListCredentialsRequest {
                app_id: app.id,
                page: None,
            },
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        listed.credentials[0].last_used_time.unwrap().seconds,
        at.timestamp()
    );
}
