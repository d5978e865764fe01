//! Issuers and their Ed25519 signing keys (encrypted at rest, rotated,
//! revoked), the signed trust list, and certificate types. Implements the
//! [`Keyring`] and [`TypeRegistry`] the other parts sign and check with.

pub mod api;
mod domain;
pub mod entities;
mod store;

use std::sync::Arc;

use async_trait::async_trait;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;
use zhongtai_credential::{SigningKey, TrustStore};
use zhongtai_kit::BackgroundTask;

use crate::Deps;
use crate::shared::{CertificateError, CertificateType, IssuerSigner, Keyring, TypeRegistry};

/// The issuers part of the center.
pub struct Issuers {
    deps: Deps,
}

impl Issuers {
    pub fn new(deps: &Deps) -> Arc<Self> {
        Arc::new(Self { deps: deps.clone() })
    }

    /// Its RPCs of `CertificateService`.
    pub fn handlers(self: &Arc<Self>) -> api::IssuerHandlers {
        api::IssuerHandlers::new(Arc::new(store::SeaIssuers::new(self.deps.db.clone())))
    }

    /// Work beside the server (keeping the trust list current).
    pub fn background(self: &Arc<Self>, _stop: CancellationToken) -> Vec<BackgroundTask> {
        Vec::new()
    }
}

#[async_trait]
impl Keyring for Issuers {
    async fn issuer_signer(
        &self,
        issuer_id: Uuid,
        _certificate_type: &str,
    ) -> Result<IssuerSigner, CertificateError> {
        Err(CertificateError::not_found("issuer", issuer_id))
    }

    async fn platform_signer(&self) -> Result<Arc<SigningKey>, CertificateError> {
        Err(CertificateError::Keys(
            "platform key not available yet".into(),
        ))
    }

    async fn trust_store(&self) -> Result<Arc<TrustStore>, CertificateError> {
        Ok(Arc::new(TrustStore::new(0, Vec::new(), Vec::new())))
    }
}

#[async_trait]
impl TypeRegistry for Issuers {
    async fn certificate_type(
        &self,
        _code: &str,
    ) -> Result<Option<CertificateType>, CertificateError> {
        Ok(None)
    }
}
