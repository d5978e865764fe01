//! The signed trust list: opened only with a pinned anchor, turned into the
//! verifier's store, published as a JWK Set.

use serde_json::{Value, json};
use zhongtai_credential::{
    CODE_TYP, FormatError, KeyError, Outcome, SigningKey, TrustListDocument, TrustListError,
    TrustListKey, sign_compact, verify_certificate,
};

use crate::fixtures::{certificate, licence, now, world};

#[test]
fn a_signed_list_opens_with_its_anchor_and_verifies_certificates() {
    let world = world();
    let signed = world.document.sign(&world.platform);
    let anchors = [(
        world.platform.key_id().to_owned(),
        world.platform.public_key(),
    )];
    let opened = TrustListDocument::open(&signed, &anchors).unwrap();
    assert_eq!(opened, world.document);

    let store = opened.to_store().unwrap();
    assert_eq!(store.version(), 7);
    let key = store.issuer_key("mr-2026").unwrap();
    assert_eq!(key.issuer_id, crate::fixtures::MARKET_REGULATION);
    assert_eq!(key.certificate_types, ["business-licence", "food-licence"]);
    assert_eq!(key.verify_until, None);
    assert!(store.issuer_key("mr-2024").unwrap().verify_until.is_some());
    assert_eq!(
        store.platform_key("platform-2026"),
        Some(&world.platform.public_key())
    );
    assert!(
        store.platform_key("mr-2026").is_none(),
        "issuer keys do not sign codes"
    );

    let token = certificate(&world.market_regulation, &licence());
    assert_eq!(
        verify_certificate(&token, &store, now()).unwrap().outcome,
        Outcome::Valid
    );
}

#[test]
fn only_a_pinned_anchor_opens_the_list() {
    let world = world();
    let signed = world.document.sign(&world.platform);
    let impostor = SigningKey::generate("platform-2026").unwrap().0;
    let same_kid_other_key = [(impostor.key_id().to_owned(), impostor.public_key())];
    assert_eq!(
        TrustListDocument::open(&signed, &same_kid_other_key),
        Err(TrustListError::SignatureInvalid {
            kid: "platform-2026".to_owned()
        })
    );
    let other_kid = [("platform-2025".to_owned(), world.platform.public_key())];
    assert_eq!(
        TrustListDocument::open(&signed, &other_kid),
        Err(TrustListError::UnknownAnchor {
            kid: "platform-2026".to_owned()
        })
    );
    // A list signed by an impostor claiming the anchor's kid.
    let forged = world.document.sign(&impostor);
    let anchors = [(
        world.platform.key_id().to_owned(),
        world.platform.public_key(),
    )];
    assert!(matches!(
        TrustListDocument::open(&forged, &anchors),
        Err(TrustListError::SignatureInvalid { .. })
    ));
    // A document of another type signed by the anchor.
    let code_typed = sign_compact(&world.platform, CODE_TYP, &world.document);
    assert!(matches!(
        TrustListDocument::open(&code_typed, &anchors),
        Err(TrustListError::Format(FormatError::WrongType {
            expected: "zt-trust+jwt",
            ..
        }))
    ));
    assert!(matches!(
        TrustListDocument::open("garbage", &anchors),
        Err(TrustListError::Format(_))
    ));
}

#[test]
fn large_lists_are_not_bound_by_the_token_limit() {
    let world = world();
    let mut document = world.document.clone();
    let template = document.issuers[0].clone();
    for n in 0..300 {
        let mut issuer = template.clone();
        issuer.id = format!("issuer-{n}");
        issuer.keys = vec![TrustListKey {
            kid: format!("k-{n}"),
            x: template.keys[0].x.clone(),
            verify_until: None,
        }];
        document.issuers.push(issuer);
    }
    let signed = document.sign(&world.platform);
    assert!(signed.len() > 64 * 1024);
    let anchors = [(
        world.platform.key_id().to_owned(),
        world.platform.public_key(),
    )];
    assert_eq!(
        TrustListDocument::open(&signed, &anchors)
            .unwrap()
            .issuers
            .len(),
        302
    );
}

#[test]
fn the_jwks_lists_every_issuer_and_platform_key() {
    let world = world();
    let jwks: Value = serde_json::from_str(&world.document.jwks()).unwrap();
    let keys = jwks["keys"].as_array().unwrap();
    let kids: Vec<&str> = keys
        .iter()
        .map(|key| key["kid"].as_str().unwrap())
        .collect();
    assert_eq!(kids, ["mr-2026", "mr-2024", "ca-2026", "platform-2026"]);
    assert_eq!(
        keys[0],
        json!({"kty":"OKP","crv":"Ed25519","x":world.market_regulation.public_key().to_base64url(),
               "kid":"mr-2026","alg":"EdDSA","use":"sig"})
    );
    assert_eq!(
        keys[0]["x"].as_str().unwrap().len(),
        43,
        "32 bytes, unpadded base64url"
    );
}

#[test]
fn a_list_with_a_bad_key_or_a_repeated_kid_makes_no_store() {
    let world = world();
    let mut bad_key = world.document.clone();
    bad_key.issuers[1].keys[0].x = "AAAA".to_owned();
    assert_eq!(
        bad_key.to_store().err(),
        Some(TrustListError::BadKey {
            kid: "ca-2026".to_owned(),
            source: KeyError::PublicKeyLength { actual: 3 }
        })
    );
    let mut repeated = world.document.clone();
    repeated.issuers[1].keys[0].kid = "mr-2026".to_owned();
    assert_eq!(
        repeated.to_store().err(),
        Some(TrustListError::DuplicateKeyId {
            kid: "mr-2026".to_owned()
        })
    );
    let mut out_of_calendar = world.document.clone();
    out_of_calendar.issuers[1].keys[0].verify_until = Some(i64::MAX);
    assert!(matches!(
        out_of_calendar.to_store(),
        Err(TrustListError::BadTime { .. })
    ));
}
