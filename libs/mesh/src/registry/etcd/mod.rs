//! The production registry: etcd.
//!
//! A registration is the key `{prefix}/{service}/{id}` holding the
//! instance as JSON, attached to a lease that is kept alive at a third of
//! its TTL; if the process dies the lease expires and the key goes with it.
//! Discovery lists `{prefix}/{service}/` and watches it from the next
//! revision. Neither ever gives up: etcd being down, restarted, or wiped is
//! logged and retried with backoff, and callers keep the last known
//! instances meanwhile (static stability).

mod keys;
mod register;
mod watch;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use etcd_client::{Client, ConnectOptions};
use tokio::sync::watch as channel;
use tokio_util::sync::CancellationToken;
use tokio_util::task::AbortOnDropHandle;

use super::local::Inert;
use super::{Discovery, Registration, RegistrationState, Registry};
use crate::{EndpointSet, MeshError, ServiceInstance};
use keys::KeyLayout;

/// How to reach etcd and how registrations behave there.
#[derive(Clone, Debug)]
pub struct EtcdConfig {
    /// Client URLs, e.g. `http://etcd-0.etcd:2379` (a bare `host:port` means
    /// `http://`).
    pub endpoints: Vec<String>,
    /// Key prefix under which services register; starts with `/`, e.g.
    /// `/zhongtai/services`.
    pub prefix: String,
    /// Lease time-to-live: how long a dead instance stays discoverable.
    /// Rounded up to whole seconds (etcd also enforces its own minimum).
    pub lease_ttl: Duration,
    /// Bound on establishing a connection to etcd.
    pub connect_timeout: Duration,
    /// Bound on every etcd request (including revoking a lease on
    /// deregistration).
    pub request_timeout: Duration,
}

impl Default for EtcdConfig {
    fn default() -> Self {
        Self {
            endpoints: vec!["http://127.0.0.1:2379".to_string()],
            prefix: "/zhongtai/services".to_string(),
            lease_ttl: Duration::from_secs(5),
            connect_timeout: Duration::from_secs(2),
            request_timeout: Duration::from_secs(3),
        }
    }
}

impl EtcdConfig {
    fn validate(&self) -> Result<(), MeshError> {
        let invalid = |message: String| Err(MeshError::InvalidConfig(message));
        if self.endpoints.is_empty() {
            return invalid("etcd endpoints: at least one is required".to_string());
        }
        for endpoint in &self.endpoints {
            let with_scheme = if endpoint.contains("://") {
                endpoint.clone()
            } else {
                format!("http://{endpoint}")
            };
            match with_scheme.parse::<http::Uri>() {
                Ok(uri) if uri.scheme_str() == Some("http") && uri.host().is_some() => {}
                Ok(_) => {
                    return invalid(format!(
                        "etcd endpoint {endpoint:?}: only http://host:port is supported"
                    ));
                }
                Err(e) => return invalid(format!("etcd endpoint {endpoint:?}: {e}")),
            }
        }
        if !self.prefix.starts_with('/') || self.prefix.len() < 2 || self.prefix.ends_with('/') {
            return invalid(format!(
                "etcd prefix {:?}: must start with '/', name something, and not end with '/'",
                self.prefix
            ));
        }
        if self.lease_ttl < Duration::from_secs(1) {
            return invalid(format!(
                "lease ttl {:?}: at least one second",
                self.lease_ttl
            ));
        }
        for (name, value) in [
            ("connect timeout", self.connect_timeout),
            ("request timeout", self.request_timeout),
        ] {
            if value.is_zero() {
                return invalid(format!("etcd {name}: must be positive"));
            }
        }
        Ok(())
    }

    fn lease_ttl_secs(&self) -> i64 {
        let secs = self.lease_ttl.as_secs() + u64::from(self.lease_ttl.subsec_nanos() > 0);
        i64::try_from(secs).unwrap_or(i64::MAX)
    }
}

/// A [`Registry`] backed by etcd. Constructing it does not contact etcd:
/// the connection is made on first use and re-made whenever it breaks.
#[derive(Clone)]
pub struct EtcdRegistry {
    shared: Arc<Shared>,
}

/// State shared by the registry handle and its background tasks.
pub(super) struct Shared {
    config: EtcdConfig,
    keys: KeyLayout,
    client: tokio::sync::OnceCell<Client>,
    watchers: Mutex<HashMap<String, Weak<Watcher>>>,
}

/// A running discovery watcher; aborted when the last [`Discovery`] using it
/// is dropped.
struct Watcher {
    endpoints: channel::Receiver<Arc<EndpointSet>>,
    synced: channel::Receiver<bool>,
    _task: AbortOnDropHandle<()>,
}

impl EtcdRegistry {
    /// Validates `config`; does not connect.
    pub fn new(config: EtcdConfig) -> Result<Self, MeshError> {
        config.validate()?;
        Ok(Self {
            shared: Arc::new(Shared {
                keys: KeyLayout::new(&config.prefix),
                config,
                client: tokio::sync::OnceCell::new(),
                watchers: Mutex::new(HashMap::new()),
            }),
        })
    }

    /// The configuration in use.
    pub fn config(&self) -> &EtcdConfig {
        &self.shared.config
    }
}

impl Shared {
    /// The etcd client, created on first use. Creating it does not wait for
    /// etcd; requests do (bounded by [`Shared::request`]).
    async fn client(&self) -> Result<Client, MeshError> {
        let client = self
            .client
            .get_or_try_init(|| async {
                let options = ConnectOptions::new()
                    .with_connect_timeout(self.config.connect_timeout)
                    .with_timeout(self.config.request_timeout)
                    // Notices a silently dead connection (etcd refuses pings
                    // more often than every 5 s by default).
                    .with_keep_alive(Duration::from_secs(10), Duration::from_secs(5));
                Client::connect(&self.config.endpoints, Some(options)).await
            })
            .await?;
        Ok(client.clone())
    }

    /// Runs one etcd request, bounded by the request timeout: the client
    /// queues requests while etcd is unreachable instead of failing them.
    async fn request<T, F>(&self, call: F) -> Result<T, MeshError>
    where
        F: Future<Output = Result<T, etcd_client::Error>>,
    {
        match tokio::time::timeout(self.config.request_timeout, call).await {
            Ok(result) => result.map_err(MeshError::from),
            Err(_) => Err(MeshError::EtcdTimeout(self.config.request_timeout)),
        }
    }
}

impl Registry for EtcdRegistry {
    fn register(&self, instance: ServiceInstance) -> Registration {
        let (state, state_rx) = channel::channel(RegistrationState::Registering);
        let value = match instance
            .validate()
            .and_then(|()| Ok(serde_json::to_string(&instance)?))
        {
            Ok(value) => value,
            Err(error) => {
                tracing::error!(%error, service = %instance.service, id = %instance.id,
                    "refusing to register invalid instance");
                return Registration::new(instance, state_rx, Box::new(Inert));
            }
        };
        let state = Arc::new(state);
        let stop = CancellationToken::new();
        let task = register::Registrar {
            shared: self.shared.clone(),
            key: self.shared.keys.instance_key(&instance),
            value,
            service: instance.service.clone(),
            id: instance.id.clone(),
            state: state.clone(),
            stop: stop.clone(),
        };
        let handle = AbortOnDropHandle::new(tokio::spawn(task.run()));
        let withdraw = register::EtcdWithdraw {
            task: handle,
            stop,
            state,
            bound: self.shared.config.request_timeout + Duration::from_secs(1),
        };
        Registration::new(instance, state_rx, Box::new(withdraw))
    }

    fn discover(&self, service: &str) -> Discovery {
        let mut watchers = self
            .shared
            .watchers
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(watcher) = watchers.get(service).and_then(Weak::upgrade) {
            return Discovery::new(
                service,
                watcher.endpoints.clone(),
                watcher.synced.clone(),
                watcher,
            );
        }
        let (endpoints, endpoints_rx) = channel::channel(Arc::new(EndpointSet::new()));
        let (synced, synced_rx) = channel::channel(false);
        let task = watch::Follower {
            shared: self.shared.clone(),
            service: service.to_string(),
            endpoints,
            synced,
        };
        let watcher = Arc::new(Watcher {
            endpoints: endpoints_rx.clone(),
            synced: synced_rx.clone(),
            _task: AbortOnDropHandle::new(tokio::spawn(task.run())),
        });
        watchers.retain(|_, existing| existing.strong_count() > 0);
        watchers.insert(service.to_string(), Arc::downgrade(&watcher));
        Discovery::new(service, endpoints_rx, synced_rx, watcher)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn construction_validates_without_connecting() {
        // Nothing listens on port 9; construction must still succeed.
        let config = EtcdConfig {
            endpoints: vec!["127.0.0.1:9".to_string()],
            ..EtcdConfig::default()
        };
        assert!(EtcdRegistry::new(config).is_ok());
    }

    #[test]
    fn unusable_configuration_is_refused() {
        let cases = [
            EtcdConfig {
                endpoints: vec![],
                ..EtcdConfig::default()
            },
            EtcdConfig {
                endpoints: vec!["https://etcd:2379".to_string()],
                ..EtcdConfig::default()
            },
            EtcdConfig {
                endpoints: vec!["http://".to_string()],
                ..EtcdConfig::default()
            },
            EtcdConfig {
                prefix: "zhongtai".to_string(),
                ..EtcdConfig::default()
            },
            EtcdConfig {
                prefix: "/zhongtai/".to_string(),
                ..EtcdConfig::default()
            },
            EtcdConfig {
                lease_ttl: Duration::from_millis(300),
                ..EtcdConfig::default()
            },
            EtcdConfig {
                request_timeout: Duration::ZERO,
                ..EtcdConfig::default()
            },
        ];
        for config in cases {
            assert!(
                matches!(
                    EtcdRegistry::new(config.clone()),
                    Err(MeshError::InvalidConfig(_))
                ),
                "{config:?}"
            );
        }
    }

    #[test]
    fn lease_ttl_rounds_up_to_whole_seconds() {
        let config = EtcdConfig {
            lease_ttl: Duration::from_millis(2500),
            ..EtcdConfig::default()
        };
        assert_eq!(config.lease_ttl_secs(), 3);
    }
}
