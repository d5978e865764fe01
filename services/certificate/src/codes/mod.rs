//! Show and scan codes (亮码/扫码): personal, family and offline codes, venues,
//! and scans verified in memory and recorded in batches.

use std::sync::Arc;

use tokio_util::sync::CancellationToken;
use zhongtai_contracts::certificate::v1::code_service_server::CodeService;
use zhongtai_kit::BackgroundTask;

use crate::Deps;
use crate::shared::{CertificateDirectory, Keyring, TypeRegistry};

/// The codes part of the center.
pub struct Codes {
    _deps: Deps,
    _keyring: Arc<dyn Keyring>,
    _types: Arc<dyn TypeRegistry>,
    _certificates: Arc<dyn CertificateDirectory>,
}

impl Codes {
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

    /// The `CodeService` implementation.
    pub fn api(self: &Arc<Self>) -> CodeApi {
        CodeApi
    }

    /// Work beside the server.
    pub fn background(self: &Arc<Self>, _stop: CancellationToken) -> Vec<BackgroundTask> {
        Vec::new()
    }
}

/// The `zhongtai.certificate.v1.CodeService`.
pub struct CodeApi;

#[tonic::async_trait]
impl CodeService for CodeApi {}
