//! What every service of a deployment shares: the registry it registers in and
//! discovers peers through, the event bus, and balanced channels to peers.
//! Built once per process — from configuration for a production process, or
//! in-process for the embedded all-in-one mode.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use http::{Request, Response};
use tokio_util::sync::CancellationToken;
use tonic::body::Body;
use tower::ServiceBuilder;
use tower::util::BoxCloneSyncService;
use zhongtai_events::{EventBus, InProcessBus, RabbitBus, RabbitConfig};
use zhongtai_mesh::{
    BoxError, ChannelConfig, EtcdConfig, EtcdRegistry, LocalRegistry, MeshChannel, MeshTls,
    Registry,
};
use zhongtai_telemetry::grpc::ClientTelemetryLayer;

use crate::config::{BusKind, EventsConfig, MeshConfig, RegistryKind};
use crate::retry::retry_forever;

/// A client channel to one Zhongtai service: discovery-balanced, traced,
/// with deadlines and retries of idempotent calls. Generated clients take it
/// directly: `ApprovalServiceClient::new(platform.channel("approval"))`.
/// Its failures are already statuses (tonic reads a status in an error's
/// source chain as it is), which also keeps the clients' futures provably
/// `Send` inside `async_trait` methods.
pub type ServiceChannel = BoxCloneSyncService<Request<Body>, Response<Body>, tonic::Status>;

/// A channel failure as the status a generated client reports.
pub fn channel_status(error: impl Into<BoxError>) -> tonic::Status {
    tonic::Status::from_error(error.into())
}

/// Why the shared parts could not be built.
#[derive(Debug, thiserror::Error)]
pub enum PlatformError {
    #[error("invalid mesh configuration: {0}")]
    Mesh(#[from] zhongtai_mesh::MeshError),
    #[error("start-up cancelled")]
    Cancelled,
}

/// The registry, the bus and the peer channels of one process.
#[derive(Clone)]
pub struct Platform {
    inner: Arc<Inner>,
}

struct Inner {
    registry: Arc<dyn Registry>,
    bus: Arc<dyn EventBus>,
    channel_config: ChannelConfig,
    channels: Mutex<HashMap<String, ServiceChannel>>,
}

impl Platform {
    pub fn new(
        registry: Arc<dyn Registry>,
        bus: Arc<dyn EventBus>,
        channel_config: ChannelConfig,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                registry,
                bus,
                channel_config,
                channels: Mutex::new(HashMap::new()),
            }),
        }
    }

    /// Everything in this process: in-process registry and bus.
    pub fn embedded(channel_config: ChannelConfig) -> Self {
        Self::new(
            Arc::new(LocalRegistry::new()),
            Arc::new(InProcessBus::new()),
            channel_config,
        )
    }

    /// From configuration. Waits (retrying with a log line per attempt) for
    /// the broker; etcd is connected lazily by the registry itself.
    pub async fn connect(
        mesh: &MeshConfig,
        events: &EventsConfig,
        tls: Option<MeshTls>,
        shutdown: &CancellationToken,
    ) -> Result<Self, PlatformError> {
        let registry: Arc<dyn Registry> = match mesh.registry {
            RegistryKind::Etcd => Arc::new(EtcdRegistry::new(etcd_config(mesh))?),
            RegistryKind::InProcess => Arc::new(LocalRegistry::new()),
        };
        let bus: Arc<dyn EventBus> = match events.bus {
            BusKind::Rabbitmq => {
                let config = RabbitConfig {
                    url: events.amqp_url.expose().clone(),
                    exchange: events.exchange.clone(),
                    queue_prefix: events.queue_prefix.clone(),
                    ..RabbitConfig::default()
                };
                let bus =
                    retry_forever("rabbitmq", shutdown, || RabbitBus::connect(config.clone()))
                        .await
                        .ok_or(PlatformError::Cancelled)?;
                Arc::new(bus)
            }
            BusKind::InProcess => Arc::new(InProcessBus::new()),
        };
        let channels = ChannelConfig {
            tls,
            ..channel_config(mesh)
        };
        Ok(Self::new(registry, bus, channels))
    }

    pub fn registry(&self) -> Arc<dyn Registry> {
        self.inner.registry.clone()
    }

    pub fn bus(&self) -> Arc<dyn EventBus> {
        self.inner.bus.clone()
    }

    /// A channel to `service`, shared by every caller in this process.
    pub fn channel(&self, service: &str) -> ServiceChannel {
        let mut channels = match self.inner.channels.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        channels
            .entry(service.to_string())
            .or_insert_with(|| {
                let discovery = self.inner.registry.discover(service);
                let channel = MeshChannel::new(discovery, self.inner.channel_config.clone());
                BoxCloneSyncService::new(
                    ServiceBuilder::new()
                        .map_response(|response: Response<_>| response.map(Body::new))
                        .map_err(channel_status)
                        .layer(ClientTelemetryLayer::new(service))
                        .service(channel),
                )
            })
            .clone()
    }
}

/// The registry settings of a mesh configuration.
pub fn etcd_config(mesh: &MeshConfig) -> EtcdConfig {
    EtcdConfig {
        endpoints: mesh.etcd_endpoints.clone(),
        prefix: mesh.prefix.clone(),
        lease_ttl: Duration::from_secs(mesh.lease_ttl_secs),
        ..EtcdConfig::default()
    }
}

/// The client settings of a mesh configuration.
pub fn channel_config(mesh: &MeshConfig) -> ChannelConfig {
    ChannelConfig {
        connect_timeout: Duration::from_millis(mesh.connect_timeout_ms),
        default_deadline: Duration::from_millis(mesh.default_deadline_ms),
        max_attempts: mesh.max_attempts,
        ..ChannelConfig::default()
    }
}
