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
pub mod exchange_service;
pub mod journal;
pub mod lines;
pub mod migration;
mod release;
pub mod runner;
pub mod store;

use std::sync::{Arc, OnceLock};

use sea_orm::DatabaseConnection;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;
use zhongtai_contracts::exchange::v1::enclave_service_server::EnclaveServiceServer;
use zhongtai_contracts::exchange::v1::exchange_service_server::ExchangeServiceServer;
use zhongtai_events::{EventHandler, QueuePublisher, RabbitConfig, Subscription};
use zhongtai_kit::config::{BusKind, EventsConfig, ExchangeConfig};
use zhongtai_kit::{BackgroundTask, ServiceContext, ServiceModule, ServiceRoutes};

use crate::domain::FlowError;
use crate::domain::ports::{EnclaveDirectory, LineProvisioner, RunnerStore};
use crate::store::SeaLines;

pub use exchange_service::ExchangeApi;

/// The center's parts, wired together over one database.
pub struct Center {
    pub store: Arc<SeaLines>,
    pub enclaves: Arc<enclaves::Enclaves>,
    pub journals: Arc<journal::Journals>,
    pub runners: Arc<runner::Runners>,
    queue_delivery_available: bool,
    config: ExchangeConfig,
}

impl Center {
    /// Without `queues` (no broker: the embedded mode) queue subscriptions
    /// are refused. Fails only on a masking key that is not base64.
    pub fn new(
        db: DatabaseConnection,
        outbox: Arc<Notify>,
        config: ExchangeConfig,
        queues: Option<Arc<QueuePublisher>>,
    ) -> Result<Self, FlowError> {
        let store = Arc::new(SeaLines::with_outbox(db.clone(), outbox.clone()));
        let provisioner: Arc<dyn LineProvisioner> = store.clone();
        let enclaves =
            enclaves::Enclaves::new(db.clone(), outbox.clone(), config.clone(), provisioner);
        let journals = journal::Journals::new(db, outbox, config.clone());
        let queue_delivery_available = queues.is_some();
        let runner_store: Arc<dyn RunnerStore> = store.clone();
        let directory: Arc<dyn EnclaveDirectory> = enclaves.clone();
        let runners = Arc::new(runner::Runners::new(runner::RunnerParts {
            store: runner_store,
            journal: journals.journal(),
            enclaves: directory,
            enclave_sink: enclaves.sink(),
            queues,
            log_sources: Arc::new(capture::LogCapture::new(config.clone())),
            config: config.clone(),
            instance_id: Uuid::new_v4(),
        })?);
        Ok(Self {
            store,
            enclaves,
            journals,
            runners,
            queue_delivery_available,
            config,
        })
    }

    /// The `ExchangeService`.
    pub fn exchange_api(&self) -> ExchangeApi {
        let directory: Arc<dyn EnclaveDirectory> = self.enclaves.clone();
        ExchangeApi::new(
            lines::api::LineHandlers::with_store(
                self.store.clone(),
                directory,
                self.runners.delivery(),
                self.queue_delivery_available,
                self.config.clone(),
            ),
            self.journals.handlers(),
        )
    }

    pub fn subscriptions(&self) -> Vec<(Subscription, Arc<dyn EventHandler>)> {
        lines::grants::subscriptions(self.queue_delivery_available)
    }

    pub fn background(&self, stop: CancellationToken) -> Vec<BackgroundTask> {
        let mut tasks = self.runners.background(stop.clone());
        tasks.extend(self.journals.background(stop.clone()));
        tasks.extend(lines::grants::background(self.store.clone(), stop.clone()));
        tasks.extend(release::background(
            self.store.clone(),
            capture::LogCapture::new(self.config.clone()),
            stop,
        ));
        tasks
    }
}

/// Wires the exchange center into the shared service lifecycle.
pub struct ExchangeModule {
    config: ExchangeConfig,
    /// Queue delivery's own connection to the broker; `None` with the
    /// in-process bus.
    queues: Option<Arc<QueuePublisher>>,
    /// Built on first use, so routes, consumers and runners share one
    /// store and one pipeline.
    center: OnceLock<Arc<Center>>,
}

impl ExchangeModule {
    /// Refuses a configuration without a usable masking key. `events` says
    /// whether queue delivery has a RabbitMQ broker.
    pub fn new(config: ExchangeConfig, events: EventsConfig) -> Result<Self, FlowError> {
        config.masking_key_bytes().map_err(FlowError::Permanent)?;
        let queues = match events.bus {
            BusKind::Rabbitmq => Some(Arc::new(
                QueuePublisher::new(RabbitConfig {
                    url: events.amqp_url.expose().clone(),
                    exchange: events.exchange.clone(),
                    connection_name: "zhongtai-exchange-delivery".into(),
                    ..RabbitConfig::default()
                })
                .map_err(|e| FlowError::Permanent(format!("queue delivery: {e}")))?,
            )),
            BusKind::InProcess => None,
        };
        Ok(Self {
            config,
            queues,
            center: OnceLock::new(),
        })
    }

    fn center(&self, ctx: &ServiceContext) -> Arc<Center> {
        self.center
            .get_or_init(|| {
                let center = Center::new(
                    ctx.db.clone(),
                    ctx.outbox_notifier(),
                    self.config.clone(),
                    self.queues.clone(),
                );
                // `new` checked the same settings, so wiring cannot fail here.
                Arc::new(center.unwrap_or_else(|e| unreachable!("checked at construction: {e}")))
            })
            .clone()
    }
}

impl ServiceModule for ExchangeModule {
    const NAME: &'static str = "exchange";
    type Migrator = migration::Migrator;

    fn routes(&self, ctx: &ServiceContext) -> ServiceRoutes {
        let center = self.center(ctx);
        ServiceRoutes::new()
            .with_service(ExchangeServiceServer::new(center.exchange_api()))
            .with_service(EnclaveServiceServer::new(center.enclaves.api()))
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
}
