//! The capability gateway (能力网关): integrator apps, the capabilities they
//! may call, policies, usage and audit, administered over gRPC.
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

use zhongtai_contracts::gateway::v1::gateway_admin_service_server::GatewayAdminServiceServer;
use zhongtai_kit::{ServiceContext, ServiceModule, ServiceRoutes};

/// Wires the gateway into the shared service lifecycle.
#[derive(Debug, Default, Clone, Copy)]
pub struct GatewayModule;

impl ServiceModule for GatewayModule {
    const NAME: &'static str = "gateway";
    type Migrator = migration::Migrator;

    fn routes(&self, ctx: &ServiceContext) -> ServiceRoutes {
        let apps = Arc::new(store::SeaApps::new(ctx.db.clone()));
        ServiceRoutes::new().with_service(GatewayAdminServiceServer::new(
            api::GatewayAdminApi::new(apps),
        ))
    }

    fn policy(&self) -> zhongtai_kit::auth::AccessPolicy {
        access::policy()
    }
}
