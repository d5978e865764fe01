use zhongtai_credential::{CompactJws, SigningKey};

use super::*;
use crate::consents::domain::record::{CONSENT_RECORD_TYP, seal};

#[test]
fn the_record_signs_the_terms_and_verifies_with_the_platform_key() {
    let (key, _pkcs8) = SigningKey::generate("platform-1").unwrap_or_else(|e| unreachable!("{e}"));
    let mut consent = unlocked_by(&[Party::Holder, Party::Custodian]);
    seal(&mut consent, &key);
    let jws = CompactJws::parse(&consent.signed_record).unwrap_or_else(|e| unreachable!("{e}"));
    assert!(jws.verify(&key.public_key()));
    assert_eq!(jws.header().typ.as_deref(), Some(CONSENT_RECORD_TYP));
    assert_eq!(jws.header().kid, "platform-1");
    let terms: serde_json::Value = jws.payload_json().unwrap_or_else(|e| unreachable!("{e}"));
    assert_eq!(
        terms["holder"],
        format!("person:resident-id-card:{NANNY_ID}")
    );
    assert_eq!(terms["custodian"], CUSTODIAN);
    assert_eq!(terms["app_id"], "home-service");
    assert_eq!(terms["purpose"], "hiring check");
    assert_eq!(terms["read_limit"], 3);
    assert_eq!(terms["state"], "pending");
    assert_eq!(terms["version"], consent.version);
    let parties: Vec<&str> = terms["unlocks"]
        .as_array()
        .map(|u| u.iter().filter_map(|u| u["party"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(parties, vec!["holder", "custodian"]);

    let (other, _) = SigningKey::generate("other").unwrap_or_else(|e| unreachable!("{e}"));
    assert!(
        !jws.verify(&other.public_key()),
        "another key does not verify it"
    );
}
