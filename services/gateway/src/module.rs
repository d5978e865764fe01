//! How the gateway runs inside the shared service lifecycle: the admin
//! plane as its gRPC routes; the front door, the configuration refresh,
//! the audit writer and nonce pruning as background work.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio_util::sync::CancellationToken;
use zhongtai_contracts::gateway::v1::gateway_admin_service_server::GatewayAdminServiceServer;
use zhongtai_credential::KeySealer;
use zhongtai_kit::config::GatewayConfig;
use zhongtai_kit::service::BackgroundTask;
use zhongtai_kit::{ServiceContext, ServiceModule, ServiceRoutes, TenantId};
use zhongtai_mesh::{AdaptiveConfig, AdaptiveLimiter, BreakerConfig};

use crate::audit::writer::AuditWriter;
use crate::domain::{AdminAccess, AppRepository, ConfigSource};
use crate::front::{
    AppTokens, Backends, ConcurrencyCaps, ConsentCheck, FrontDoor, Snapshot, SnapshotCell,
};
use crate::limits::{NonceStore, SharedLimits};
use crate::{access, admin, migration, store};

/// Why the gateway cannot start with its settings.
#[derive(Debug, thiserror::Error)]
pub enum GatewayStartError {
    #[error(
        "gateway.secret_encryption_key: {0} (set GATEWAY_SECRET_ENCRYPTION_KEY to the base64 of 32 random bytes)"
    )]
    SecretKey(String),
    #[error(transparent)]
    TokenKey(#[from] crate::front::tokens::TokenKeyError),
    #[error("gateway.platform_tenant: {0}")]
    PlatformTenant(String),
    #[error("cannot listen on {listen} for the front door: {source}")]
    Listen {
        listen: String,
        source: std::io::Error,
    },
}

/// The gateway service.
pub struct GatewayModule {
    config: GatewayConfig,
    sealer: Arc<KeySealer>,
    tokens: Arc<AppTokens>,
    platform_tenant: TenantId,
    snapshot: SnapshotCell,
    listener: Mutex<Option<std::net::TcpListener>>,
    front_door: SocketAddr,
}

impl GatewayModule {
    /// Checks the keys and binds the front door's port now, so a wrong
    /// setting stops the process at start. `issuer` and `audience` are what
    /// the services verify the gateway's app tokens against.
    pub fn new(
        config: GatewayConfig,
        issuer: &str,
        audience: &str,
    ) -> Result<Self, GatewayStartError> {
        let sealer = KeySealer::from_base64(config.secret_encryption_key.expose())
            .map_err(|e| GatewayStartError::SecretKey(e.to_string()))?;
        let tokens = AppTokens::new(
            config.token_signing_key.expose(),
            &config.token_key_id,
            issuer,
            audience,
        )?;
        let platform_tenant = config
            .platform_tenant()
            .map_err(|e| GatewayStartError::PlatformTenant(e.to_string()))?;
        let listen_error = |source| GatewayStartError::Listen {
            listen: config.listen.clone(),
            source,
        };
        let listener = std::net::TcpListener::bind(&config.listen).map_err(listen_error)?;
        listener.set_nonblocking(true).map_err(listen_error)?;
        let front_door = listener.local_addr().map_err(listen_error)?;
        Ok(Self {
            config,
            sealer: Arc::new(sealer),
            tokens,
            platform_tenant,
            snapshot: SnapshotCell::new(Snapshot::empty()),
            listener: Mutex::new(Some(listener)),
            front_door,
        })
    }

    /// Where integrators reach the front door.
    pub fn front_door_addr(&self) -> SocketAddr {
        self.front_door
    }

    fn config_source(&self, ctx: &ServiceContext) -> Arc<dyn ConfigSource> {
        Arc::new(store::SeaConfig::new(ctx.db.clone(), self.sealer.clone()))
    }
}

impl ServiceModule for GatewayModule {
    const NAME: &'static str = "gateway";
    type Migrator = migration::Migrator;

    fn routes(&self, ctx: &ServiceContext) -> ServiceRoutes {
        let access = AdminAccess::new(self.platform_tenant.clone());
        let apps: Arc<dyn AppRepository> = Arc::new(store::SeaApps::new(ctx.db.clone()));
        let admin = admin::GatewayAdmin {
            apps: admin::AppsApi::new(apps.clone(), access.clone()),
            credentials: admin::CredentialsApi::new(
                apps.clone(),
                Arc::new(store::SeaCredentials::new(ctx.db.clone())),
                access.clone(),
                Some(self.sealer.clone()),
            ),
            capabilities: admin::CapabilitiesApi::new(
                Arc::new(store::SeaCapabilities::new(ctx.db.clone())),
                access.clone(),
            ),
            policies: admin::PoliciesApi::new(
                apps,
                Arc::new(store::SeaPolicies::new(ctx.db.clone())),
                access,
            ),
            audit: admin::AuditApi::new(ctx.db.clone(), self.platform_tenant.clone()),
            usage: admin::UsageApi::new(
                self.snapshot.clone(),
                SharedLimits::new(ctx.db.clone()),
                self.platform_tenant.clone(),
            ),
        };
        ServiceRoutes::new().with_service(GatewayAdminServiceServer::new(admin))
    }

    fn policy(&self) -> zhongtai_kit::auth::AccessPolicy {
        access::policy()
    }

    fn listeners(&self) -> Vec<(&'static str, SocketAddr)> {
        vec![("http", self.front_door)]
    }

    fn background(&self, ctx: &ServiceContext, stop: CancellationToken) -> Vec<BackgroundTask> {
        let listener = match self.listener.lock() {
            Ok(mut guard) => guard.take(),
            Err(poisoned) => poisoned.into_inner().take(),
        };
        let Some(listener) = listener else {
            tracing::error!("the gateway's front door was started twice");
            return Vec::new();
        };
        let config = &self.config;
        let (audit, audit_task) = AuditWriter::start(
            ctx.db.clone(),
            config.audit_batch_size as usize,
            config.audit_flush(),
            config.audit_queue_capacity as usize,
        );
        let limits = SharedLimits::new(ctx.db.clone());
        let nonces = NonceStore::new(ctx.db.clone());
        let door = FrontDoor {
            snapshot: self.snapshot.clone(),
            nonces: nonces.clone(),
            limits: limits.clone(),
            shedder: AdaptiveLimiter::new(shedding(config.max_in_flight)),
            backends: Backends::new(
                ctx.platform.clone(),
                BreakerConfig {
                    failure_threshold: config.breaker_failures,
                    open_for: config.breaker_open(),
                },
            ),
            tokens: self.tokens.clone(),
            audit,
            caps: ConcurrencyCaps::default(),
            consents: ConsentCheck::new(ctx.platform.clone()),
            clock_skew: config.clock_skew(),
            max_body_bytes: config.max_body_bytes,
        };
        let front = serve_front_door(
            door,
            listener,
            self.snapshot.clone(),
            self.config_source(ctx),
            config.config_refresh(),
            limits,
            stop.clone(),
        );
        let prune = prune_nonces(nonces, stop);
        vec![Box::pin(front), Box::pin(audit_task.run()), Box::pin(prune)]
    }
}

/// The front door's adaptive limit: between an eighth of the ceiling (so a
/// quiet gateway never refuses a modest burst while it measures) and the
/// ceiling itself.
fn shedding(max_in_flight: usize) -> AdaptiveConfig {
    let max = max_in_flight.max(1);
    AdaptiveConfig {
        min_limit: (max / 8).clamp(1, 256),
        initial_limit: (max / 4).max(1),
        ..AdaptiveConfig::new(max)
    }
}

/// Loads the configuration (retrying until it can), keeps it fresh, serves
/// until `stop`; then the door — and with it the audit writer — is dropped,
/// which lets the writer flush everything, and leased limits are given back.
async fn serve_front_door(
    door: FrontDoor,
    listener: std::net::TcpListener,
    snapshot: SnapshotCell,
    source: Arc<dyn ConfigSource>,
    refresh: Duration,
    limits: SharedLimits,
    stop: CancellationToken,
) {
    let listener = match tokio::net::TcpListener::from_std(listener) {
        Ok(listener) => listener,
        Err(e) => {
            tracing::error!(error = %e, "the gateway's front door cannot listen");
            return;
        }
    };
    loop {
        match snapshot.reload(source.as_ref()).await {
            Ok(revision) => {
                tracing::info!(revision, "gateway configuration loaded");
                break;
            }
            Err(e) => tracing::warn!(error = %e, "cannot load the gateway configuration; retrying"),
        }
        tokio::select! {
            () = stop.cancelled() => return,
            () = tokio::time::sleep(refresh.max(Duration::from_millis(200))) => {}
        }
    }
    let refresher = tokio::spawn(snapshot.keep_fresh(source, refresh, stop.clone()));
    crate::front::serve(Arc::new(door), listener, stop).await;
    let _ = refresher.await;
    if let Err(e) = limits.release().await {
        tracing::warn!(error = %e, "leased limits could not be given back");
    }
}

async fn prune_nonces(nonces: NonceStore, stop: CancellationToken) {
    let mut ticker = tokio::time::interval(Duration::from_secs(30));
    loop {
        tokio::select! {
            () = stop.cancelled() => return,
            _ = ticker.tick() => {}
        }
        if let Err(e) = nonces.prune(chrono::Utc::now()).await {
            tracing::warn!(error = %e, "expired nonces could not be pruned");
        }
    }
}
