//! The trust list as the center publishes it: every issuer with a key
//! verifiers should accept (ACTIVE keys, and RETIRED ones until what they
//! signed expires; never REVOKED ones) and the platform keys, at a version
//! that moves with every change.

use chrono::{DateTime, Duration, Utc};
use zhongtai_credential::{TrustListDocument, TrustListIssuer, TrustListKey, TrustStore};

use super::issuer::Issuer;
use super::keys::{KeyRecord, PlatformKeyRecord};

/// How long a published list stays fresh: verifiers fetch again by then.
pub fn freshness() -> Duration {
    Duration::minutes(5)
}

/// An issuer with the keys of it verifiers accept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustedIssuer {
    pub issuer: Issuer,
    pub keys: Vec<KeyRecord>,
}

/// One version of the trust list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustList {
    pub version: i64,
    /// When this version was published.
    pub published_at: DateTime<Utc>,
    pub issuers: Vec<TrustedIssuer>,
    pub platform_keys: Vec<PlatformKeyRecord>,
}

impl TrustList {
    /// The list as of `now`: keys past their `verify_until` (and revoked
    /// ones) dropped, then issuers left without keys.
    pub fn trusted_at(mut self, now: DateTime<Utc>) -> Self {
        for entry in &mut self.issuers {
            entry.keys.retain(|key| key.trusted_at(now));
        }
        self.issuers.retain(|entry| !entry.keys.is_empty());
        self
    }

    /// The document verifiers get, issued at `issued_at`.
    pub fn document(&self, issued_at: DateTime<Utc>) -> TrustListDocument {
        TrustListDocument {
            version: self.version,
            iat: issued_at.timestamp(),
            next_update: (issued_at + freshness()).timestamp(),
            issuers: self
                .issuers
                .iter()
                .map(|entry| TrustListIssuer {
                    id: entry.issuer.id.to_string(),
                    name: entry.issuer.name.clone(),
                    tenant: entry.issuer.tenant.key(),
                    certificate_types: entry.issuer.certificate_types.clone(),
                    keys: entry
                        .keys
                        .iter()
                        .map(|key| TrustListKey {
                            kid: key.key_id.clone(),
                            x: key.public_key.to_base64url(),
                            verify_until: key.verify_until.map(ceil_seconds),
                        })
                        .collect(),
                })
                .collect(),
            platform_keys: self
                .platform_keys
                .iter()
                .map(|key| TrustListKey {
                    kid: key.key_id.clone(),
                    x: key.public_key.to_base64url(),
                    verify_until: None,
                })
                .collect(),
        }
    }
}

/// Whole seconds, rounded up: a key must not leave before what it signed.
fn ceil_seconds(at: DateTime<Utc>) -> i64 {
    at.timestamp() + i64::from(at.timestamp_subsec_nanos() > 0)
}

/// What the center answers GetTrustList with, and verifies against: one
/// version, signed once.
#[derive(Debug, Clone)]
pub struct PublishedTrustList {
    /// As of `issued_at` (see [`TrustList::trusted_at`]).
    pub list: TrustList,
    pub issued_at: DateTime<Utc>,
    pub next_update: DateTime<Utc>,
    /// Compact JWS of the document by the platform key.
    pub signed: String,
    pub jwks: String,
    pub anchor_key_id: String,
    pub store: std::sync::Arc<TrustStore>,
}

#[cfg(test)]
mod tests {
    use uuid::Uuid;
    use zhongtai_credential::{KeySealer, PublicKey};
    use zhongtai_kit::TenantId;

    use super::*;
    use crate::issuers::domain::IssuerState;
    use crate::issuers::domain::keys::{LatestExpiry, new_issuer_key};

    fn issuer(n: u128) -> Issuer {
        Issuer {
            id: Uuid::from_u128(n),
            tenant: TenantId::from_key("331100/market-regulation").unwrap(),
            name: format!("issuer {n}"),
            certificate_types: vec!["business-licence".into()],
            state: IssuerState::Active,
            active_key_id: None,
            version: 1,
            created_at: Utc::now(),
            updated_at: Utc::now(),
        }
    }

    #[test]
    fn only_keys_verifiers_should_accept_are_listed() {
        let now = Utc::now();
        let sealer = KeySealer::new(&[1; 32]).unwrap();
        let key = || new_issuer_key(&sealer, Uuid::nil(), now).unwrap().record;
        let active = key();
        let retired = key().retired(
            now,
            LatestExpiry::At(now + Duration::days(1)).verify_until(now),
        );
        let expired = key().retired(now, Some(now));
        let revoked = key().revoked(now, "leaked");
        let list = TrustList {
            version: 7,
            published_at: now,
            issuers: vec![
                TrustedIssuer {
                    issuer: issuer(1),
                    keys: vec![active.clone(), retired.clone(), expired, revoked.clone()],
                },
                TrustedIssuer {
                    issuer: issuer(2),
                    keys: vec![revoked],
                },
            ],
            platform_keys: vec![PlatformKeyRecord {
                key_id: "ztp-1".into(),
                public_key: PublicKey([3; 32]),
                created_at: now,
            }],
        }
        .trusted_at(now + Duration::seconds(1));
        assert_eq!(
            list.issuers.len(),
            1,
            "an issuer without keys is not listed"
        );
        assert_eq!(list.issuers[0].keys, [active.clone(), retired.clone()]);

        let document = list.document(now);
        assert_eq!(document.version, 7);
        assert_eq!(document.next_update - document.iat, 300);
        let store = document.to_store().unwrap();
        assert!(store.issuer_key(&active.key_id).is_some());
        assert_eq!(
            store.issuer_key(&retired.key_id).unwrap().verify_until,
            retired
                .verify_until
                .map(|at| DateTime::from_timestamp(ceil_seconds(at), 0).unwrap())
        );
        assert!(store.platform_key("ztp-1").is_some());
    }
}
