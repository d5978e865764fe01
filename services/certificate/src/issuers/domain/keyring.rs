//! Keys in memory: decrypted signing keys, the platform key, and the
//! published trust list verifiers check against.
//!
//! Verification reads [`KeyCache::published`] on every call, so it is a
//! lock-free-in-practice read of an `Arc`: no database access while the
//! list is current. The list is rebuilt at once after a change made here
//! ([`KeyCache::install`]) and by [`KeyCache::refresh`], which the
//! background loop calls every `refresh_interval`: it reads only the stored
//! version and rebuilds when another instance moved it (or when the signed
//! list is due to be issued afresh).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};

use chrono::{DateTime, Duration, SubsecRound, Utc};
use zhongtai_audit::{AuditRecord, Outcome};
use zhongtai_credential::{KeySealer, SigningKey, TrustStore};

use super::keys::{new_platform_key, open_key};
use super::ports::{IssuerRepository, Saved};
use super::trust_list::{PublishedTrustList, TrustList, freshness};
use crate::shared::CertificateError;

/// The signed list is issued afresh when this old, well before verifiers
/// holding it would consider it stale.
fn reissue_after() -> Duration {
    freshness() / 5
}

pub struct KeyCache {
    repository: Arc<dyn IssuerRepository>,
    sealer: Arc<KeySealer>,
    /// Decrypted issuer keys by key id. Keys never change once made, only
    /// their state, which is always read from the database.
    signers: Mutex<HashMap<String, Arc<SigningKey>>>,
    platform: tokio::sync::OnceCell<Arc<SigningKey>>,
    published: RwLock<Option<Arc<PublishedTrustList>>>,
    /// One rebuild at a time.
    rebuilding: tokio::sync::Mutex<()>,
}

impl KeyCache {
    pub fn new(repository: Arc<dyn IssuerRepository>, sealer: Arc<KeySealer>) -> Self {
        Self {
            repository,
            sealer,
            signers: Mutex::new(HashMap::new()),
            platform: tokio::sync::OnceCell::new(),
            published: RwLock::new(None),
            rebuilding: tokio::sync::Mutex::new(()),
        }
    }

    /// The decrypted key `key_id`, from memory or else from its sealed form.
    pub fn signer(
        &self,
        key_id: &str,
        sealed: impl FnOnce() -> Option<Vec<u8>>,
    ) -> Result<Arc<SigningKey>, CertificateError> {
        if let Some(key) = self.cached_signer(key_id) {
            return Ok(key);
        }
        let sealed = sealed().ok_or_else(|| CertificateError::not_found("signing key", key_id))?;
        let key = open_key(&self.sealer, key_id, &sealed)?;
        self.remember(key.clone());
        Ok(key)
    }

    pub fn cached_signer(&self, key_id: &str) -> Option<Arc<SigningKey>> {
        self.signers
            .lock()
            .ok()
            .and_then(|signers| signers.get(key_id).cloned())
    }

    /// Keeps a key just made, so its first use needs no decryption.
    pub fn remember(&self, key: Arc<SigningKey>) {
        if let Ok(mut signers) = self.signers.lock() {
            signers.insert(key.key_id().to_string(), key);
        }
    }

    pub fn sealer(&self) -> &KeySealer {
        &self.sealer
    }

    /// The platform key, created on first use by whichever instance gets
    /// there first (one row per purpose; the others read it).
    pub async fn platform_signer(&self) -> Result<Arc<SigningKey>, CertificateError> {
        self.platform
            .get_or_try_init(|| self.load_or_create_platform_key())
            .await
            .cloned()
    }

    async fn load_or_create_platform_key(&self) -> Result<Arc<SigningKey>, CertificateError> {
        if let Some((record, sealed)) = self.repository.platform_key().await? {
            return open_key(&self.sealer, &record.key_id, &sealed);
        }
        let now = crate::shared::now().trunc_subsecs(6);
        let key = new_platform_key(&self.sealer, now)?;
        let audit = AuditRecord::new(
            "certificate",
            "",
            "certificate.platform_key.create",
            format!("platform_key/{}", key.record.key_id),
            Outcome::Allowed,
        );
        match self.repository.create_platform_key(&key, &audit).await? {
            Saved::Saved(_) => {
                tracing::info!(key = %key.record.key_id, "platform key created");
                // The list in memory lacks the new key: read it afresh next.
                if let Ok(mut published) = self.published.write() {
                    *published = None;
                }
                Ok(key.signer)
            }
            Saved::Conflict => {
                let (record, sealed) = self.repository.platform_key().await?.ok_or_else(|| {
                    CertificateError::Keys("the platform key vanished after a conflict".into())
                })?;
                open_key(&self.sealer, &record.key_id, &sealed)
            }
        }
    }

    /// The published list; built on first use, then kept current by
    /// [`Self::install`] and [`Self::refresh`].
    pub async fn published(&self) -> Result<Arc<PublishedTrustList>, CertificateError> {
        if let Some(current) = self.current() {
            return Ok(current);
        }
        self.rebuild(|_| true).await
    }

    pub async fn trust_store(&self) -> Result<Arc<TrustStore>, CertificateError> {
        Ok(self.published().await?.store.clone())
    }

    fn current(&self) -> Option<Arc<PublishedTrustList>> {
        self.published.read().ok().and_then(|p| p.clone())
    }

    /// Installs the list a change made here just committed, unless a newer
    /// one is already in place.
    pub async fn install(&self, list: TrustList) -> Result<(), CertificateError> {
        let platform = self.platform_signer().await?;
        if !list
            .platform_keys
            .iter()
            .any(|k| k.key_id == platform.key_id())
        {
            // Read before the platform key existed: read it again.
            self.rebuild(|_| true).await?;
            return Ok(());
        }
        let issued = publish(list, &platform, crate::shared::now())?;
        self.replace_if_newer(Arc::new(issued));
        Ok(())
    }

    /// Rebuilds when the stored version moved (another instance changed a
    /// key) or the signed list is due to be issued afresh. Returns whether
    /// it rebuilt.
    pub async fn refresh(&self) -> Result<bool, CertificateError> {
        let stored = self.repository.trust_list_version().await?;
        let now = crate::shared::now();
        let stale = |current: Option<&PublishedTrustList>| {
            current.is_none_or(|p| p.list.version != stored || now - p.issued_at >= reissue_after())
        };
        if !stale(self.current().as_deref()) {
            return Ok(false);
        }
        self.rebuild(stale).await?;
        Ok(true)
    }

    /// Reads the list and signs it, unless `needed` says (under the lock)
    /// that someone else already did.
    async fn rebuild(
        &self,
        needed: impl Fn(Option<&PublishedTrustList>) -> bool,
    ) -> Result<Arc<PublishedTrustList>, CertificateError> {
        let _one_at_a_time = self.rebuilding.lock().await;
        if let Some(current) = self.current()
            && !needed(Some(&current))
        {
            return Ok(current);
        }
        // The platform key is part of the list: make it before reading.
        let platform = self.platform_signer().await?;
        let list = self.repository.trust_list().await?;
        let issued = Arc::new(publish(list, &platform, crate::shared::now())?);
        self.replace_if_newer(issued.clone());
        Ok(self.current().unwrap_or(issued))
    }

    fn replace_if_newer(&self, issued: Arc<PublishedTrustList>) {
        if let Ok(mut published) = self.published.write() {
            let newer = published.as_ref().is_none_or(|current| {
                issued.list.version > current.list.version
                    || (issued.list.version == current.list.version
                        && issued.issued_at >= current.issued_at)
            });
            if newer {
                tracing::debug!(version = issued.list.version, "trust list installed");
                *published = Some(issued);
            }
        }
    }
}

/// The list as of `now`, signed by the platform key.
fn publish(
    list: TrustList,
    platform: &SigningKey,
    now: DateTime<Utc>,
) -> Result<PublishedTrustList, CertificateError> {
    let issued_at = now.trunc_subsecs(0);
    let list = list.trusted_at(issued_at);
    let document = list.document(issued_at);
    let store = document
        .to_store()
        .map_err(|e| CertificateError::Keys(format!("the trust list does not read back: {e}")))?;
    Ok(PublishedTrustList {
        signed: document.sign(platform),
        jwks: document.jwks(),
        anchor_key_id: platform.key_id().to_string(),
        next_update: issued_at + freshness(),
        issued_at,
        list,
        store: Arc::new(store),
    })
}
