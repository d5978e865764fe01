//! Approval instances as production runs them (the shared service
//! lifecycle: access layer with verified tokens, relay, SLA timer), on a
//! database the test chooses, with the in-process registry and bus.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;
use tonic::Request;
use tonic::transport::Channel;
use zhongtai_approval::ApprovalModule;
use zhongtai_contracts::approval::v1::approval_service_client::ApprovalServiceClient;
use zhongtai_kit::auth::{DevIssuer, JwksSource, KeySet, TokenVerifier};
use zhongtai_kit::config::{
    ApprovalConfig, BusKind, DatabaseConfig, EventsConfig, MeshConfig, ServerConfig,
};
use zhongtai_kit::service::{RunningService, ServiceSettings, start};
use zhongtai_kit::{Platform, Role, Secret, TenantId};

/// A development token issuer and the verifier that trusts it.
pub struct Tokens {
    _dir: tempfile::TempDir,
    issuer: DevIssuer,
    verifier: Arc<TokenVerifier>,
}

impl Tokens {
    pub async fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let issuer = DevIssuer::load_or_create(dir.path()).unwrap();
        let keys = KeySet::load(
            JwksSource::File(DevIssuer::jwks_path(dir.path())),
            Duration::from_secs(60),
        )
        .await
        .unwrap();
        let verifier = Arc::new(TokenVerifier::new(Arc::new(keys), DevIssuer::rules()));
        Self {
            _dir: dir,
            issuer,
            verifier,
        }
    }

    pub fn token(&self, subject: &str, tenant: &str, roles: &[Role]) -> String {
        self.issuer
            .issue(
                subject,
                &TenantId::from_key(tenant).unwrap(),
                roles,
                Duration::from_secs(3600),
            )
            .unwrap()
    }
}

/// One running approval instance.
pub struct Instance {
    running: RunningService,
    stop: CancellationToken,
    pub addr: SocketAddr,
}

/// A fresh PostgreSQL database with the approval schema, for instances
/// that start together (each would otherwise migrate it at once).
pub async fn migrated_database() -> zhongtai_testkit::TestDatabase {
    let database = zhongtai_testkit::TestDatabase::create().await;
    let db = zhongtai_store::connect(&zhongtai_store::StoreConfig {
        url: database.url().to_string(),
        ..zhongtai_store::StoreConfig::default()
    })
    .await
    .unwrap();
    zhongtai_store::migrate::<zhongtai_approval::migration::Migrator>(&db)
        .await
        .unwrap();
    let _ = db.close().await;
    database
}

/// The platform the instances of one test share.
pub fn platform() -> Platform {
    Platform::embedded(zhongtai_kit::platform::channel_config(
        &MeshConfig::default(),
    ))
}

impl Instance {
    /// Starts an instance on `database_url` (already migrated) whose SLA
    /// timer looks every `timer_interval_ms`.
    pub async fn start(
        database_url: &str,
        tokens: &Tokens,
        platform: &Platform,
        timer_interval_ms: u64,
    ) -> Self {
        let settings = ServiceSettings {
            server: ServerConfig {
                listen: "127.0.0.1:0".into(),
                metrics_listen: None,
                // Tests keep client connections open; stopping waits less.
                drain_timeout_ms: 500,
                ..ServerConfig::default()
            },
            database: DatabaseConfig {
                url: Secret::new(database_url.to_string()),
                max_connections: 4,
                ..DatabaseConfig::default()
            },
            events: EventsConfig {
                bus: BusKind::InProcess,
                relay_poll_ms: 100,
                ..EventsConfig::default()
            },
            tokens: tokens.verifier.clone(),
            tls: None,
        };
        let module = ApprovalModule::new(ApprovalConfig { timer_interval_ms });
        let stop = CancellationToken::new();
        let running = start(module, settings, platform.clone(), stop.clone())
            .await
            .unwrap();
        let addr = running.local_addr;
        Self {
            running,
            stop,
            addr,
        }
    }

    pub async fn client(&self) -> ApprovalServiceClient<Channel> {
        let channel = Channel::from_shared(format!("http://{}", self.addr))
            .unwrap()
            .connect()
            .await
            .unwrap();
        ApprovalServiceClient::new(channel)
    }

    /// Stops the instance the way SIGTERM does, and waits until it is down.
    pub async fn stop(self) {
        self.stop.cancel();
        self.running.wait().await.unwrap();
    }
}

/// `message` with `authorization: Bearer <token>`.
pub fn with_token<T>(message: T, token: &str) -> Request<T> {
    let mut request = Request::new(message);
    request
        .metadata_mut()
        .insert("authorization", format!("Bearer {token}").parse().unwrap());
    request
}
