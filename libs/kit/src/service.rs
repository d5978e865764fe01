//! Running one Zhongtai service: the steps are the same for all five, so they
//! live here once. A service supplies its name, migrations, gRPC routes and
//! event subscriptions ([`ServiceModule`]); [`start`] binds its port, connects
//! and migrates its database, starts its outbox relay and consumers, and
//! serves until shutdown.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use sea_orm::DatabaseConnection;
use sea_orm_migration::MigratorTrait;
use tokio::sync::Notify;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use zhongtai_events::{Consumer, EventHandler, Relay, RelayConfig, Subscription};
use zhongtai_mesh::{MeshTls, Priority};
use zhongtai_store::StoreConfig;

use zhongtai_audit::{Sealer, SealerConfig};

use crate::audit_trail::AuditedDenials;
use crate::auth::{AccessControl, AccessLayer, AccessPolicy, TokenVerifier};
use crate::config::{DatabaseConfig, EventsConfig, ServerConfig};
use crate::host::{HostError, ServiceHost, ServiceRoutes};
use crate::platform::Platform;
use crate::retry::retry_forever;

/// What makes a service different from the others.
pub trait ServiceModule: Send + Sync + 'static {
    /// Short name: discovery key, metrics label, database file name.
    const NAME: &'static str;
    /// The service's database migrations (outbox and inbox included).
    type Migrator: MigratorTrait;

    /// The gRPC services to serve.
    fn routes(&self, ctx: &ServiceContext) -> ServiceRoutes;

    /// Which roles may call which of its RPCs. Every RPC of every service in
    /// [`routes`](Self::routes) must be declared; undeclared ones are refused.
    fn policy(&self) -> AccessPolicy;

    /// Events to consume, each with its handler.
    fn subscriptions(&self, _ctx: &ServiceContext) -> Vec<(Subscription, Arc<dyn EventHandler>)> {
        Vec::new()
    }

    /// Long-running work beside the server (timers over persisted
    /// deadlines, for example), each future ending when `stop` is
    /// cancelled at shutdown.
    fn background(&self, _ctx: &ServiceContext, _stop: CancellationToken) -> Vec<BackgroundTask> {
        Vec::new()
    }

    /// Ports the service serves besides its gRPC port, by name (the
    /// gateway's HTTP front door, for example), already bound.
    fn listeners(&self) -> Vec<(&'static str, SocketAddr)> {
        Vec::new()
    }

    /// Method priorities for load shedding (default: all Normal).
    fn priorities(&self) -> Arc<dyn Fn(&str) -> Priority + Send + Sync> {
        Arc::new(|_| Priority::Normal)
    }
}

/// One piece of a service's background work; see [`ServiceModule::background`].
pub type BackgroundTask = futures::future::BoxFuture<'static, ()>;

/// What a service's handlers and repositories get.
#[derive(Clone)]
pub struct ServiceContext {
    pub db: DatabaseConnection,
    pub platform: Platform,
    outbox: Arc<Notify>,
}

impl ServiceContext {
    /// Tells the relay that a transaction with events just committed, so they
    /// are published now rather than at the next poll.
    pub fn events_committed(&self) {
        self.outbox.notify_one();
    }

    /// The notifier behind [`ServiceContext::events_committed`].
    pub fn outbox_notifier(&self) -> Arc<Notify> {
        self.outbox.clone()
    }
}

/// Per-service settings.
#[derive(Clone)]
pub struct ServiceSettings {
    pub server: ServerConfig,
    pub database: DatabaseConfig,
    pub events: EventsConfig,
    /// Verifies callers' tokens (shared by the services of one process).
    pub tokens: Arc<TokenVerifier>,
    /// The service's mesh identity; `None` serves plaintext (embedded mode
    /// on loopback, or TLS explicitly disabled).
    pub tls: Option<MeshTls>,
}

/// Why a service stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error(transparent)]
    Host(#[from] HostError),
    /// The service's own settings cannot work (e.g. a missing key).
    #[error("{service}: {message}")]
    Config {
        service: &'static str,
        message: String,
    },
    #[error("{service}: cannot connect to the database: {source}")]
    Database {
        service: &'static str,
        source: zhongtai_store::StoreError,
    },
    #[error("{service}: database migration failed: {source}")]
    Migrate {
        service: &'static str,
        source: zhongtai_store::StoreError,
    },
    #[error("{service}: cannot subscribe {subscription}: {source}")]
    Subscribe {
        service: &'static str,
        subscription: String,
        source: zhongtai_events::EventError,
    },
}

/// A service that is bound and starting (or running).
pub struct RunningService {
    pub name: &'static str,
    pub local_addr: SocketAddr,
    /// Its other listeners ([`ServiceModule::listeners`]).
    pub listeners: Vec<(&'static str, SocketAddr)>,
    task: JoinHandle<Result<(), ServiceError>>,
}

impl RunningService {
    /// Waits until the service has stopped (after shutdown, or on failure).
    pub async fn wait(self) -> Result<(), ServiceError> {
        match self.task.await {
            Ok(result) => result,
            Err(e) => Err(ServiceError::Host(HostError::Stopped(format!(
                "{} task failed: {e}",
                self.name
            )))),
        }
    }
}

/// Binds the service's port now and runs the rest in the background.
pub async fn start<M: ServiceModule>(
    module: M,
    settings: ServiceSettings,
    platform: Platform,
    shutdown: CancellationToken,
) -> Result<RunningService, ServiceError> {
    record_build_info(M::NAME);
    let mut host = ServiceHost::bind(M::NAME, settings.server.clone())
        .await?
        .with_priorities(module.priorities());
    if let Some(tls) = settings.tls.clone() {
        host = host.with_tls(tls);
    }
    let local_addr = host.local_addr();
    let listeners = module.listeners();
    let task = tokio::spawn(run(module, host, settings, platform, shutdown));
    Ok(RunningService {
        name: M::NAME,
        local_addr,
        listeners,
        task,
    })
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, prometheus_client::encoding::EncodeLabelSet)]
struct BuildLabels {
    service: String,
    version: String,
}

/// `zhongtai_build_info{service, version} 1` for every service this process
/// runs, so dashboards can tell which build answers.
fn record_build_info(service: &str) {
    use prometheus_client::metrics::{family::Family, gauge::Gauge};
    static BUILD_INFO: std::sync::LazyLock<Family<BuildLabels, Gauge>> =
        std::sync::LazyLock::new(|| {
            let family = Family::default();
            zhongtai_telemetry::metrics::with_registry(|registry| {
                registry.register(
                    "zhongtai_build_info",
                    "1 for each service this process runs, labelled with its version",
                    family.clone(),
                );
            });
            family
        });
    BUILD_INFO
        .get_or_create(&BuildLabels {
            service: service.to_string(),
            version: env!("CARGO_PKG_VERSION").to_string(),
        })
        .set(1);
}

fn store_config(database: &DatabaseConfig) -> StoreConfig {
    StoreConfig {
        url: database.url.expose().clone(),
        max_connections: database.max_connections,
        connect_timeout: Duration::from_millis(database.connect_timeout_ms),
        ..StoreConfig::default()
    }
}

async fn apply_migrations<M: ServiceModule>(db: &DatabaseConnection) -> Result<(), ServiceError> {
    zhongtai_store::migrate::<M::Migrator>(db)
        .await
        .map_err(|source| ServiceError::Migrate {
            service: M::NAME,
            source,
        })
}

/// Connects to the service's database once and applies its pending
/// migrations: the migration step of a deployment, run before new
/// instances start. Instances migrate at start-up too; applied migrations
/// are skipped.
pub async fn migrate<M: ServiceModule>(database: &DatabaseConfig) -> Result<(), ServiceError> {
    let db = zhongtai_store::connect(&store_config(database))
        .await
        .map_err(|source| ServiceError::Database {
            service: M::NAME,
            source,
        })?;
    let applied = apply_migrations::<M>(&db).await;
    let _ = db.close().await;
    applied
}

async fn run<M: ServiceModule>(
    module: M,
    host: ServiceHost,
    settings: ServiceSettings,
    platform: Platform,
    shutdown: CancellationToken,
) -> Result<(), ServiceError> {
    let store = store_config(&settings.database);
    let Some(db) = retry_forever("database", &shutdown, || zhongtai_store::connect(&store)).await
    else {
        return Ok(());
    };
    apply_migrations::<M>(&db).await?;

    let background = CancellationToken::new();
    let relay = Relay::new(
        db.clone(),
        platform.bus(),
        RelayConfig {
            service: M::NAME.to_string(),
            batch_size: settings.events.relay_batch_size,
            poll_interval: Duration::from_millis(settings.events.relay_poll_ms),
            ..RelayConfig::default()
        },
    );
    let ctx = ServiceContext {
        db: db.clone(),
        platform: platform.clone(),
        outbox: relay.notifier(),
    };
    let relay_task = tokio::spawn(relay.run(background.clone()));
    let sealer = Sealer::new(db.clone(), M::NAME, SealerConfig::default());
    let sealer_task = tokio::spawn(sealer.run(background.clone()));

    let mut consumers = Vec::new();
    for (subscription, handler) in module.subscriptions(&ctx) {
        let name = subscription.name.clone();
        let consumer =
            Consumer::notifying(db.clone(), handler, ctx.outbox_notifier()).with_service(M::NAME);
        let handle = platform
            .bus()
            .subscribe(subscription, consumer)
            .await
            .map_err(|source| ServiceError::Subscribe {
                service: M::NAME,
                subscription: name,
                source,
            })?;
        consumers.push(handle);
    }

    let background_tasks: Vec<_> = module
        .background(&ctx, background.clone())
        .into_iter()
        .map(tokio::spawn)
        .collect();

    let routes = module.routes(&ctx);
    let host = host.with_access(AccessLayer::new(AccessControl {
        verifier: settings.tokens.clone(),
        policy: module.policy(),
        denials: Arc::new(AuditedDenials::new(db.clone(), M::NAME)),
    }));
    let served = host.run(routes, platform.registry(), shutdown).await;

    // Requests are drained; stop taking events, then publish what is left.
    for consumer in consumers {
        consumer.stop().await;
    }
    background.cancel();
    for task in background_tasks {
        let _ = task.await;
    }
    let _ = relay_task.await;
    let _ = sealer_task.await;
    let _ = db.close().await;
    served.map_err(ServiceError::from)
}
