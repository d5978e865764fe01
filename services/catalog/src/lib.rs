//! The catalog center (目录中心): the data resources departments own and
//! share, search within each caller's visibility, and the access lifecycle
//! (request → approval → grant → revoke / expire) the exchange center
//! enforces.
//!
//! Request path: [`api`] (contract ↔ domain) → [`domain`] (rules, ports) →
//! [`store`] (sea-orm), with events and audit records written in the
//! transaction of each change. [`review`] reaches the approval center,
//! [`events`] takes its decisions back.

#![forbid(unsafe_code)]

pub mod access;
pub mod api;
pub mod domain;
mod error;
pub mod events;
pub mod migration;
mod published;
pub mod review;
pub mod store;

use std::sync::Arc;

use tokio_util::sync::CancellationToken;
use zhongtai_contracts::catalog::v1::catalog_service_server::CatalogServiceServer;
use zhongtai_events::{EventHandler, Subscription};
use zhongtai_kit::config::CatalogConfig;
use zhongtai_kit::{BackgroundTask, ServiceContext, ServiceModule, ServiceRoutes};

use crate::domain::Catalog;

/// Wires the catalog center into the shared service lifecycle.
#[derive(Debug, Default, Clone)]
pub struct CatalogModule {
    config: CatalogConfig,
}

impl CatalogModule {
    pub fn new(config: CatalogConfig) -> Self {
        Self { config }
    }

    fn catalog(&self, ctx: &ServiceContext) -> Catalog {
        let store = Arc::new(store::SeaStore::new(ctx.db.clone(), ctx.outbox_notifier()));
        let review = Arc::new(review::ApprovalReview::new(
            ctx.platform.channel("approval"),
        ));
        Catalog::new(store, review, self.config.clone())
    }
}

impl ServiceModule for CatalogModule {
    const NAME: &'static str = "catalog";
    type Migrator = migration::Migrator;

    fn routes(&self, ctx: &ServiceContext) -> ServiceRoutes {
        ServiceRoutes::new().with_service(CatalogServiceServer::new(api::CatalogApi::new(
            self.catalog(ctx),
        )))
    }

    fn policy(&self) -> zhongtai_kit::auth::AccessPolicy {
        access::policy()
    }

    fn subscriptions(&self, _ctx: &ServiceContext) -> Vec<(Subscription, Arc<dyn EventHandler>)> {
        vec![events::subscription()]
    }

    fn background(&self, ctx: &ServiceContext, stop: CancellationToken) -> Vec<BackgroundTask> {
        let grants = self.catalog(ctx).grants;
        let interval = self.config.timer_interval();
        vec![Box::pin(zhongtai_kit::timers::every(
            "catalog.grant-expiry",
            interval,
            stop,
            move || {
                let grants = grants.clone();
                async move { grants.expire_due(domain::now()).await }
            },
        ))]
    }
}
