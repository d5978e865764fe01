//! The platform as production runs it, inside one test process: each service
//! on its own PostgreSQL database, registered in a real etcd, publishing to a
//! real RabbitMQ exchange of its own, with mutual TLS and verified tokens.
//! Shared by the scenario tests; each test file includes it with `mod support;`.

#![allow(dead_code, clippy::unwrap_used)] // test helpers; not every test uses every one

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use lapin::options::{
    BasicAckOptions, BasicConsumeOptions, ExchangeDeclareOptions, QueueBindOptions,
    QueueDeclareOptions,
};
use lapin::types::FieldTable;
use lapin::{Connection, ConnectionProperties, Consumer, ExchangeKind};
use prost::Message;
use sea_orm::{ConnectionTrait, DatabaseConnection};
use tokio_util::sync::CancellationToken;
use tonic::Request;
use zhongtai_contracts::events::v1::EventEnvelope;
use zhongtai_kit::auth::{AccessPolicy, DevIssuer, JwksSource, KeySet, TokenVerifier};
use zhongtai_kit::config::{BusKind, DatabaseConfig, EventsConfig, MeshConfig, ServerConfig};
use zhongtai_kit::service::{RunningService, ServiceModule, ServiceSettings, start};
use zhongtai_kit::{Platform, Secret};
use zhongtai_mesh::{ChannelConfig, MeshChannel};
use zhongtai_scenarios::Security;
use zhongtai_testkit::{EtcdServer, TestDatabase, amqp_url, eventually};

pub mod data_sharing;
pub mod exchange;
pub mod gateway;

/// Which services a test needs.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Services {
    All,
    ApprovalAndCatalog,
}

pub struct Mesh {
    _etcd: EtcdServer,
    pub security: Security,
    pub events: EventsConfig,
    databases: Vec<(&'static str, TestDatabase)>,
    pub policies: Vec<(&'static str, AccessPolicy)>,
    running: Vec<RunningService>,
    pub platform: Platform,
    shutdown: CancellationToken,
    tokens: Arc<TokenVerifier>,
    /// Where integrators reach the (first) gateway instance.
    pub gateway_front_door: Option<std::net::SocketAddr>,
}

impl Mesh {
    pub async fn start(services: Services) -> Self {
        Self::start_with(services, exchange_config()).await
    }

    /// A mesh whose exchange center runs with `exchange` (e.g. with source
    /// connections to departments' databases).
    pub async fn start_with(
        services: Services,
        exchange: zhongtai_kit::config::ExchangeConfig,
    ) -> Self {
        zhongtai_testkit::init_tracing();
        let etcd = EtcdServer::start();
        let security = Security::new();
        let shutdown = CancellationToken::new();
        let mesh = MeshConfig {
            etcd_endpoints: vec![etcd.endpoint()],
            lease_ttl_secs: 5,
            ..MeshConfig::default()
        };
        // Each mesh has its own exchange and queues: meshes of parallel
        // tests share the broker, never a queue.
        let exchange_name = format!("zt-scenario-{}", uuid::Uuid::new_v4().simple());
        let events = EventsConfig {
            bus: BusKind::Rabbitmq,
            amqp_url: Secret::new(amqp_url()),
            exchange: exchange_name.clone(),
            queue_prefix: exchange_name,
            ..EventsConfig::default()
        };
        let platform = Platform::connect(&mesh, &events, Some(security.client_tls()), &shutdown)
            .await
            .unwrap();
        let keys = KeySet::load(
            JwksSource::File(security.jwks_path()),
            Duration::from_secs(60),
        )
        .await
        .unwrap();
        let tokens = Arc::new(TokenVerifier::new(Arc::new(keys), DevIssuer::rules()));
        let mut this = Self {
            _etcd: etcd,
            security,
            events,
            databases: Vec::new(),
            policies: Vec::new(),
            running: Vec::new(),
            platform,
            shutdown,
            tokens,
            gateway_front_door: None,
        };
        this.add(zhongtai_approval::ApprovalModule::default()).await;
        this.add(zhongtai_catalog::CatalogModule::default()).await;
        if services == Services::All {
            this.add(certificate_module()).await;
            let exchange =
                zhongtai_exchange::ExchangeModule::new(exchange, this.events.clone()).unwrap();
            this.add(exchange).await;
            let gateway = gateway_module(&this.security);
            this.gateway_front_door = Some(gateway.front_door_addr());
            this.add(gateway).await;
        }
        this
    }

    async fn add<M: ServiceModule>(&mut self, module: M) {
        let database = TestDatabase::create().await;
        let url = database.url().to_string();
        self.add_on(module, &url).await;
        self.databases.push((M::NAME, database));
    }

    /// Starts `module` on the database at `url` (another instance of a
    /// service shares its first instance's database).
    async fn add_on<M: ServiceModule>(&mut self, module: M, url: &str) {
        let settings = ServiceSettings {
            server: ServerConfig {
                listen: "127.0.0.1:0".into(),
                metrics_listen: None,
                ..ServerConfig::default()
            },
            database: DatabaseConfig {
                url: Secret::new(url.to_string()),
                ..DatabaseConfig::default()
            },
            events: self.events.clone(),
            tokens: self.tokens.clone(),
            tls: Some(zhongtai_mesh::MeshTls::from_files(&self.security.files(M::NAME)).unwrap()),
        };
        self.policies.push((M::NAME, module.policy()));
        let running = start(
            module,
            settings,
            self.platform.clone(),
            self.shutdown.clone(),
        )
        .await
        .unwrap();
        let discovery = self.platform.registry().discover(M::NAME);
        eventually(Duration::from_secs(30), "service registered", || {
            let found = !discovery.current().is_empty();
            async move { found.then_some(()) }
        })
        .await;
        self.running.push(running);
    }

    /// Starts one more gateway instance on the first one's database and
    /// returns its front door.
    pub async fn add_gateway_instance(&mut self) -> std::net::SocketAddr {
        let gateway = gateway_module(&self.security);
        let front_door = gateway.front_door_addr();
        let url = self
            .databases
            .iter()
            .find(|(name, _)| *name == "gateway")
            .map(|(_, database)| database.url().to_string())
            .unwrap();
        self.add_on(gateway, &url).await;
        front_door
    }

    /// A client channel to `service` through discovery, with the test
    /// client's certificate.
    pub fn channel(&self, service: &str) -> MeshChannel {
        MeshChannel::new(
            self.platform.registry().discover(service),
            ChannelConfig {
                tls: Some(self.security.client_tls()),
                ..ChannelConfig::default()
            },
        )
    }

    /// The URL of `service`'s database (for more instances of it).
    pub fn database_url(&self, service: &str) -> String {
        let (_, database) = self
            .databases
            .iter()
            .find(|(name, _)| *name == service)
            .unwrap();
        database.url().to_string()
    }

    /// The mesh's etcd, for processes joining it.
    pub fn etcd_endpoint(&self) -> String {
        self._etcd.endpoint()
    }

    /// A connection to `service`'s own database, to look behind its API.
    pub async fn db(&self, service: &str) -> DatabaseConnection {
        let (_, database) = self
            .databases
            .iter()
            .find(|(name, _)| *name == service)
            .unwrap();
        sea_orm::Database::connect(database.url()).await.unwrap()
    }

    /// Publishes `envelope` once more on the platform's exchange, as a broker
    /// redelivering it (or a relay publishing it twice) would.
    pub async fn publish_again(&self, envelope: &EventEnvelope) {
        let connection = Connection::connect(&amqp_url(), ConnectionProperties::default())
            .await
            .unwrap();
        let channel = connection.create_channel().await.unwrap();
        channel
            .basic_publish(
                self.events.exchange.as_str().into(),
                envelope.r#type.as_str().into(),
                lapin::options::BasicPublishOptions::default(),
                &envelope.encode_to_vec(),
                lapin::BasicProperties::default().with_delivery_mode(2),
            )
            .await
            .unwrap()
            .await
            .unwrap();
        let _ = connection.close(200, "done".into()).await;
    }

    /// Starts watching the platform's exchange for `patterns`.
    pub async fn observe(&self, patterns: &[&str]) -> EventObserver {
        EventObserver::bind(&self.events.exchange, patterns).await
    }

    pub async fn stop(self) {
        self.shutdown.cancel();
        for running in self.running {
            running.wait().await.unwrap();
        }
    }
}

/// `message` with `authorization: Bearer <token>`.
pub fn with_token<T>(message: T, token: &str) -> Request<T> {
    let mut request = Request::new(message);
    request
        .metadata_mut()
        .insert("authorization", Security::bearer(token));
    request
}

/// `SELECT COUNT(*) FROM <query>`.
pub async fn count(db: &DatabaseConnection, query: &str) -> i64 {
    let row = db
        .query_one_raw(sea_orm::Statement::from_string(
            db.get_database_backend(),
            format!("SELECT COUNT(*) AS n FROM {query}"),
        ))
        .await
        .unwrap()
        .unwrap();
    row.try_get::<i64>("", "n").unwrap()
}

/// A queue of the test's own on the platform's exchange: what a consumer
/// outside the platform would receive.
pub struct EventObserver {
    _connection: Connection,
    deliveries: Consumer,
    seen: Vec<EventEnvelope>,
}

impl EventObserver {
    async fn bind(exchange: &str, patterns: &[&str]) -> Self {
        let connection = Connection::connect(&amqp_url(), ConnectionProperties::default())
            .await
            .unwrap();
        let channel = connection.create_channel().await.unwrap();
        channel
            .exchange_declare(
                exchange.into(),
                ExchangeKind::Topic,
                ExchangeDeclareOptions {
                    durable: true,
                    ..Default::default()
                },
                FieldTable::default(),
            )
            .await
            .unwrap();
        let queue = channel
            .queue_declare(
                "".into(),
                QueueDeclareOptions {
                    exclusive: true,
                    auto_delete: true,
                    ..Default::default()
                },
                FieldTable::default(),
            )
            .await
            .unwrap();
        for pattern in patterns {
            channel
                .queue_bind(
                    queue.name().as_str().into(),
                    exchange.into(),
                    (*pattern).into(),
                    QueueBindOptions::default(),
                    FieldTable::default(),
                )
                .await
                .unwrap();
        }
        let deliveries = channel
            .basic_consume(
                queue.name().as_str().into(),
                "scenario-observer".into(),
                BasicConsumeOptions::default(),
                FieldTable::default(),
            )
            .await
            .unwrap();
        Self {
            _connection: connection,
            deliveries,
            seen: Vec::new(),
        }
    }

    /// The first event of `event_type` about `subject` (seen before or
    /// arriving within `timeout`); panics with what was seen otherwise.
    pub async fn expect(
        &mut self,
        event_type: &str,
        subject: &str,
        timeout: Duration,
    ) -> EventEnvelope {
        let matches = |e: &EventEnvelope| e.r#type == event_type && e.subject == subject;
        if let Some(found) = self.seen.iter().find(|e| matches(e)) {
            return found.clone();
        }
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let next = tokio::time::timeout_at(deadline, self.deliveries.next()).await;
            let Ok(Some(Ok(delivery))) = next else {
                let seen: Vec<_> = self
                    .seen
                    .iter()
                    .map(|e| format!("{} {}", e.r#type, e.subject))
                    .collect();
                panic!("no {event_type} about {subject} on RabbitMQ; seen: {seen:#?}");
            };
            delivery.ack(BasicAckOptions::default()).await.unwrap();
            let envelope = EventEnvelope::decode(delivery.data.as_slice()).unwrap();
            self.seen.push(envelope.clone());
            if matches(&envelope) {
                return envelope;
            }
        }
    }

    /// Every event seen so far, in arrival order.
    pub fn seen(&self) -> &[EventEnvelope] {
        &self.seen
    }
}

/// The certificate center with a fixed test key encryption key.
/// The exchange center with the test masking key, delivering through
/// `events`' broker.
pub fn exchange_module(events: &EventsConfig) -> zhongtai_exchange::ExchangeModule {
    zhongtai_exchange::ExchangeModule::new(exchange_config(), events.clone()).unwrap()
}

/// `[exchange]` settings for tests: the fixed masking key, short intervals.
pub fn exchange_config() -> zhongtai_kit::config::ExchangeConfig {
    zhongtai_kit::config::ExchangeConfig {
        masking_key: zhongtai_scenarios::TEST_MASKING_KEY.to_string().into(),
        refresh_interval_ms: 100,
        retry_interval_ms: 200,
        lease_ttl_ms: 3_000,
        ..Default::default()
    }
}

/// A gateway on a free loopback port, signing its app tokens with the
/// development issuer's key (which the services trust).
pub fn gateway_module(security: &Security) -> zhongtai_gateway::GatewayModule {
    let config = zhongtai_kit::config::GatewayConfig {
        listen: "127.0.0.1:0".into(),
        secret_encryption_key: Secret::new(zhongtai_scenarios::TEST_GATEWAY_SECRET_KEY.into()),
        token_signing_key: Secret::new(security.issuer().pkcs8_base64().into()),
        token_key_id: security.issuer().key_id().into(),
        config_refresh_ms: 100,
        audit_flush_ms: 50,
        ..Default::default()
    };
    zhongtai_gateway::GatewayModule::new(
        config,
        zhongtai_kit::auth::DEV_ISSUER,
        zhongtai_kit::auth::DEFAULT_AUDIENCE,
    )
    .unwrap()
}

pub fn certificate_module() -> zhongtai_certificate::CertificateModule {
    zhongtai_certificate::CertificateModule::new(certificate_config()).unwrap()
}

/// `[certificate]` settings for tests: a fixed key encryption key, a short
/// refresh interval.
pub fn certificate_config() -> zhongtai_kit::config::CertificateConfig {
    zhongtai_kit::config::CertificateConfig {
        key_encryption_key: zhongtai_scenarios::TEST_KEY_ENCRYPTION_KEY
            .to_string()
            .into(),
        refresh_interval_ms: 100,
        ..Default::default()
    }
}
