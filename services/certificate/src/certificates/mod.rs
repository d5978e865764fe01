//! Certificates (电子证照): issuing and signing (directly or on an approved
//! application, exactly once), online verification, revocation and
//! suspension, and the bitstring status lists verifiers cache. Implements
//! the [`CertificateDirectory`] codes and consents read through.

pub mod api;

use std::sync::Arc;

use async_trait::async_trait;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;
use zhongtai_events::{EventHandler, Subscription};
use zhongtai_kit::BackgroundTask;

use crate::Deps;
use crate::shared::{
    CertificateDirectory, CertificateError, CertificateRecord, Keyring, TypeRegistry,
};

/// The certificates part of the center.
pub struct Certificates {
    _deps: Deps,
    _keyring: Arc<dyn Keyring>,
    _types: Arc<dyn TypeRegistry>,
}

impl Certificates {
    pub fn new(deps: &Deps, keyring: Arc<dyn Keyring>, types: Arc<dyn TypeRegistry>) -> Arc<Self> {
        Arc::new(Self {
            _deps: deps.clone(),
            _keyring: keyring,
            _types: types,
        })
    }

    /// Its RPCs of `CertificateService`.
    pub fn handlers(self: &Arc<Self>) -> api::CertificateHandlers {
        api::CertificateHandlers::new(self.clone())
    }

    /// The events it consumes (approved applications → certificates).
    pub fn subscriptions(self: &Arc<Self>) -> Vec<(Subscription, Arc<dyn EventHandler>)> {
        Vec::new()
    }

    /// Work beside the server (keeping status lists current).
    pub fn background(self: &Arc<Self>, _stop: CancellationToken) -> Vec<BackgroundTask> {
        Vec::new()
    }
}

#[async_trait]
impl CertificateDirectory for Certificates {
    async fn certificate(&self, _id: Uuid) -> Result<Option<CertificateRecord>, CertificateError> {
        Ok(None)
    }

    async fn of_holder(
        &self,
        _holder_key: &str,
        _types: &[String],
    ) -> Result<Vec<CertificateRecord>, CertificateError> {
        Ok(Vec::new())
    }
}
