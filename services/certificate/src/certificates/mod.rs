//! Certificates (电子证照): issuing and signing (directly or on an approved
//! application, exactly once), online verification, revocation and
//! suspension, and the bitstring status lists verifiers cache. Implements
//! the [`CertificateDirectory`] codes and consents read through.
//!
//! Laid out api (contract ↔ domain) → the operations here ([`issuing`],
//! [`reading`], [`status`], [`verification`], [`approvals`]) → [`domain`]
//! (rules) and [`store`] (sea-orm); [`board`] keeps the status bits in
//! memory.

pub mod api;
mod approvals;
mod board;
pub mod domain;
mod issuing;
mod published;
mod reading;
mod status;
pub mod store;
mod verification;

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use async_trait::async_trait;
use tokio::sync::OnceCell;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;
use zhongtai_events::{EventHandler, Subscription};
use zhongtai_kit::{BackgroundTask, TenantId};

use crate::Deps;
use crate::shared::{
    CertificateDirectory, CertificateError, CertificateRecord, CertificateType, Keyring,
    TypeRegistry,
};
use board::StatusBoard;
use store::status_lists;

pub use approvals::{APPROVED, IssueOnApproval, SUBSCRIPTION};
pub use verification::Verification;

/// The certificates part of the center.
pub struct Certificates {
    deps: Deps,
    keyring: Arc<dyn Keyring>,
    types: Arc<dyn TypeRegistry>,
    board: StatusBoard,
    /// Set once the status lists were first read.
    loaded: OnceCell<()>,
    /// Issuers' departments, which never change, for unmasking holders.
    issuer_tenants: RwLock<HashMap<String, TenantId>>,
    /// Certificate types by code, to type the claims verification shows.
    type_cache: RwLock<HashMap<String, Arc<CertificateType>>>,
}

impl Certificates {
    pub fn new(deps: &Deps, keyring: Arc<dyn Keyring>, types: Arc<dyn TypeRegistry>) -> Arc<Self> {
        Arc::new(Self {
            deps: deps.clone(),
            keyring,
            types,
            board: StatusBoard::default(),
            loaded: OnceCell::new(),
            issuer_tenants: RwLock::new(HashMap::new()),
            type_cache: RwLock::new(HashMap::new()),
        })
    }

    /// Its RPCs of `CertificateService`.
    pub fn handlers(self: &Arc<Self>) -> api::CertificateHandlers {
        api::CertificateHandlers::new(self.clone())
    }

    /// The events it consumes (approved applications → certificates).
    pub fn subscriptions(self: &Arc<Self>) -> Vec<(Subscription, Arc<dyn EventHandler>)> {
        vec![(
            Subscription::new(SUBSCRIPTION, [APPROVED]),
            Arc::new(IssueOnApproval::new(self.clone())),
        )]
    }

    /// Work beside the server: keeping the status lists in memory current
    /// with the changes other instances make.
    pub fn background(self: &Arc<Self>, stop: CancellationToken) -> Vec<BackgroundTask> {
        let certificates = self.clone();
        vec![Box::pin(zhongtai_kit::timers::every(
            "certificate.status-lists",
            self.deps.config.refresh_interval(),
            stop,
            move || {
                let certificates = certificates.clone();
                async move { certificates.refresh_status_lists().await }
            },
        ))]
    }

    /// Re-reads the lists whose version is newer in the database than in
    /// memory; returns how many.
    pub async fn refresh_status_lists(&self) -> Result<usize, CertificateError> {
        let rows = status_lists::list_versions(&self.deps.db).await?;
        let mut refreshed = 0;
        for row in rows {
            if self
                .board
                .version(&row.id)
                .is_some_and(|known| known >= row.version)
            {
                continue;
            }
            self.board
                .apply(status_lists::snapshot(&self.deps.db, &row).await?);
            refreshed += 1;
        }
        if self.loaded.get().is_none() {
            let _ = self.loaded.set(());
        }
        Ok(refreshed)
    }

    /// Reads every list once, before the first answer that needs them.
    async fn ensure_loaded(&self) -> Result<(), CertificateError> {
        self.loaded
            .get_or_try_init(|| async {
                self.refresh_status_lists().await?;
                Ok::<(), CertificateError>(())
            })
            .await?;
        Ok(())
    }

    /// A list not in memory yet (its group opened on another instance since
    /// the last refresh), read from the database.
    async fn load_list(&self, id: &str) -> Result<bool, CertificateError> {
        let Some(row) = status_lists::list_version(&self.deps.db, id).await? else {
            return Ok(false);
        };
        self.board
            .apply(status_lists::snapshot(&self.deps.db, &row).await?);
        Ok(true)
    }
}

#[async_trait]
impl CertificateDirectory for Certificates {
    async fn certificate(&self, id: Uuid) -> Result<Option<CertificateRecord>, CertificateError> {
        store::certificates::for_directory(&self.deps.db, id).await
    }

    async fn of_holder(
        &self,
        holder_key: &str,
        types: &[String],
    ) -> Result<Vec<CertificateRecord>, CertificateError> {
        store::certificates::of_holder(&self.deps.db, holder_key, types).await
    }
}
