//! The catalog center (目录中心): the data resources departments own and
//! share, described well enough to find, judge and request them.
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

use zhongtai_contracts::catalog::v1::catalog_service_server::CatalogServiceServer;
use zhongtai_kit::config::CatalogConfig;
use zhongtai_kit::{ServiceContext, ServiceModule, ServiceRoutes};

/// Wires the catalog center into the shared service lifecycle.
#[derive(Debug, Default, Clone)]
pub struct CatalogModule {
    config: CatalogConfig,
}

impl CatalogModule {
    pub fn new(config: CatalogConfig) -> Self {
        Self { config }
    }
}

impl ServiceModule for CatalogModule {
    const NAME: &'static str = "catalog";
    type Migrator = migration::Migrator;

    fn routes(&self, ctx: &ServiceContext) -> ServiceRoutes {
        let resources = Arc::new(store::SeaResources::new(ctx.db.clone()));
        ServiceRoutes::new()
            .with_service(CatalogServiceServer::new(api::CatalogApi::new(resources)))
    }

    fn policy(&self) -> zhongtai_kit::auth::AccessPolicy {
        access::policy()
    }
}
