//! Issuers and their Ed25519 signing keys (encrypted at rest, rotated,
//! revoked), the signed trust list, and certificate types. Implements the
//! [`Keyring`] and [`TypeRegistry`] the other parts sign and check with.
//!
//! Who may do what is decided in [`domain::authority`]: the platform tenant
//! (`certificate.platform_tenant`) administers issuers, keys and types; an
//! issuer's own Admins may rotate its key; the administrative views of an
//! issuer are for its tenant and the platform, the trust list for anyone.
//!
//! Private keys never leave this part: they are sealed with the key
//! encryption key (the key id bound as context) before they are stored,
//! opened only into memory to sign, and no message carries them.

pub mod api;
pub mod domain;
pub mod entities;
mod published;
mod store;

use std::sync::Arc;

use async_trait::async_trait;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;
use zhongtai_credential::{SigningKey, TrustStore};
use zhongtai_kit::{BackgroundTask, TenantId};

use crate::Deps;
use crate::shared::{CertificateError, CertificateType, IssuerSigner, Keyring, TypeRegistry};
use domain::{Authority, IssuerAdmin, KeyCache, TypeCatalog, TypeRepository};

/// The issuers part of the center.
pub struct Issuers {
    deps: Deps,
    admin: IssuerAdmin,
    types: TypeCatalog,
    type_repository: Arc<dyn TypeRepository>,
    keys: Arc<KeyCache>,
}

impl Issuers {
    pub fn new(deps: &Deps) -> Arc<Self> {
        let authority = Authority::new(match deps.config.platform_tenant() {
            Ok(tenant) => Some(tenant),
            Err(error) => {
                tracing::error!(%error, tenant = %deps.config.platform_tenant, "certificate.platform_tenant is not a tenant: no caller administers the certificate center");
                None
            }
        });
        let issuers: Arc<dyn domain::IssuerRepository> =
            Arc::new(store::SeaIssuers::new(deps.db.clone(), deps.outbox.clone()));
        let type_repository: Arc<dyn TypeRepository> =
            Arc::new(store::SeaTypes::new(deps.db.clone(), deps.outbox.clone()));
        let keys = Arc::new(KeyCache::new(issuers.clone(), deps.sealer.clone()));
        Arc::new(Self {
            deps: deps.clone(),
            admin: IssuerAdmin::new(
                issuers,
                type_repository.clone(),
                keys.clone(),
                authority.clone(),
            ),
            types: TypeCatalog::new(type_repository.clone(), authority),
            type_repository,
            keys,
        })
    }

    /// Its RPCs of `CertificateService`.
    pub fn handlers(self: &Arc<Self>) -> api::IssuerHandlers {
        api::IssuerHandlers::new(self.admin.clone(), self.types.clone())
    }

    /// Keeps the trust list current with changes other instances make, and
    /// retired keys verifying as long as what they signed.
    pub fn background(self: &Arc<Self>, stop: CancellationToken) -> Vec<BackgroundTask> {
        let keys = self.keys.clone();
        let refresh = zhongtai_kit::timers::every(
            "certificate.trust-list-refresh",
            self.deps.config.refresh_interval(),
            stop.clone(),
            move || {
                let keys = keys.clone();
                async move { keys.refresh().await.map(usize::from) }
            },
        );
        let admin = self.admin.clone();
        let catch_up = zhongtai_kit::timers::every(
            "certificate.retired-key-expiry",
            self.deps.config.timer_interval(),
            stop,
            move || {
                let admin = admin.clone();
                async move { admin.catch_up_retired_keys().await }
            },
        );
        vec![Box::pin(refresh), Box::pin(catch_up)]
    }
}

#[async_trait]
impl Keyring for Issuers {
    async fn issuer_signer(
        &self,
        issuer_id: Uuid,
        certificate_type: &str,
    ) -> Result<IssuerSigner, CertificateError> {
        self.admin.signer(issuer_id, certificate_type).await
    }

    async fn platform_signer(&self) -> Result<Arc<SigningKey>, CertificateError> {
        self.keys.platform_signer().await
    }

    async fn issuers_of(&self, tenant: &TenantId) -> Result<Vec<Uuid>, CertificateError> {
        store::directory::of_tenant(&self.deps.db, tenant).await
    }

    async fn issuer_tenant(&self, issuer_id: &str) -> Result<Option<TenantId>, CertificateError> {
        store::directory::tenant_of(&self.deps.db, issuer_id).await
    }

    async fn trust_store(&self) -> Result<Arc<TrustStore>, CertificateError> {
        self.keys.trust_store().await
    }
}

#[async_trait]
impl TypeRegistry for Issuers {
    async fn certificate_type(
        &self,
        code: &str,
    ) -> Result<Option<CertificateType>, CertificateError> {
        self.type_repository.get(code).await
    }
}
