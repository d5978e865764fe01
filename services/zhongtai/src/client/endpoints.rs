//! Where a running platform's services are: etcd discovery for a deployed
//! platform, or `<data-dir>/endpoints.json` written by `zhongtai up`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use clap::Args;
use http::HeaderValue;
use serde::{Deserialize, Serialize};
use tonic::body::Body;
use tonic::transport::{Channel, Endpoint};
use tower::ServiceBuilder;
use tower::util::BoxCloneSyncService;
use zhongtai_kit::ServiceChannel;
use zhongtai_kit::config::MeshConfig;
use zhongtai_kit::platform::{channel_config, etcd_config};
use zhongtai_mesh::{
    ChannelConfig, Discovery, EtcdRegistry, MeshChannel, MeshTls, Registry, ServiceInstance,
    TlsFiles,
};

/// Name of the endpoints file in the data folder.
pub const ENDPOINTS_FILE: &str = "endpoints.json";

/// What `zhongtai up` listens on.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Endpoints {
    pub services: BTreeMap<String, String>,
    pub metrics: Option<String>,
    /// HTTP front doors by service (the gateway's, for integrators).
    #[serde(default)]
    pub http: BTreeMap<String, String>,
    /// Build version of the `zhongtai up` that wrote the file, which every
    /// embedded service runs; empty in files that predate it.
    #[serde(default)]
    pub version: String,
}

impl Endpoints {
    pub fn write(&self, path: &Path) -> std::io::Result<()> {
        let json = serde_json::to_vec_pretty(self).map_err(std::io::Error::other)?;
        let tmp = path.with_extension("json.tmp");
        std::fs::write(&tmp, json)?;
        std::fs::rename(tmp, path)
    }

    pub fn read(path: &Path) -> anyhow::Result<Self> {
        let bytes = std::fs::read(path).with_context(|| {
            format!(
                "no running platform found: {} is missing (start one with `make run`, or pass --etcd)",
                path.display()
            )
        })?;
        serde_json::from_slice(&bytes).with_context(|| format!("{} is not valid", path.display()))
    }
}

/// How a client command finds the platform.
#[derive(Args, Clone)]
pub struct TargetArgs {
    /// etcd endpoints of a deployed platform (comma-separated)
    #[arg(long, env = "ETCD_ENDPOINTS")]
    etcd: Option<String>,
    /// Key prefix the deployment's instances register under in etcd (with
    /// --etcd; default /zhongtai/services)
    #[arg(long, env = "ZHONGTAI_MESH__PREFIX")]
    etcd_prefix: Option<String>,
    /// Data folder of a `zhongtai up` platform
    #[arg(long, env = "ZHONGTAI_DATA_DIR", default_value = ".data")]
    data_dir: PathBuf,
    /// Bearer token to call with (`zhongtai token issue` makes one for `make run`)
    #[arg(long, env = "ZHONGTAI_TOKEN", hide_env_values = true)]
    token: Option<String>,
    /// CA certificate of a mutual-TLS mesh (with --tls-cert and --tls-key)
    #[arg(long, env = "ZHONGTAI_TLS__CA", requires_all = ["tls_cert", "tls_key"])]
    tls_ca: Option<PathBuf>,
    /// Client certificate issued by the mesh CA
    #[arg(long, env = "ZHONGTAI_TLS__CERT")]
    tls_cert: Option<PathBuf>,
    /// Its private key
    #[arg(long, env = "ZHONGTAI_TLS__KEY")]
    tls_key: Option<PathBuf>,
}

/// Resolved discovery for client commands.
pub struct Target {
    registry: Option<Arc<EtcdRegistry>>,
    endpoints: Option<Endpoints>,
    mesh: MeshConfig,
    authorization: Option<HeaderValue>,
    tls: Option<MeshTls>,
}

impl Target {
    pub fn resolve(args: &TargetArgs) -> anyhow::Result<Self> {
        let mut mesh = MeshConfig {
            default_deadline_ms: 5_000,
            ..MeshConfig::default()
        };
        let authorization = args
            .token
            .as_deref()
            .map(|token| {
                let mut value = HeaderValue::from_str(&format!("Bearer {}", token.trim()))
                    .context("the token contains characters a header cannot carry")?;
                value.set_sensitive(true);
                anyhow::Ok(value)
            })
            .transpose()?;
        let tls = match (&args.tls_ca, &args.tls_cert, &args.tls_key) {
            (Some(ca), Some(cert), Some(key)) => Some(
                MeshTls::from_files(&TlsFiles {
                    ca: ca.clone(),
                    cert: cert.clone(),
                    key: key.clone(),
                })
                .context("cannot load the client's TLS files")?,
            ),
            _ => None,
        };
        match &args.etcd {
            Some(etcd) => {
                mesh.etcd_endpoints = etcd.split(',').map(|s| s.trim().to_string()).collect();
                if let Some(prefix) = &args.etcd_prefix {
                    mesh.prefix = prefix.trim().to_string();
                }
                let registry = EtcdRegistry::new(etcd_config(&mesh))
                    .context("invalid --etcd or --etcd-prefix")?;
                Ok(Self {
                    registry: Some(Arc::new(registry)),
                    endpoints: None,
                    mesh,
                    authorization,
                    tls,
                })
            }
            None => Ok(Self {
                registry: None,
                endpoints: Some(Endpoints::read(&args.data_dir.join(ENDPOINTS_FILE))?),
                mesh,
                authorization,
                tls,
            }),
        }
    }

    /// Discovery of one service.
    pub fn discover(&self, service: &str) -> Discovery {
        if let Some(registry) = &self.registry {
            return registry.discover(service);
        }
        let address = self
            .endpoints
            .as_ref()
            .and_then(|e| e.services.get(service))
            .cloned();
        let version = self
            .endpoints
            .as_ref()
            .map(|e| e.version.clone())
            .unwrap_or_default();
        Discovery::fixed(address.map(|address| ServiceInstance {
            service: service.to_string(),
            id: format!("{service}-local"),
            address,
            version,
            zone: "local".into(),
            weight: 100,
            metadata: BTreeMap::new(),
        }))
    }

    /// A balanced channel to one service, sending the bearer token if given.
    pub fn channel(&self, service: &str) -> ServiceChannel {
        let config = ChannelConfig {
            tls: self.tls.clone(),
            ..channel_config(&self.mesh)
        };
        let channel = MeshChannel::new(self.discover(service), config);
        let authorization = self.authorization.clone();
        BoxCloneSyncService::new(
            ServiceBuilder::new()
                .map_request(move |mut request: http::Request<Body>| {
                    if let Some(value) = &authorization {
                        request
                            .headers_mut()
                            .insert(http::header::AUTHORIZATION, value.clone());
                    }
                    request
                })
                .map_response(|response: http::Response<_>| response.map(Body::new))
                .map_err(zhongtai_kit::platform::channel_status)
                .service(channel),
        )
    }

    /// Dials single instances, as [`channel`](Self::channel) would reach
    /// them but without the balancer, so each one can be asked about itself.
    pub fn instance_dialer(&self, timeout: Duration) -> InstanceDialer {
        InstanceDialer {
            tls: self.tls.clone(),
            timeout,
        }
    }
}

/// Connects to one instance at a time, over the mesh's TLS when configured.
/// `timeout` bounds the connection, the TLS handshake and every call, so an
/// instance that accepts but never answers cannot hold the caller.
#[derive(Clone)]
pub struct InstanceDialer {
    tls: Option<MeshTls>,
    timeout: Duration,
}

impl InstanceDialer {
    pub async fn connect(
        &self,
        instance: &ServiceInstance,
    ) -> Result<Channel, tonic::transport::Error> {
        let endpoint = match &self.tls {
            None => Endpoint::from_shared(format!("http://{}", instance.address))?,
            Some(tls) => Endpoint::from_shared(format!("https://{}", instance.address))?
                .tls_config(tls.client_config(&instance.service).timeout(self.timeout))?,
        };
        endpoint
            .connect_timeout(self.timeout)
            .timeout(self.timeout)
            .connect()
            .await
    }
}
