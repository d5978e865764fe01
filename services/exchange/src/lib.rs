//! The exchange center (交换中心): lines that carry changes from source
//! databases to subscribers, and enclaves that hold data flowing back.
//!
//! Request path: [`api`] (contract ↔ domain) → [`domain`] (rules, ports) →
//! [`store`] (sea-orm).

#![forbid(unsafe_code)]

pub mod access;
pub mod api;
pub mod domain;
mod error;
pub mod migration;
pub mod store;

use std::sync::Arc;

use zhongtai_contracts::exchange::v1::enclave_service_server::EnclaveServiceServer;
use zhongtai_contracts::exchange::v1::exchange_service_server::ExchangeServiceServer;
use zhongtai_kit::{ServiceContext, ServiceModule, ServiceRoutes};

/// Wires the exchange center into the shared service lifecycle.
#[derive(Debug, Default, Clone, Copy)]
pub struct ExchangeModule;

impl ServiceModule for ExchangeModule {
    const NAME: &'static str = "exchange";
    type Migrator = migration::Migrator;

    fn routes(&self, ctx: &ServiceContext) -> ServiceRoutes {
        let lines = Arc::new(store::SeaLines::new(ctx.db.clone()));
        ServiceRoutes::new()
            .with_service(ExchangeServiceServer::new(api::ExchangeApi::new(lines)))
            .with_service(EnclaveServiceServer::new(api::EnclaveApi))
    }

    fn policy(&self) -> zhongtai_kit::auth::AccessPolicy {
        access::policy()
    }
}
