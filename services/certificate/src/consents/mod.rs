//! Three-party unlock (三解锁): consents a custodian, the platform and the
//! holder each unlock; reads within them logged and counted.

use std::sync::Arc;

use tokio_util::sync::CancellationToken;
use zhongtai_contracts::certificate::v1::consent_service_server::ConsentService;
use zhongtai_kit::BackgroundTask;

use crate::Deps;
use crate::shared::{CertificateDirectory, Keyring, TypeRegistry};

/// The consents part of the center.
pub struct Consents {
    _deps: Deps,
    _keyring: Arc<dyn Keyring>,
    _types: Arc<dyn TypeRegistry>,
    _certificates: Arc<dyn CertificateDirectory>,
}

impl Consents {
    pub fn new(
        deps: &Deps,
        keyring: Arc<dyn Keyring>,
        types: Arc<dyn TypeRegistry>,
        certificates: Arc<dyn CertificateDirectory>,
    ) -> Arc<Self> {
        Arc::new(Self {
            _deps: deps.clone(),
            _keyring: keyring,
            _types: types,
            _certificates: certificates,
        })
    }

    /// The `ConsentService` implementation.
    pub fn api(self: &Arc<Self>) -> ConsentApi {
        ConsentApi
    }

    /// Work beside the server.
    pub fn background(self: &Arc<Self>, _stop: CancellationToken) -> Vec<BackgroundTask> {
        Vec::new()
    }
}

/// The `zhongtai.certificate.v1.ConsentService`.
pub struct ConsentApi;

#[tonic::async_trait]
impl ConsentService for ConsentApi {}
