//! The configuration the front door enforces, compiled for lookups in
//! memory: credentials by key, routes, transcoders, limits. Every instance
//! polls the configuration revision and swaps in a new snapshot when it
//! moves, so changes apply everywhere within the refresh interval, without
//! a restart and without a database read per call.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::domain::{
    App, Capability, ConfigSnapshotData, ConfigSource, HttpMethod, Limits, PolicyTarget,
    SigningCredential,
};
use crate::transcode::{RouteTable, Transcoder};

/// Values of a route's placeholders, by request field.
pub type PathParams = Vec<(String, String)>;

/// A published capability, ready to serve.
pub struct Route {
    pub capability: Capability,
    pub transcoder: Transcoder,
}

/// One consistent configuration.
pub struct Snapshot {
    pub revision: i64,
    apps: HashMap<Uuid, App>,
    credentials: HashMap<String, SigningCredential>,
    http: RouteTable<usize>,
    grpc: HashMap<String, usize>,
    routes: Vec<Arc<Route>>,
    limits: HashMap<(Uuid, String), Limits>,
}

impl Snapshot {
    /// Nothing configured yet: every call is refused as unknown.
    pub fn empty() -> Self {
        Self::compile(ConfigSnapshotData::default())
    }

    /// Compiles what was read. A capability that no longer compiles (its
    /// contract changed under it) is left out and logged, never served
    /// half-right.
    pub fn compile(data: ConfigSnapshotData) -> Self {
        let mut http = RouteTable::new();
        let mut grpc: HashMap<String, usize> = HashMap::new();
        let mut routes: Vec<Arc<Route>> = Vec::new();
        let mut capabilities = data.capabilities;
        // Highest version first, so gRPC passthrough of a method opened by
        // several versions goes through the newest.
        capabilities.sort_by(|a, b| {
            a.name
                .as_str()
                .cmp(b.name.as_str())
                .then_with(|| version_number(&b.version).cmp(&version_number(&a.version)))
        });
        for capability in capabilities {
            let transcoder = match Transcoder::new(
                &capability.backend.grpc_method,
                &capability.http,
            ) {
                Ok(transcoder) => transcoder,
                Err(e) => {
                    tracing::error!(capability = %capability.name, version = %capability.version, error = %e, "capability does not compile; not served");
                    continue;
                }
            };
            let index = routes.len();
            if let Err(e) = http.insert(capability.http.method, &capability.http.template, index) {
                tracing::error!(capability = %capability.name, version = %capability.version, error = %e, "capability route clashes; not served");
                continue;
            }
            grpc.entry(capability.backend.grpc_method.clone())
                .or_insert(index);
            routes.push(Arc::new(Route {
                capability,
                transcoder,
            }));
        }
        let limits = data
            .policies
            .into_iter()
            .map(|policy| {
                let target = match &policy.target {
                    PolicyTarget::AllCapabilities => PolicyTarget::ALL_NAME.to_string(),
                    PolicyTarget::Capability(name) => name.as_str().to_string(),
                };
                ((policy.app_id, target), policy.limits)
            })
            .collect();
        Self {
            revision: data.revision,
            apps: data.apps.into_iter().map(|app| (app.id, app)).collect(),
            credentials: data
                .credentials
                .into_iter()
                .map(|c| (c.credential.app_key.clone(), c))
                .collect(),
            http,
            grpc,
            routes,
            limits,
        }
    }

    /// The capability serving an HTTP call, with the path's placeholder values.
    pub fn route_http(&self, method: HttpMethod, path: &str) -> Option<(Arc<Route>, PathParams)> {
        let (index, params) = self.http.find(method, path)?;
        Some((self.routes.get(*index)?.clone(), params))
    }

    /// The capability serving a gRPC passthrough call of `path`.
    pub fn route_grpc(&self, path: &str) -> Option<Arc<Route>> {
        self.routes.get(*self.grpc.get(path)?).cloned()
    }

    pub fn credential(&self, app_key: &str) -> Option<&SigningCredential> {
        self.credentials.get(app_key)
    }

    pub fn app(&self, id: &Uuid) -> Option<&App> {
        self.apps.get(id)
    }

    /// The app's limits on `capability`: its own policy, else the app's `*`
    /// default, else none.
    pub fn limits(&self, app: Uuid, capability: &str) -> Option<&Limits> {
        self.limits
            .get(&(app, capability.to_string()))
            .or_else(|| self.limits.get(&(app, PolicyTarget::ALL_NAME.to_string())))
    }

    /// Every served capability.
    pub fn capabilities(&self) -> impl Iterator<Item = &Capability> {
        self.routes.iter().map(|route| &route.capability)
    }
}

/// `v12` → 12; anything else sorts first.
fn version_number(version: &str) -> u64 {
    version
        .strip_prefix('v')
        .and_then(|digits| digits.parse().ok())
        .unwrap_or(0)
}

/// The snapshot in force, swapped whole.
#[derive(Clone)]
pub struct SnapshotCell {
    current: Arc<RwLock<Arc<Snapshot>>>,
}

impl SnapshotCell {
    pub fn new(snapshot: Snapshot) -> Self {
        Self {
            current: Arc::new(RwLock::new(Arc::new(snapshot))),
        }
    }

    pub fn get(&self) -> Arc<Snapshot> {
        match self.current.read() {
            Ok(guard) => guard.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    fn set(&self, snapshot: Snapshot) {
        let mut guard = match self.current.write() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        *guard = Arc::new(snapshot);
    }

    /// Loads the configuration now (at start, before serving).
    pub async fn reload(
        &self,
        source: &dyn ConfigSource,
    ) -> Result<i64, crate::domain::GatewayError> {
        let data = source.load().await?;
        let revision = data.revision;
        self.set(Snapshot::compile(data));
        super::metrics::METRICS.config_revision.set(revision);
        Ok(revision)
    }

    /// Polls the revision every `interval` and reloads when it moved, until
    /// `stop`. A failed read keeps the snapshot in force (static stability:
    /// a database blip does not stop the front door).
    pub async fn keep_fresh(
        self,
        source: Arc<dyn ConfigSource>,
        interval: Duration,
        stop: CancellationToken,
    ) {
        let mut ticker = tokio::time::interval(interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                () = stop.cancelled() => return,
                _ = ticker.tick() => {}
            }
            let current = self.get().revision;
            match source.revision().await {
                Ok(revision) if revision == current => {}
                Ok(_) => match self.reload(source.as_ref()).await {
                    Ok(revision) => tracing::info!(revision, "gateway configuration reloaded"),
                    Err(e) => {
                        tracing::warn!(error = %e, "cannot reload the gateway configuration; keeping the one in force")
                    }
                },
                Err(e) => {
                    tracing::warn!(error = %e, "cannot read the gateway configuration revision")
                }
            }
        }
    }
}
