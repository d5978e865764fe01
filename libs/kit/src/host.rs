//! The lifecycle every Zhongtai gRPC server shares: bind → serve (health,
//! reflection, the protective layer stack) → register in discovery → report
//! SERVING while registered; on shutdown: NOT_SERVING → deregister → drain →
//! stop.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use http::{Request, Response};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;
use tonic::body::Body;
use tonic::server::NamedService;
use tonic::service::RoutesBuilder;
use tonic_health::ServingStatus;
use tonic_health::server::HealthReporter;
use tower::ServiceBuilder;
use zhongtai_mesh::{
    AdmissionConfig, AdmissionLayer, MeshTls, MessageLimitLayer, Priority, RateLimitLayer,
    RegistrationState, Registry, ServiceInstance,
};
use zhongtai_telemetry::grpc::ServerTelemetryLayer;

use crate::auth::AccessLayer;
use crate::config::ServerConfig;

const HEALTH_SERVICE: &str = "grpc.health.v1.Health";
const REFLECTION_V1: &str = "grpc.reflection.v1.ServerReflection";
const REFLECTION_V1ALPHA: &str = "grpc.reflection.v1alpha.ServerReflection";

/// Why a server could not start or stopped abnormally.
#[derive(Debug, thiserror::Error)]
pub enum HostError {
    #[error("cannot listen on {address}: {source}")]
    Bind {
        address: String,
        source: std::io::Error,
    },
    #[error("{0}")]
    Stopped(String),
    #[error("reflection descriptors are invalid: {0}")]
    Reflection(#[from] tonic_reflection::server::Error),
    #[error("gRPC server failed: {0}")]
    Serve(#[from] tonic::transport::Error),
}

/// The gRPC services one process serves for one Zhongtai service.
#[derive(Default)]
pub struct ServiceRoutes {
    routes: RoutesBuilder,
    names: Vec<&'static str>,
}

impl ServiceRoutes {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a generated tonic server (e.g. `ApprovalServiceServer::new(api)`).
    pub fn with_service<S>(mut self, service: S) -> Self
    where
        S: tower::Service<Request<Body>, Response = Response<Body>, Error = Infallible>
            + NamedService
            + Clone
            + Send
            + Sync
            + 'static,
        S::Future: Send + 'static,
    {
        self.names.push(S::NAME);
        self.routes.add_service(service);
        self
    }

    /// Fully qualified names of the gRPC services added.
    pub fn names(&self) -> &[&'static str] {
        &self.names
    }
}

/// A bound, not yet serving, gRPC server of one Zhongtai service.
pub struct ServiceHost {
    service: &'static str,
    config: ServerConfig,
    listener: TcpListener,
    local_addr: SocketAddr,
    probe_listener: Option<TcpListener>,
    priorities: Arc<dyn Fn(&str) -> Priority + Send + Sync>,
    access: Option<AccessLayer>,
    tls: Option<MeshTls>,
}

impl ServiceHost {
    /// Binds the listen address now, so a taken port fails before anything
    /// else starts.
    pub async fn bind(service: &'static str, config: ServerConfig) -> Result<Self, HostError> {
        let listener =
            TcpListener::bind(&config.listen)
                .await
                .map_err(|source| HostError::Bind {
                    address: config.listen.clone(),
                    source,
                })?;
        let local_addr = listener.local_addr().map_err(|source| HostError::Bind {
            address: config.listen.clone(),
            source,
        })?;
        let probe_listener = match &config.probe_listen {
            Some(address) => {
                Some(
                    TcpListener::bind(address)
                        .await
                        .map_err(|source| HostError::Bind {
                            address: address.clone(),
                            source,
                        })?,
                )
            }
            None => None,
        };
        Ok(Self {
            service,
            config,
            listener,
            local_addr,
            probe_listener,
            priorities: Arc::new(|_| Priority::Normal),
            access: None,
            tls: None,
        })
    }

    /// Serves mutual TLS: clients must present a certificate of the mesh CA.
    pub fn with_tls(mut self, tls: MeshTls) -> Self {
        self.tls = Some(tls);
        self
    }

    /// Authenticates and authorises every call to the service's own APIs
    /// (health and reflection stay open).
    pub fn with_access(mut self, access: AccessLayer) -> Self {
        self.access = Some(access);
        self
    }

    /// The address actually bound (useful with port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// How this service ranks its methods when shedding load (default: all
    /// Normal; health checks are always Critical).
    pub fn with_priorities(
        mut self,
        classify: Arc<dyn Fn(&str) -> Priority + Send + Sync>,
    ) -> Self {
        self.priorities = classify;
        self
    }

    /// The address other instances dial.
    pub fn advertised_address(&self) -> String {
        if let Some(advertise) = &self.config.advertise {
            return advertise.clone();
        }
        let ip = self.local_addr.ip();
        let host = if ip.is_unspecified() {
            std::env::var("POD_IP").unwrap_or_else(|_| "127.0.0.1".to_string())
        } else {
            ip.to_string()
        };
        if host.contains(':') {
            format!("[{host}]:{}", self.local_addr.port())
        } else {
            format!("{host}:{}", self.local_addr.port())
        }
    }

    /// Serves `routes` until `shutdown` is cancelled, registered in `registry`
    /// while healthy. Returns after the registration is revoked and in-flight
    /// requests drained (bounded by the drain timeout).
    pub async fn run(
        mut self,
        routes: ServiceRoutes,
        registry: Arc<dyn Registry>,
        shutdown: CancellationToken,
    ) -> Result<(), HostError> {
        let ServiceRoutes {
            routes: mut builder,
            names,
        } = routes;
        let (health, health_service) = tonic_health::server::health_reporter();
        set_status(&health, &names, ServingStatus::NotServing).await;
        // Probes keep their answer until this server has drained and stopped.
        let probe_stop = CancellationToken::new();
        let _stop_probe_on_return = probe_stop.clone().drop_guard();
        if let Some(listener) = self.probe_listener.take() {
            tokio::spawn(serve_probe(listener, health_service.clone(), probe_stop));
        }
        builder.add_service(health_service);
        // Reflection lists exactly this service's APIs plus the standard ones.
        let reflection = || {
            let mut builder = tonic_reflection::server::Builder::configure()
                .register_encoded_file_descriptor_set(zhongtai_contracts::FILE_DESCRIPTOR_SET)
                .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
                // Both reflection versions are listed, so both describe themselves.
                .include_reflection_service(false)
                .register_encoded_file_descriptor_set(tonic_reflection::pb::v1::FILE_DESCRIPTOR_SET)
                .register_encoded_file_descriptor_set(
                    tonic_reflection::pb::v1alpha::FILE_DESCRIPTOR_SET,
                );
            for name in
                names
                    .iter()
                    .copied()
                    .chain([HEALTH_SERVICE, REFLECTION_V1, REFLECTION_V1ALPHA])
            {
                builder = builder.with_service_name(name);
            }
            builder
        };
        builder.add_service(reflection().build_v1()?);
        builder.add_service(reflection().build_v1alpha()?);

        let drain = CancellationToken::new();
        let service = self.service;
        let drain_timeout = self.config.drain_timeout();
        let advertised = self.advertised_address();
        let local_addr = self.local_addr;
        let zone = self.config.zone.clone();
        let weight = self.config.weight;
        let id = instance_id(service);
        let mut server = tokio::spawn(self.serve(builder, drain.clone(), id.clone()));

        let instance = ServiceInstance {
            service: service.to_string(),
            id: id.clone(),
            address: advertised,
            version: env!("CARGO_PKG_VERSION").to_string(),
            zone,
            weight,
            metadata: Default::default(),
        };
        tracing::info!(
            service,
            instance = %instance.id,
            address = %instance.address,
            listen = %local_addr,
            "serving"
        );
        let registration = registry.register(instance);
        let health_task = tokio::spawn(follow_registration(
            health.clone(),
            names.clone(),
            registration.state(),
            id,
        ));

        tokio::select! {
            _ = shutdown.cancelled() => {}
            joined = &mut server => {
                // The server stopped on its own: leave discovery and report why.
                health_task.abort();
                registration.deregister().await;
                return match joined {
                    Ok(Ok(())) => Err(HostError::Stopped("the gRPC server stopped unexpectedly".into())),
                    Ok(Err(e)) => Err(e),
                    Err(e) => Err(HostError::Stopped(format!("the gRPC server task failed: {e}"))),
                };
            }
        }

        tracing::info!(service, "shutting down: leaving discovery, then draining");
        health_task.abort();
        set_status(&health, &names, ServingStatus::NotServing).await;
        registration.deregister().await;
        drain.cancel();
        match tokio::time::timeout(drain_timeout, server).await {
            Ok(Ok(result)) => result,
            Ok(Err(e)) => Err(HostError::Stopped(format!(
                "the gRPC server task failed: {e}"
            ))),
            Err(_) => {
                tracing::warn!(
                    service,
                    timeout_ms = drain_timeout.as_millis() as u64,
                    "drain timed out; closing remaining connections"
                );
                Ok(())
            }
        }
    }

    /// The server with its layer stack, top to bottom.
    fn serve(
        self,
        routes: RoutesBuilder,
        drain: CancellationToken,
        instance: String,
    ) -> impl Future<Output = Result<(), HostError>> + Send + 'static {
        let config = self.config;
        // Names the answering instance on every response, for operators
        // tracing a call and for tests checking balancing.
        let instance_header = http::HeaderValue::from_str(&instance)
            .unwrap_or_else(|_| http::HeaderValue::from_static("unknown"));
        let mut admission = AdmissionConfig::new(config.max_in_flight).with_service(self.service);
        admission.classify = self.priorities;
        let layers = ServiceBuilder::new()
            .map_response(move |mut response: http::Response<_>| {
                response
                    .headers_mut()
                    .insert(INSTANCE_HEADER, instance_header.clone());
                response
            })
            // Outermost but one, so every request — shed ones included — is
            // traced and counted.
            .layer(ServerTelemetryLayer::new(self.service))
            // Refuse work we cannot take before doing any of it.
            .layer(AdmissionLayer::new(admission))
            .option_layer(
                config
                    .rate_limit_per_second
                    .map(|rate| RateLimitLayer::new(rate, rate.max(1)).with_service(self.service)),
            )
            // Checks message length prefixes as the body streams in, so an
            // oversize message is refused before it is buffered.
            .layer(MessageLimitLayer::new(config.max_message_bytes))
            // Innermost, so a refused caller costs a token check and no more.
            .option_layer(self.access)
            .into_inner();
        // Small answers go out at once instead of waiting on delayed ACKs.
        let incoming =
            tonic::transport::server::TcpIncoming::from(self.listener).with_nodelay(Some(true));
        let tls = self.tls;
        async move {
            let mut builder = tonic::transport::Server::builder();
            if let Some(tls) = tls {
                builder = builder.tls_config(tls.server_config())?;
            }
            builder
                .timeout(config.request_timeout())
                .http2_keepalive_interval(Some(Duration::from_secs(20)))
                .http2_keepalive_timeout(Some(Duration::from_secs(10)))
                .layer(layers)
                .add_routes(routes.routes())
                .serve_with_incoming_shutdown(incoming, drain.cancelled_owned())
                .await
                .map_err(HostError::from)
        }
    }
}

/// SERVING exactly while the instance is registered: a caller that finds us
/// through discovery and a probe that asks us directly agree.
async fn follow_registration(
    health: HealthReporter,
    names: Vec<&'static str>,
    mut state: watch::Receiver<RegistrationState>,
    instance: String,
) {
    loop {
        let current = *state.borrow_and_update();
        let status = match current {
            RegistrationState::Registered => {
                tracing::info!(%instance, "registered in discovery; health SERVING");
                ServingStatus::Serving
            }
            RegistrationState::Lost => {
                tracing::warn!(%instance, "registration lost; health NOT_SERVING until re-registered");
                ServingStatus::NotServing
            }
            _ => ServingStatus::NotServing,
        };
        set_status(&health, &names, status).await;
        if state.changed().await.is_err() {
            return;
        }
    }
}

async fn set_status(health: &HealthReporter, names: &[&'static str], status: ServingStatus) {
    health.set_service_status("", status).await;
    for name in names {
        health.set_service_status(*name, status).await;
    }
}

/// Response header naming the instance that answered.
pub const INSTANCE_HEADER: &str = "zhongtai-instance";

fn instance_id(service: &str) -> String {
    let host = std::env::var("HOSTNAME")
        .ok()
        .or_else(|| std::fs::read_to_string("/etc/hostname").ok())
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "local".to_string());
    let suffix = uuid::Uuid::new_v4().simple().to_string();
    format!("{service}-{host}-{}", &suffix[..8])
}

/// The plaintext health-only listener of [`ServerConfig::probe_listen`]: it
/// answers exactly what the service's own health service answers.
async fn serve_probe<S>(listener: TcpListener, health: S, stop: CancellationToken)
where
    S: tower::Service<Request<Body>, Response = Response<Body>, Error = Infallible>
        + NamedService
        + Clone
        + Send
        + Sync
        + 'static,
    S::Future: Send + 'static,
{
    let address = listener
        .local_addr()
        .map(|a| a.to_string())
        .unwrap_or_default();
    tracing::info!(address = %address, "health probe listening (plaintext, health only)");
    let incoming = tokio_stream::wrappers::TcpListenerStream::new(listener);
    let served = tonic::transport::Server::builder()
        .add_service(health)
        .serve_with_incoming_shutdown(incoming, stop.cancelled_owned())
        .await;
    if let Err(error) = served {
        tracing::warn!(%error, "health probe listener stopped");
    }
}
