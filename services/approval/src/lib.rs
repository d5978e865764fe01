//! The approval center (审批中心): service items, process definitions and
//! applications with multi-stage and joint approval, SLA reminders and
//! escalations.
//!
//! Request path: [`api`] (contract ↔ domain) → [`domain`] (rules, ports) →
//! [`store`] (sea-orm), with events written to the outbox in the same
//! transaction as the state change. Beside it, the SLA timer fires
//! persisted deadlines ([`domain::SlaTimer`]).

#![forbid(unsafe_code)]

pub mod access;
pub mod api;
pub mod domain;
mod error;
pub mod migration;
mod published;
pub mod store;

use std::sync::Arc;

use sea_orm::DatabaseConnection;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use zhongtai_contracts::approval::v1::approval_service_server::ApprovalServiceServer;
use zhongtai_kit::config::ApprovalConfig;
use zhongtai_kit::{BackgroundTask, ServiceContext, ServiceModule, ServiceRoutes};

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

/// The API on `db`; `outbox` is poked after each commit with events.
pub fn api(db: DatabaseConnection, outbox: Arc<Notify>) -> api::ApprovalApi {
    let items = Arc::new(store::SeaServiceItems::new(db.clone(), outbox.clone()));
    let processes = Arc::new(store::SeaProcesses::new(db.clone(), outbox.clone()));
    let applications = Arc::new(store::SeaApplications::new(db, outbox));
    api::ApprovalApi::new(
        domain::ServiceItems::new(items.clone(), processes.clone()),
        domain::Processes::new(processes.clone()),
        domain::Applications::new(applications, items, processes),
    )
}

/// The SLA timer on `db`.
pub fn sla_timer(db: DatabaseConnection, outbox: Arc<Notify>) -> domain::SlaTimer {
    domain::SlaTimer::new(Arc::new(store::SeaApplications::new(db, outbox)))
}

impl ServiceModule for ApprovalModule {
    const NAME: &'static str = "approval";
    type Migrator = migration::Migrator;

    fn routes(&self, ctx: &ServiceContext) -> ServiceRoutes {
        let api = api(ctx.db.clone(), ctx.outbox_notifier());
        ServiceRoutes::new().with_service(ApprovalServiceServer::new(api))
    }

    fn policy(&self) -> zhongtai_kit::auth::AccessPolicy {
        access::policy()
    }

    fn background(&self, ctx: &ServiceContext, stop: CancellationToken) -> Vec<BackgroundTask> {
        let timer = sla_timer(ctx.db.clone(), ctx.outbox_notifier());
        let interval = self.config.timer_interval();
        let task = zhongtai_kit::timers::every("approval.sla", interval, stop, move || {
            let timer = timer.clone();
            async move { timer.tick().await }
        });
        vec![Box::pin(task)]
    }
}
