//! Where a running platform's services are: etcd discovery for a deployed
//! platform, or `<data-dir>/endpoints.json` written by `zhongtai up`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context as _;
use clap::Args;
use serde::{Deserialize, Serialize};
use zhongtai_kit::config::MeshConfig;
use zhongtai_kit::platform::{channel_config, etcd_config};
use zhongtai_mesh::{Discovery, EtcdRegistry, MeshChannel, Registry, ServiceInstance};

/// Name of the endpoints file in the data folder.
pub const ENDPOINTS_FILE: &str = "endpoints.json";

/// What `zhongtai up` listens on.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Endpoints {
    pub services: BTreeMap<String, String>,
    pub metrics: Option<String>,
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
    /// Data folder of a `zhongtai up` platform
    #[arg(long, env = "ZHONGTAI_DATA_DIR", default_value = ".data")]
    data_dir: PathBuf,
}

/// Resolved discovery for client commands.
pub struct Target {
    registry: Option<Arc<EtcdRegistry>>,
    endpoints: Option<Endpoints>,
    mesh: MeshConfig,
}

impl Target {
    pub fn resolve(args: &TargetArgs) -> anyhow::Result<Self> {
        let mut mesh = MeshConfig {
            default_deadline_ms: 5_000,
            ..MeshConfig::default()
        };
        match &args.etcd {
            Some(etcd) => {
                mesh.etcd_endpoints = etcd.split(',').map(|s| s.trim().to_string()).collect();
                let registry = EtcdRegistry::new(etcd_config(&mesh)).context("invalid --etcd")?;
                Ok(Self {
                    registry: Some(Arc::new(registry)),
                    endpoints: None,
                    mesh,
                })
            }
            None => Ok(Self {
                registry: None,
                endpoints: Some(Endpoints::read(&args.data_dir.join(ENDPOINTS_FILE))?),
                mesh,
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
        Discovery::fixed(address.map(|address| ServiceInstance {
            service: service.to_string(),
            id: format!("{service}-local"),
            address,
            version: String::new(),
            zone: "local".into(),
            weight: 100,
            metadata: BTreeMap::new(),
        }))
    }

    /// A balanced channel to one service.
    pub fn channel(&self, service: &str) -> MeshChannel {
        MeshChannel::new(self.discover(service), channel_config(&self.mesh))
    }
}
