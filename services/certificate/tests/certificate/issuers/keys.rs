//! Issuers and their signing keys: creation with a sealed first key,
//! idempotency, who may do what, updates, rotation and revocation, and the
//! keyring the other parts sign with.

use prost::Message;
use sea_orm::{ConnectionTrait, Statement};
use tonic::Code;
use uuid::Uuid;
use zhongtai_certificate::CertificateError;
use zhongtai_certificate::shared::Keyring;
use zhongtai_contracts::certificate::v1 as pb;
use zhongtai_contracts::certificate::v1::certificate_service_server::CertificateService;
use zhongtai_contracts::common::v1 as common;
use zhongtai_credential::{KeySealer, PublicKey};
use zhongtai_kit::Role;

use super::{Spoil, assert_denied, assert_invalid};
use crate::support::*;

fn tenant(key: &str) -> common::Tenant {
    let (division, department) = key.split_once('/').unwrap_or((key, ""));
    common::Tenant {
        division_code: division.into(),
        department: department.into(),
    }
}

fn create_request(request_id: &str, types: &[&str]) -> pb::CreateIssuerRequest {
    pb::CreateIssuerRequest {
        request_id: request_id.into(),
        tenant: Some(tenant(MARKET)),
        name: "丽水市市场监督管理局".into(),
        certificate_types: types.iter().map(|t| t.to_string()).collect(),
    }
}

/// A harness with both fixture types and market regulation's issuer of
/// business licences.
async fn with_issuer() -> (Harness, pb::CreateIssuerResponse) {
    let h = Harness::postgres().await;
    create_type(&h, business_licence_type()).await.unwrap();
    create_type(&h, health_certificate_type()).await.unwrap();
    let created = create_issuer(&h, MARKET, "丽水市市场监督管理局", &["business-licence"])
        .await
        .unwrap();
    (h, created)
}

/// `SELECT <column> FROM <from>` as text rows (PostgreSQL).
async fn texts(h: &Harness, sql: &str) -> Vec<String> {
    h.db.query_all_raw(Statement::from_string(
        h.db.get_database_backend(),
        sql.to_string(),
    ))
    .await
    .unwrap()
    .into_iter()
    .map(|row| row.try_get_by_index::<String>(0).unwrap())
    .collect()
}

async fn sealed_key(h: &Harness, key_id: &str) -> Vec<u8> {
    let row =
        h.db.query_one_raw(Statement::from_string(
            h.db.get_database_backend(),
            format!("SELECT sealed_private_key FROM signing_keys WHERE key_id = '{key_id}'"),
        ))
        .await
        .unwrap()
        .unwrap();
    row.try_get_by_index::<Vec<u8>>(0).unwrap()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[tokio::test]
async fn an_issuer_gets_a_sealed_key_and_only_its_public_part_is_returned() {
    let (h, created) = with_issuer().await;
    let issuer = created.issuer.clone().unwrap();
    let key = created.signing_key.clone().unwrap();
    assert_eq!(issuer.state(), pb::IssuerState::Active);
    assert_eq!(issuer.certificate_types, ["business-licence"]);
    assert_eq!(issuer.tenant, Some(tenant(MARKET)));
    assert_eq!(issuer.active_key_id, key.key_id);
    assert_eq!(issuer.version, 1);
    assert!(
        key.key_id.starts_with("ztk-") && key.key_id.len() == 16,
        "{}",
        key.key_id
    );
    assert!(
        key.key_id[4..]
            .bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
    );
    assert_eq!(key.state(), pb::SigningKeyState::Active);
    assert_eq!(key.algorithm(), pb::SigningAlgorithm::Ed25519);
    assert_eq!(key.public_key.len(), 32);
    assert_eq!(key.issuer_id, issuer.id);

    // The stored private key opens only with the key encryption key and
    // under its own key id; it is the key the public part belongs to.
    let sealed = sealed_key(&h, &key.key_id).await;
    let sealer = KeySealer::from_base64(TEST_KEY_ENCRYPTION_KEY).unwrap();
    let pkcs8 = sealer.open(&sealed, key.key_id.as_bytes()).unwrap();
    let opened = zhongtai_credential::SigningKey::from_pkcs8(&key.key_id, &pkcs8).unwrap();
    assert_eq!(opened.public_key().0.as_slice(), key.public_key.as_slice());
    assert!(
        KeySealer::new(&[9; 32])
            .unwrap()
            .open(&sealed, key.key_id.as_bytes())
            .is_err()
    );
    assert!(sealer.open(&sealed, b"ztk-000000000000").is_err());

    // Neither the answer nor the stored row holds the private key in clear.
    let seed = &pkcs8[16..48];
    let answer = created.encode_to_vec();
    assert!(!answer.windows(seed.len()).any(|w| w == seed));
    let dump = texts(
        &h,
        "SELECT CAST(row_to_json(t) AS TEXT) FROM signing_keys t",
    )
    .await
    .join("\n");
    assert!(dump.contains(&key.key_id));
    assert!(!dump.contains(&hex(seed)), "the seed is stored in clear");
    assert!(!dump.contains(&hex(&pkcs8)));

    // Created with its events and audit record.
    let subject = &issuer.id;
    assert_eq!(
        h.count(&format!(
            "event_outbox WHERE event_type = 'certificate.issuer.created' AND subject = '{subject}'"
        ))
        .await,
        1
    );
    // One list per version: the issuer's, then the platform key's.
    assert_eq!(
        h.count("event_outbox WHERE event_type = 'certificate.trust_list.published'")
            .await,
        h.count("trust_list_state t, generate_series(1, t.version)")
            .await
    );
    assert_eq!(
        h.count("audit_log WHERE action = 'certificate.issuer.create' AND outcome = 'allowed'")
            .await,
        1
    );
}

#[tokio::test]
async fn the_keyring_signs_for_active_issuers_of_their_own_types() {
    let (h, created) = with_issuer().await;
    let issuer = created.issuer.unwrap();
    let id = Uuid::parse_str(&issuer.id).unwrap();
    let signer = h
        .center
        .issuers
        .issuer_signer(id, "business-licence")
        .await
        .unwrap();
    assert_eq!(signer.issuer_id, id);
    assert_eq!(signer.issuer_tenant.key(), MARKET);
    assert_eq!(signer.key.key_id(), issuer.active_key_id);
    let public = PublicKey::from_bytes(&created.signing_key.unwrap().public_key).unwrap();
    assert!(public.verify(b"licence", &signer.key.sign(b"licence")));
    // Another instance opens the stored key rather than a cached one.
    let other = h.another_instance();
    let theirs = other
        .issuers
        .issuer_signer(id, "business-licence")
        .await
        .unwrap();
    assert!(public.verify(b"x", &theirs.key.sign(b"x")));

    let wrong_type = h
        .center
        .issuers
        .issuer_signer(id, "health-certificate")
        .await;
    assert!(
        matches!(wrong_type, Err(CertificateError::FailedPrecondition(_))),
        "{:?}",
        wrong_type.err()
    );
    let unknown = h
        .center
        .issuers
        .issuer_signer(Uuid::now_v7(), "business-licence")
        .await;
    assert!(
        matches!(unknown, Err(CertificateError::NotFound { .. })),
        "{:?}",
        unknown.err()
    );

    let suspended = update_issuer(&h, &issuer, &["state"], |i| {
        i.state = pb::IssuerState::Suspended as i32
    })
    .await
    .unwrap();
    assert_eq!(suspended.state(), pb::IssuerState::Suspended);
    let refused = h.center.issuers.issuer_signer(id, "business-licence").await;
    assert!(
        matches!(refused, Err(CertificateError::FailedPrecondition(_))),
        "{:?}",
        refused.err()
    );

    // The platform key is made once, whichever instance asks first.
    let (mine, theirs) = tokio::join!(
        h.center.issuers.platform_signer(),
        other.issuers.platform_signer()
    );
    assert_eq!(mine.unwrap().key_id(), theirs.unwrap().key_id());
    assert_eq!(h.count("platform_keys").await, 1);
}

async fn update_issuer(
    h: &Harness,
    issuer: &pb::Issuer,
    paths: &[&str],
    change: impl FnOnce(&mut pb::Issuer),
) -> Result<pb::Issuer, tonic::Status> {
    update_issuer_as(h, &platform_admin(), issuer, paths, change).await
}

async fn update_issuer_as(
    h: &Harness,
    caller: &zhongtai_kit::Caller,
    issuer: &pb::Issuer,
    paths: &[&str],
    change: impl FnOnce(&mut pb::Issuer),
) -> Result<pb::Issuer, tonic::Status> {
    let mut issuer = issuer.clone();
    change(&mut issuer);
    Ok(h.api
        .update_issuer(by(
            caller,
            pb::UpdateIssuerRequest {
                issuer: Some(issuer),
                update_mask: Some(prost_types::FieldMask {
                    paths: paths.iter().map(|p| p.to_string()).collect(),
                }),
            },
        ))
        .await?
        .into_inner()
        .issuer
        .unwrap())
}

#[tokio::test]
async fn the_same_request_id_creates_one_issuer() {
    let h = Harness::postgres().await;
    create_type(&h, business_licence_type()).await.unwrap();
    let admin = platform_admin();
    let request = create_request("issuer-req-1", &["business-licence"]);
    let (first, second) = tokio::join!(
        h.api.create_issuer(by(&admin, request.clone())),
        h.api.create_issuer(by(&admin, request.clone()))
    );
    let (first, second) = (first.unwrap().into_inner(), second.unwrap().into_inner());
    assert_eq!(first, second);
    let third = h
        .api
        .create_issuer(by(&admin, request))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(third, first);
    assert_eq!(h.count("issuers").await, 1);
    assert_eq!(h.count("signing_keys").await, 1);
    assert_eq!(
        h.count("event_outbox WHERE event_type = 'certificate.issuer.created'")
            .await,
        1
    );

    let mut other = create_request("issuer-req-1", &["business-licence"]);
    other.name = "另一个局".into();
    let reused = h.api.create_issuer(by(&admin, other)).await.unwrap_err();
    assert_invalid(&reused, "request_id");
    assert_eq!(h.count("issuers").await, 1);
}

#[tokio::test]
async fn bad_issuers_name_each_field_and_write_nothing() {
    let h = Harness::postgres().await;
    create_type(&h, business_licence_type()).await.unwrap();
    let admin = platform_admin();
    let unknown_type = h
        .api
        .create_issuer(by(
            &admin,
            create_request(&rid(), &["business-licence", "no-such-type"]),
        ))
        .await
        .unwrap_err();
    assert_invalid(&unknown_type, "certificate_types[1]");
    let cases: Vec<(&str, Spoil<pb::CreateIssuerRequest>)> = vec![
        ("request_id", Box::new(|r| r.request_id.clear())),
        ("request_id", Box::new(|r| r.request_id = "r".repeat(129))),
        ("name", Box::new(|r| r.name = " ".into())),
        ("name", Box::new(|r| r.name = "局".repeat(201))),
        (
            "certificate_types",
            Box::new(|r| r.certificate_types.clear()),
        ),
        (
            "certificate_types",
            Box::new(|r| r.certificate_types = (0..51).map(|i| format!("type-{i}")).collect()),
        ),
        (
            "certificate_types[1]",
            Box::new(|r| r.certificate_types.push("business-licence".into())),
        ),
        (
            "certificate_types[0]",
            Box::new(|r| r.certificate_types[0] = "Business Licence".into()),
        ),
        ("tenant", Box::new(|r| r.tenant = None)),
        ("tenant", Box::new(|r| r.tenant = Some(tenant("33")))),
    ];
    for (field, spoil) in cases {
        let mut request = create_request(&rid(), &["business-licence"]);
        spoil(&mut request);
        let error = h.api.create_issuer(by(&admin, request)).await.unwrap_err();
        assert_invalid(&error, field);
    }
    assert_eq!(h.count("issuers").await, 0);
    assert_eq!(h.count("signing_keys").await, 0);
}

#[tokio::test]
async fn only_the_platform_administers_issuers() {
    let (h, created) = with_issuer().await;
    let issuer = created.issuer.unwrap();
    let market_admin = staff("market-admin", MARKET, &[Role::Admin]);
    let platform_operator = staff("platform-op", PLATFORM, &[Role::Operator]);
    for caller in [&market_admin, &platform_operator] {
        let error = h
            .api
            .create_issuer(by(caller, create_request(&rid(), &["business-licence"])))
            .await
            .unwrap_err();
        assert_denied(&error, "NOT_PLATFORM_ADMIN");
        let error = update_issuer_as(&h, caller, &issuer, &["name"], |i| i.name = "x".into())
            .await
            .unwrap_err();
        assert_denied(&error, "NOT_PLATFORM_ADMIN");
        let error = h
            .api
            .revoke_signing_key(by(
                caller,
                pb::RevokeSigningKeyRequest {
                    key_id: issuer.active_key_id.clone(),
                    reason: "test".into(),
                },
            ))
            .await
            .unwrap_err();
        assert_denied(&error, "NOT_PLATFORM_ADMIN");
    }
    // Rotation is for the platform's admins and the issuer's own.
    let health_admin = staff("health-admin", HEALTH, &[Role::Admin]);
    let market_operator = staff("market-op", MARKET, &[Role::Operator]);
    for caller in [&health_admin, &market_operator, &platform_operator] {
        let error = rotate(&h, caller, &issuer.id).await.unwrap_err();
        assert_denied(&error, "NOT_ISSUER_ADMIN");
    }
    assert_eq!(h.count("issuers").await, 1);
    assert_eq!(h.count("signing_keys").await, 1);
    rotate(&h, &market_admin, &issuer.id).await.unwrap();
    rotate(&h, &platform_admin(), &issuer.id).await.unwrap();
    assert_eq!(h.count("signing_keys").await, 3);
}

#[tokio::test]
async fn an_issuer_is_read_by_its_own_tenant_and_the_platform() {
    let (h, created) = with_issuer().await;
    let issuer = created.issuer.unwrap();
    let get = |caller: zhongtai_kit::Caller| {
        let api = &h.api;
        let id = issuer.id.clone();
        async move {
            api.get_issuer(by(&caller, pb::GetIssuerRequest { id }))
                .await
                .map(|r| r.into_inner().issuer.unwrap())
        }
    };
    assert_eq!(
        get(staff("v", MARKET, &[Role::Viewer])).await.unwrap(),
        issuer
    );
    assert_eq!(
        get(staff("p", PLATFORM, &[Role::Viewer])).await.unwrap(),
        issuer
    );
    let elsewhere = get(staff("h", HEALTH, &[Role::Admin])).await.unwrap_err();
    assert_eq!(elsewhere.code(), Code::NotFound);
    let keys_elsewhere = h
        .api
        .list_signing_keys(by(
            &staff("h", HEALTH, &[Role::Admin]),
            pb::ListSigningKeysRequest {
                issuer_id: issuer.id.clone(),
                page: None,
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(keys_elsewhere.code(), Code::NotFound);
    let bad_id = h
        .api
        .get_issuer(by(
            &platform_admin(),
            pb::GetIssuerRequest { id: "x".into() },
        ))
        .await
        .unwrap_err();
    assert_invalid(&bad_id, "id");

    // The platform lists every tenant's issuers.
    let listed = h
        .api
        .list_issuers(by(
            &platform_admin(),
            pb::ListIssuersRequest {
                tenant: Some(tenant(MARKET)),
                page: None,
            },
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(listed.issuers, [issuer]);
}

#[tokio::test]
async fn updates_change_named_fields_and_check_the_version() {
    let (h, created) = with_issuer().await;
    let issuer = created.issuer.unwrap();
    let lists = "event_outbox WHERE event_type = 'certificate.trust_list.published'";
    let lists_before = h.count(lists).await;
    let updated = update_issuer(&h, &issuer, &["name", "certificate_types"], |i| {
        i.name = "丽水市市场监管局".into();
        i.certificate_types = vec!["business-licence".into(), "health-certificate".into()];
        i.state = pb::IssuerState::Suspended as i32; // not in the mask
    })
    .await
    .unwrap();
    assert_eq!(updated.name, "丽水市市场监管局");
    assert_eq!(
        updated.certificate_types,
        ["business-licence", "health-certificate"]
    );
    assert_eq!(updated.state(), pb::IssuerState::Active);
    assert_eq!(updated.version, 2);
    assert_eq!(
        h.count("event_outbox WHERE event_type = 'certificate.issuer.updated'")
            .await,
        1
    );
    // Names and types are part of the trust list.
    assert_eq!(h.count(lists).await, lists_before + 1);
    let id = Uuid::parse_str(&issuer.id).unwrap();
    assert!(
        h.center
            .issuers
            .issuer_signer(id, "health-certificate")
            .await
            .is_ok()
    );

    let stale = update_issuer(&h, &issuer, &["name"], |i| i.name = "旧".into())
        .await
        .unwrap_err();
    assert_eq!(stale.code(), Code::Aborted, "{stale:?}");
    let unknown = update_issuer(&h, &updated, &["certificate_types"], |i| {
        i.certificate_types = vec!["no-such-type".into()]
    })
    .await
    .unwrap_err();
    assert_invalid(&unknown, "issuer.certificate_types[0]");
    let bad_mask = update_issuer(&h, &updated, &["tenant"], |_| {})
        .await
        .unwrap_err();
    assert_invalid(&bad_mask, "update_mask.paths[0]");
    let no_state = update_issuer(&h, &updated, &["state"], |i| i.state = 0)
        .await
        .unwrap_err();
    assert_invalid(&no_state, "issuer.state");
    let missing = update_issuer(&h, &updated, &["name"], |i| {
        i.id = Uuid::now_v7().to_string()
    })
    .await
    .unwrap_err();
    assert_eq!(missing.code(), Code::NotFound);
    let suspended = update_issuer(&h, &updated, &["state"], |i| {
        i.state = pb::IssuerState::Suspended as i32
    })
    .await
    .unwrap();
    assert_eq!(suspended.version, 3);
    assert_eq!(
        h.count(lists).await,
        lists_before + 1,
        "the state is not in the list"
    );
    let updated = suspended;
    // Nothing to change writes nothing.
    let same = update_issuer(&h, &updated, &["name"], |_| {})
        .await
        .unwrap();
    assert_eq!(same.version, 3);
}

async fn rotate(
    h: &Harness,
    caller: &zhongtai_kit::Caller,
    issuer_id: &str,
) -> Result<pb::RotateSigningKeyResponse, tonic::Status> {
    rotate_with(h, caller, issuer_id, &rid()).await
}

async fn rotate_with(
    h: &Harness,
    caller: &zhongtai_kit::Caller,
    issuer_id: &str,
    request_id: &str,
) -> Result<pb::RotateSigningKeyResponse, tonic::Status> {
    Ok(h.api
        .rotate_signing_key(by(
            caller,
            pb::RotateSigningKeyRequest {
                request_id: request_id.into(),
                issuer_id: issuer_id.into(),
            },
        ))
        .await?
        .into_inner())
}

async fn keys_of(h: &Harness, issuer_id: &str) -> Vec<pb::SigningKey> {
    h.api
        .list_signing_keys(by(
            &platform_admin(),
            pb::ListSigningKeysRequest {
                issuer_id: issuer_id.into(),
                page: None,
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .keys
}

#[tokio::test]
async fn rotation_retires_the_old_key_once_per_request() {
    let (h, created) = with_issuer().await;
    let issuer = created.issuer.unwrap();
    let first = created.signing_key.unwrap();
    let rotated = rotate_with(&h, &platform_admin(), &issuer.id, "rotate-1")
        .await
        .unwrap();
    let new_key = rotated.new_key.clone().unwrap();
    let retired = rotated.retired_key.clone().unwrap();
    assert_eq!(retired.key_id, first.key_id);
    assert_eq!(retired.state(), pb::SigningKeyState::Retired);
    assert!(retired.retire_time.is_some());
    // It signed nothing, so it verifies for the rotation's grace only.
    let verify_until = retired.verify_until_time.unwrap().seconds;
    let retire_time = retired.retire_time.unwrap().seconds;
    assert!(
        (verify_until - retire_time - 300).abs() <= 1,
        "{verify_until} vs {retire_time}"
    );
    assert_eq!(new_key.state(), pb::SigningKeyState::Active);
    assert_ne!(new_key.key_id, first.key_id);
    let current = h
        .api
        .get_trust_list(tonic::Request::new(pb::GetTrustListRequest::default()))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        rotated.trust_list_version,
        current.trust_list.unwrap().version
    );

    let again = rotate_with(&h, &platform_admin(), &issuer.id, "rotate-1")
        .await
        .unwrap();
    assert_eq!(again.new_key, rotated.new_key);
    assert_eq!(again.retired_key, rotated.retired_key);
    assert_eq!(h.count("signing_keys").await, 2);
    assert_eq!(
        h.count("event_outbox WHERE event_type = 'certificate.signing_key.rotated'")
            .await,
        1
    );

    let keys = keys_of(&h, &issuer.id).await;
    assert_eq!(
        keys.iter()
            .map(|k| (k.key_id.as_str(), k.state()))
            .collect::<Vec<_>>(),
        [
            (new_key.key_id.as_str(), pb::SigningKeyState::Active),
            (first.key_id.as_str(), pb::SigningKeyState::Retired),
        ]
    );
    let reread = h
        .api
        .get_issuer(by(
            &platform_admin(),
            pb::GetIssuerRequest {
                id: issuer.id.clone(),
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .issuer
        .unwrap();
    assert_eq!(reread.active_key_id, new_key.key_id);
    let id = Uuid::parse_str(&issuer.id).unwrap();
    let signer = h
        .center
        .issuers
        .issuer_signer(id, "business-licence")
        .await
        .unwrap();
    assert_eq!(signer.key.key_id(), new_key.key_id);

    // A request id of another issuer's rotation, or of a creation, is reused.
    let other = create_issuer(&h, HEALTH, "卫健委", &["health-certificate"])
        .await
        .unwrap();
    let other_id = other.issuer.unwrap().id;
    let reused = rotate_with(&h, &platform_admin(), &other_id, "rotate-1")
        .await
        .unwrap_err();
    assert_invalid(&reused, "request_id");
    let unknown = rotate(&h, &platform_admin(), &Uuid::now_v7().to_string())
        .await
        .unwrap_err();
    assert_eq!(unknown.code(), Code::NotFound);
    let bad = rotate(&h, &platform_admin(), "not-a-uuid")
        .await
        .unwrap_err();
    assert_invalid(&bad, "issuer_id");
}

#[tokio::test]
async fn concurrent_rotations_leave_one_active_key() {
    let (h, created) = with_issuer().await;
    let issuer = created.issuer.unwrap();
    let other = h.another_instance();
    let other_api = other.certificate_api();
    let admin = platform_admin();
    let request = |request_id: &str| pb::RotateSigningKeyRequest {
        request_id: request_id.into(),
        issuer_id: issuer.id.clone(),
    };
    let (a, b) = tokio::join!(
        h.api.rotate_signing_key(by(&admin, request("rotate-a"))),
        other_api.rotate_signing_key(by(&admin, request("rotate-b")))
    );
    let outcomes = [a.map(|_| ()), b.map(|_| ())];
    assert!(outcomes.iter().any(Result::is_ok), "{outcomes:?}");
    for outcome in &outcomes {
        if let Err(status) = outcome {
            assert_eq!(status.code(), Code::Aborted, "{status:?}");
        }
    }
    let active = keys_of(&h, &issuer.id)
        .await
        .into_iter()
        .filter(|k| k.state() == pb::SigningKeyState::Active)
        .count();
    assert_eq!(active, 1);
}

#[tokio::test]
async fn revoking_the_active_key_replaces_it() {
    let (h, created) = with_issuer().await;
    let issuer = created.issuer.unwrap();
    let first = created.signing_key.unwrap();
    let revoke = |key_id: String, reason: &str| {
        let api = &h.api;
        let reason = reason.to_string();
        async move {
            api.revoke_signing_key(by(
                &platform_admin(),
                pb::RevokeSigningKeyRequest { key_id, reason },
            ))
            .await
            .map(|r| r.into_inner())
        }
    };
    let revoked = revoke(first.key_id.clone(), "私钥泄露").await.unwrap();
    let key = revoked.key.unwrap();
    assert_eq!(key.state(), pb::SigningKeyState::Revoked);
    let replacement = revoked.replacement_key.unwrap();
    assert_eq!(replacement.state(), pb::SigningKeyState::Active);
    let id = Uuid::parse_str(&issuer.id).unwrap();
    let signer = h
        .center
        .issuers
        .issuer_signer(id, "business-licence")
        .await
        .unwrap();
    assert_eq!(signer.key.key_id(), replacement.key_id);
    assert_eq!(
        h.count("event_outbox WHERE event_type = 'certificate.signing_key.revoked'")
            .await,
        1
    );
    assert_eq!(
        h.count("audit_log WHERE action = 'certificate.signing_key.revoke'")
            .await,
        1
    );

    // Again: the same answer, nothing new.
    let again = revoke(first.key_id.clone(), "私钥泄露").await.unwrap();
    assert_eq!(again.key.unwrap().state(), pb::SigningKeyState::Revoked);
    assert!(again.replacement_key.is_none());
    assert_eq!(h.count("signing_keys").await, 2);

    // A retired key is revoked without a replacement.
    let rotated = rotate(&h, &platform_admin(), &issuer.id).await.unwrap();
    let retired = rotated.retired_key.unwrap();
    let revoked = revoke(retired.key_id.clone(), "withdrawn").await.unwrap();
    assert!(revoked.replacement_key.is_none());
    assert_eq!(h.count("signing_keys WHERE state = 'active'").await, 1);

    let missing = revoke("ztk-000000000000".into(), "x").await.unwrap_err();
    assert_eq!(missing.code(), Code::NotFound);
    let no_reason = revoke(first.key_id.clone(), " ").await.unwrap_err();
    assert_invalid(&no_reason, "reason");
    let no_key = revoke(String::new(), "x").await.unwrap_err();
    assert_invalid(&no_key, "key_id");
}

#[tokio::test]
async fn keys_page_newest_first() {
    let (h, created) = with_issuer().await;
    let issuer = created.issuer.unwrap();
    for _ in 0..3 {
        rotate(&h, &platform_admin(), &issuer.id).await.unwrap();
    }
    let all = keys_of(&h, &issuer.id).await;
    assert_eq!(all.len(), 4);
    assert!(all.windows(2).all(|w| {
        let (a, b) = (w[0].create_time.unwrap(), w[1].create_time.unwrap());
        (a.seconds, a.nanos) >= (b.seconds, b.nanos)
    }));
    let mut paged = Vec::new();
    let mut page_token = String::new();
    loop {
        let page = h
            .api
            .list_signing_keys(by(
                &platform_admin(),
                pb::ListSigningKeysRequest {
                    issuer_id: issuer.id.clone(),
                    page: Some(common::PageRequest {
                        page_size: 3,
                        page_token,
                    }),
                },
            ))
            .await
            .unwrap()
            .into_inner();
        paged.extend(page.keys);
        page_token = page.page.unwrap().next_page_token;
        if page_token.is_empty() {
            break;
        }
    }
    assert_eq!(paged, all);
}

#[tokio::test]
async fn issuers_and_keys_work_on_sqlite() {
    let h = Harness::sqlite().await;
    create_type(&h, business_licence_type()).await.unwrap();
    let created = create_issuer(&h, MARKET, "丽水市市场监督管理局", &["business-licence"])
        .await
        .unwrap();
    let issuer = created.issuer.unwrap();
    let rotated = rotate(&h, &platform_admin(), &issuer.id).await.unwrap();
    assert_eq!(
        rotated.retired_key.unwrap().state(),
        pb::SigningKeyState::Retired
    );
    let keys = keys_of(&h, &issuer.id).await;
    assert_eq!(keys.len(), 2);
    let store = h.center.issuers.trust_store().await.unwrap();
    assert_eq!(store.issuer_keys().count(), 2);
}
