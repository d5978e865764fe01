//! The exchange center (交换中心): lines that carry changes from source
//! databases to subscribers, and enclaves that hold data flowing back.
//!
//! Parts: [`lines`] (lines and subscriptions: API, store, grant events),
//! [`capture`] (PostgreSQL logical replication: snapshot and streaming),
//! [`runner`] (runs each line: source → policy → sinks → journal →
//! confirm), [`journal`] (per-hop records, reconciliation, traces) and
//! [`enclaves`] (tenant enclaves and backflow). They meet in [`domain`]:
//! changes, policies, and the flow ports ([`domain::flow`],
//! [`domain::ports`]).

#![forbid(unsafe_code)]

pub mod access;
pub mod capture;
pub mod convert;
pub mod domain;
pub mod enclaves;
mod error;
pub mod journal;
pub mod lines;
pub mod migration;
pub mod runner;
pub mod store;

use zhongtai_kit::config::{EventsConfig, ExchangeConfig};
use zhongtai_kit::{ServiceContext, ServiceModule, ServiceRoutes};

/// Wires the exchange center into the shared service lifecycle.
pub struct ExchangeModule {
    config: ExchangeConfig,
    events: EventsConfig,
}

impl ExchangeModule {
    /// `events` says whether queue delivery has a RabbitMQ broker.
    pub fn new(config: ExchangeConfig, events: EventsConfig) -> Self {
        Self { config, events }
    }
}

impl ServiceModule for ExchangeModule {
    const NAME: &'static str = "exchange";
    type Migrator = migration::Migrator;

    fn routes(&self, ctx: &ServiceContext) -> ServiceRoutes {
        let _ = (&self.config, &self.events);
        let lines = std::sync::Arc::new(store::SeaLines::new(ctx.db.clone()));
        let enclaves = enclaves::Enclaves::new(
            ctx.db.clone(),
            ctx.outbox_notifier(),
            self.config.clone(),
            lines.clone(),
        );
        ServiceRoutes::new()
            .with_service(
                zhongtai_contracts::exchange::v1::exchange_service_server::ExchangeServiceServer::new(
                    lines::api::ExchangeApi::new(lines),
                ),
            )
            .with_service(
                zhongtai_contracts::exchange::v1::enclave_service_server::EnclaveServiceServer::new(
                    enclaves.api(),
                ),
            )
    }

    fn policy(&self) -> zhongtai_kit::auth::AccessPolicy {
        access::policy()
    }
}
