//! The five services, by name: the one place that knows them all.

use std::fmt;

use tokio_util::sync::CancellationToken;
use zhongtai_kit::Platform;
use zhongtai_kit::config::DatabaseConfig;
use zhongtai_kit::config::{
    ApprovalConfig, CatalogConfig, CertificateConfig, ExchangeConfig, GatewayConfig,
};
use zhongtai_kit::service::{RunningService, ServiceError, ServiceSettings, migrate, start};

/// Settings particular to one service (`[approval]`, `[catalog]`,
/// `[certificate]`, `[exchange]`, `[gateway]`); the embedded platform uses
/// the defaults, with keys of its own.
#[derive(Debug, Clone, Default)]
pub struct ModuleSettings {
    pub approval: ApprovalConfig,
    pub catalog: CatalogConfig,
    pub certificate: CertificateConfig,
    pub exchange: ExchangeConfig,
    pub gateway: GatewayConfig,
    /// `iss` and `aud` the services verify tokens against: the gateway signs
    /// its calls on apps' behalf with them.
    pub token_issuer: String,
    pub token_audience: String,
}

/// A Zhongtai service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ServiceName {
    Approval,
    Catalog,
    Certificate,
    Exchange,
    Gateway,
}

impl ServiceName {
    pub const ALL: [ServiceName; 5] = [
        ServiceName::Approval,
        ServiceName::Catalog,
        ServiceName::Certificate,
        ServiceName::Exchange,
        ServiceName::Gateway,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ServiceName::Approval => "approval",
            ServiceName::Catalog => "catalog",
            ServiceName::Certificate => "certificate",
            ServiceName::Exchange => "exchange",
            ServiceName::Gateway => "gateway",
        }
    }

    /// Starts this service: binds its port now, runs in the background.
    pub async fn start(
        self,
        settings: ServiceSettings,
        modules: &ModuleSettings,
        platform: Platform,
        shutdown: CancellationToken,
    ) -> Result<RunningService, ServiceError> {
        match self {
            ServiceName::Approval => {
                start(
                    zhongtai_approval::ApprovalModule::new(modules.approval.clone()),
                    settings,
                    platform,
                    shutdown,
                )
                .await
            }
            ServiceName::Catalog => {
                start(
                    zhongtai_catalog::CatalogModule::new(modules.catalog.clone()),
                    settings,
                    platform,
                    shutdown,
                )
                .await
            }
            ServiceName::Certificate => {
                let module =
                    zhongtai_certificate::CertificateModule::new(modules.certificate.clone())
                        .map_err(|e| ServiceError::Config {
                            service: "certificate",
                            message: e.to_string(),
                        })?;
                start(module, settings, platform, shutdown).await
            }
            ServiceName::Exchange => {
                let module = zhongtai_exchange::ExchangeModule::new(
                    modules.exchange.clone(),
                    settings.events.clone(),
                )
                .map_err(|e| ServiceError::Config {
                    service: "exchange",
                    message: e.to_string(),
                })?;
                start(module, settings, platform, shutdown).await
            }
            ServiceName::Gateway => {
                let module = zhongtai_gateway::GatewayModule::new(
                    modules.gateway.clone(),
                    &modules.token_issuer,
                    &modules.token_audience,
                )
                .map_err(|e| ServiceError::Config {
                    service: "gateway",
                    message: e.to_string(),
                })?;
                start(module, settings, platform, shutdown).await
            }
        }
    }
}

impl ServiceName {
    /// Applies this service's pending database migrations.
    pub async fn migrate(self, database: &DatabaseConfig) -> Result<(), ServiceError> {
        match self {
            ServiceName::Approval => migrate::<zhongtai_approval::ApprovalModule>(database).await,
            ServiceName::Catalog => migrate::<zhongtai_catalog::CatalogModule>(database).await,
            ServiceName::Certificate => {
                migrate::<zhongtai_certificate::CertificateModule>(database).await
            }
            ServiceName::Exchange => migrate::<zhongtai_exchange::ExchangeModule>(database).await,
            ServiceName::Gateway => migrate::<zhongtai_gateway::GatewayModule>(database).await,
        }
    }
}

impl fmt::Display for ServiceName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
