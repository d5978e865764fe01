//! The approval center (审批中心): service items, process definitions and
//! applications with multi-stage and joint approval.
//!
//! Request path: [`api`] (contract ↔ domain) → [`domain`] (rules, ports) →
//! [`store`] (sea-orm), with events written to the outbox in the same
//! transaction as the state change.

#![forbid(unsafe_code)]

pub mod access;
pub mod api;
pub mod domain;
mod error;
pub mod migration;
mod published;
pub mod store;

use std::sync::Arc;

use zhongtai_contracts::approval::v1::approval_service_server::ApprovalServiceServer;
use zhongtai_kit::config::ApprovalConfig;
use zhongtai_kit::{ServiceContext, ServiceModule, ServiceRoutes};

/// Wires the approval center into the shared service lifecycle.
#[derive(Debug, Default, Clone)]
pub struct ApprovalModule {
    config: ApprovalConfig,
}

impl ApprovalModule {
    pub fn new(config: ApprovalConfig) -> Self {
        Self { config }
    }
}

impl ServiceModule for ApprovalModule {
    const NAME: &'static str = "approval";
    type Migrator = migration::Migrator;

    fn routes(&self, ctx: &ServiceContext) -> ServiceRoutes {
        let repository = store::SeaServiceItems::new(ctx.db.clone(), ctx.outbox_notifier());
        let items = domain::ServiceItems::new(Arc::new(repository));
        ServiceRoutes::new().with_service(ApprovalServiceServer::new(api::ApprovalApi::new(items)))
    }

    fn policy(&self) -> zhongtai_kit::auth::AccessPolicy {
        access::policy()
    }
}
