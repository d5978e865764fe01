//! The certificate center (证照中心): issuers and their signing keys, the
//! trust list, certificate types and certificates with their status lists,
//! presentation codes and venue scans, and three-party-unlock consents.
//!
//! Four parts, each laid out api (contract ↔ domain) → domain (rules) →
//! store (sea-orm): [`issuers`], [`certificates`], [`codes`],
//! [`consents`]. They reach each other only through the ports in
//! [`shared`]. Offline verification is `zhongtai-credential`, which any
//! micro app can link without the network.

#![forbid(unsafe_code)]

pub mod access;
pub mod certificate_service;
pub mod certificates;
pub mod codes;
pub mod consents;
mod error;
pub mod issuers;
mod metrics;
pub mod migration;
pub mod shared;

use std::sync::{Arc, OnceLock};

use sea_orm::DatabaseConnection;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use zhongtai_contracts::certificate::v1::certificate_service_server::CertificateServiceServer;
use zhongtai_contracts::certificate::v1::code_service_server::CodeServiceServer;
use zhongtai_contracts::certificate::v1::consent_service_server::ConsentServiceServer;
use zhongtai_credential::KeySealer;
use zhongtai_events::{EventHandler, Subscription};
use zhongtai_kit::config::CertificateConfig;
use zhongtai_kit::{BackgroundTask, ServiceContext, ServiceModule, ServiceRoutes};
use zhongtai_mesh::Priority;

pub use certificate_service::CertificateApi;
pub use shared::CertificateError;

/// What every part of the center is built from.
#[derive(Clone)]
pub struct Deps {
    pub db: DatabaseConnection,
    /// Woken when a transaction with events commits.
    pub outbox: Arc<Notify>,
    pub config: CertificateConfig,
    /// Encrypts private keys at rest.
    pub sealer: Arc<KeySealer>,
}

/// The center's parts, wired together.
pub struct Center {
    pub issuers: Arc<issuers::Issuers>,
    pub certificates: Arc<certificates::Certificates>,
    pub codes: Arc<codes::Codes>,
    pub consents: Arc<consents::Consents>,
}

impl Center {
    /// Wires the parts over `db`. Fails only on a missing or malformed key
    /// encryption key.
    pub fn new(
        db: DatabaseConnection,
        outbox: Arc<Notify>,
        config: CertificateConfig,
    ) -> Result<Self, CertificateError> {
        metrics::register();
        let sealer = sealer(&config)?;
        let deps = Deps {
            db,
            outbox,
            config,
            sealer: Arc::new(sealer),
        };
        let issuers = issuers::Issuers::new(&deps);
        let keyring: Arc<dyn shared::Keyring> = issuers.clone();
        let types: Arc<dyn shared::TypeRegistry> = issuers.clone();
        let certificates = certificates::Certificates::new(&deps, keyring.clone(), types.clone());
        let directory: Arc<dyn shared::CertificateDirectory> = certificates.clone();
        let codes = codes::Codes::new(&deps, keyring.clone(), types.clone(), directory.clone());
        let consents = consents::Consents::new(&deps, keyring, types, directory);
        Ok(Self {
            issuers,
            certificates,
            codes,
            consents,
        })
    }

    /// The `CertificateService` over the issuers and certificates parts.
    pub fn certificate_api(&self) -> CertificateApi {
        CertificateApi::new(self.issuers.handlers(), self.certificates.handlers())
    }

    pub fn subscriptions(&self) -> Vec<(Subscription, Arc<dyn EventHandler>)> {
        self.certificates.subscriptions()
    }

    pub fn background(&self, stop: CancellationToken) -> Vec<BackgroundTask> {
        let mut tasks = self.issuers.background(stop.clone());
        tasks.extend(self.certificates.background(stop.clone()));
        tasks.extend(self.codes.background(stop.clone()));
        tasks.extend(self.consents.background(stop));
        tasks
    }
}

/// The sealer of private keys, from the configured key encryption key.
fn sealer(config: &CertificateConfig) -> Result<KeySealer, CertificateError> {
    let key = config.key_encryption_key.expose();
    if key.is_empty() {
        return Err(CertificateError::Keys(
            "certificate.key_encryption_key is required: set SIGNING_KEY_ENCRYPTION_KEY to the \
             base64 of 32 random bytes (e.g. `openssl rand -base64 32`)"
                .into(),
        ));
    }
    KeySealer::from_base64(key)
        .map_err(|e| CertificateError::Keys(format!("certificate.key_encryption_key: {e}")))
}

/// Wires the certificate center into the shared service lifecycle.
pub struct CertificateModule {
    config: CertificateConfig,
    /// Built on first use, so routes, consumers and background work share
    /// one set of caches and the scan batcher.
    center: OnceLock<Arc<Center>>,
}

impl CertificateModule {
    /// Refuses a configuration without a usable key encryption key.
    pub fn new(config: CertificateConfig) -> Result<Self, CertificateError> {
        sealer(&config)?;
        Ok(Self {
            config,
            center: OnceLock::new(),
        })
    }

    fn center(&self, ctx: &ServiceContext) -> Arc<Center> {
        self.center
            .get_or_init(|| {
                let center =
                    Center::new(ctx.db.clone(), ctx.outbox_notifier(), self.config.clone());
                // `new` checked the key, so wiring cannot fail here.
                Arc::new(center.unwrap_or_else(|e| unreachable!("checked at construction: {e}")))
            })
            .clone()
    }
}

impl ServiceModule for CertificateModule {
    const NAME: &'static str = "certificate";
    type Migrator = migration::Migrator;

    fn routes(&self, ctx: &ServiceContext) -> ServiceRoutes {
        let center = self.center(ctx);
        ServiceRoutes::new()
            .with_service(CertificateServiceServer::new(center.certificate_api()))
            .with_service(CodeServiceServer::new(center.codes.api()))
            .with_service(ConsentServiceServer::new(center.consents.api()))
    }

    fn policy(&self) -> zhongtai_kit::auth::AccessPolicy {
        access::policy()
    }

    fn subscriptions(&self, ctx: &ServiceContext) -> Vec<(Subscription, Arc<dyn EventHandler>)> {
        self.center(ctx).subscriptions()
    }

    fn background(&self, ctx: &ServiceContext, stop: CancellationToken) -> Vec<BackgroundTask> {
        self.center(ctx).background(stop)
    }

    fn priorities(&self) -> Arc<dyn Fn(&str) -> Priority + Send + Sync> {
        Arc::new(access::priority)
    }
}
