//! A caller's view of one service's instances.

use std::any::Any;
use std::sync::{Arc, LazyLock};

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use tokio::sync::watch;
use tokio_util::task::AbortOnDropHandle;
use zhongtai_telemetry::metrics::AlwaysDescribed;

use crate::{EndpointSet, ServiceInstance};

/// The instances of one service, kept current by a registry watcher.
/// Cloning is cheap; the watcher stops when the last clone is dropped.
#[derive(Clone)]
pub struct Discovery {
    service: Arc<str>,
    endpoints: watch::Receiver<Arc<EndpointSet>>,
    synced: watch::Receiver<bool>,
    // Keeps whatever feeds `endpoints` alive (a watcher task, a sender).
    _source: Arc<dyn Any + Send + Sync>,
    // Copies the instance count into the metrics while any clone lives.
    _instances_metric: Option<Arc<AbortOnDropHandle<()>>>,
}

impl Discovery {
    pub(crate) fn new(
        service: &str,
        endpoints: watch::Receiver<Arc<EndpointSet>>,
        synced: watch::Receiver<bool>,
        source: Arc<dyn Any + Send + Sync>,
    ) -> Self {
        let instances_metric = follow_instance_count(service, endpoints.clone()).map(Arc::new);
        Self {
            service: Arc::from(service),
            endpoints,
            synced,
            _source: source,
            _instances_metric: instances_metric,
        }
    }

    /// A synced-flag receiver for sources that are complete from the start.
    pub(crate) fn always_synced() -> watch::Receiver<bool> {
        static SYNCED: std::sync::LazyLock<watch::Sender<bool>> =
            std::sync::LazyLock::new(|| watch::Sender::new(true));
        SYNCED.subscribe()
    }

    /// A discovery that never changes, for tests and static configuration.
    /// Its service name is the first instance's (empty when there is none).
    pub fn fixed(instances: impl IntoIterator<Item = ServiceInstance>) -> Self {
        let set: EndpointSet = instances
            .into_iter()
            .map(|instance| (instance.id.clone(), instance))
            .collect();
        let service = set
            .values()
            .next()
            .map(|instance| instance.service.clone())
            .unwrap_or_default();
        let (sender, receiver) = watch::channel(Arc::new(set));
        Self::new(&service, receiver, Self::always_synced(), Arc::new(sender))
    }

    /// The service this discovery follows.
    pub fn service(&self) -> &str {
        &self.service
    }

    /// The instances known now.
    pub fn current(&self) -> Arc<EndpointSet> {
        self.endpoints.borrow().clone()
    }

    /// True once the registry has been read at least once, so that an empty
    /// [`current`](Self::current) means "no instances" rather than "not
    /// known yet". Stays true while the registry is unreachable later on:
    /// the last known set is kept (static stability).
    pub fn is_synced(&self) -> bool {
        *self.synced.borrow()
    }

    /// Waits until [`is_synced`](Self::is_synced). Returns at once if it
    /// already is; never returns if the registry is never reached (bound it
    /// with a timeout).
    pub async fn synced(&self) {
        let mut synced = self.synced.clone();
        // An error means the watcher is gone; the set will not change again.
        let _ = synced.wait_for(|synced| *synced).await;
    }

    /// A receiver of every new set. It starts marked as changed, so a
    /// `while rx.changed().await.is_ok()` loop sees the current set first.
    /// Keep the [`Discovery`] alive as long as you subscribe: the watcher
    /// stops when the last `Discovery` is dropped.
    pub fn subscribe(&self) -> watch::Receiver<Arc<EndpointSet>> {
        let mut receiver = self.endpoints.clone();
        receiver.mark_changed();
        receiver
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ServiceLabels {
    service: String,
}

static INSTANCES: LazyLock<Family<ServiceLabels, Gauge>> = LazyLock::new(|| {
    let instances = Family::default();
    zhongtai_telemetry::metrics::with_registry(|registry| {
        registry.register(
            "zhongtai_registry_instances",
            "Instances of each service this process sees in discovery",
            AlwaysDescribed(instances.clone()),
        );
    });
    instances
});

/// Registers the `zhongtai_registry_instances` family (idempotent).
pub(crate) fn register_metrics() {
    LazyLock::force(&INSTANCES);
}

/// Keeps `zhongtai_registry_instances{service}` at the size of the set
/// `endpoints` carries; `None` without a service name or a runtime. Every
/// discovery of one service follows the same set, so several followers
/// agree.
fn follow_instance_count(
    service: &str,
    mut endpoints: watch::Receiver<Arc<EndpointSet>>,
) -> Option<AbortOnDropHandle<()>> {
    if service.is_empty() {
        return None;
    }
    let runtime = tokio::runtime::Handle::try_current().ok()?;
    let gauge = INSTANCES
        .get_or_create(&ServiceLabels {
            service: service.to_string(),
        })
        .clone();
    let task = runtime.spawn(async move {
        loop {
            let count = endpoints.borrow_and_update().len();
            gauge.set(i64::try_from(count).unwrap_or(i64::MAX));
            if endpoints.changed().await.is_err() {
                return;
            }
        }
    });
    Some(AbortOnDropHandle::new(task))
}

impl std::fmt::Debug for Discovery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Discovery")
            .field("service", &self.service)
            .field("instances", &self.endpoints.borrow().len())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_discovery_reports_its_instances() {
        let discovery = Discovery::fixed([
            ServiceInstance::new("approval", "a", "127.0.0.1:1"),
            ServiceInstance::new("approval", "b", "127.0.0.1:2"),
        ]);
        assert_eq!(discovery.service(), "approval");
        let ids: Vec<_> = discovery.current().keys().cloned().collect();
        assert_eq!(ids, ["a", "b"]);
        assert!(discovery.subscribe().has_changed().unwrap_or(false));
    }

    fn instances_gauge(service: &str) -> i64 {
        INSTANCES
            .get_or_create(&ServiceLabels {
                service: service.to_string(),
            })
            .get()
    }

    async fn wait_for_instances(service: &str, expected: i64) {
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
        while instances_gauge(service) != expected {
            assert!(
                tokio::time::Instant::now() < deadline,
                "zhongtai_registry_instances{{service={service:?}}} stayed {} instead of {expected}",
                instances_gauge(service)
            );
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
    }

    #[tokio::test]
    async fn the_instance_gauge_follows_what_discovery_sees() {
        use crate::{LocalRegistry, Registry};
        // A service name of its own: other tests share the process registry.
        let service = "discovery-gauge-test";
        let registry = LocalRegistry::new();
        let discovery = registry.discover(service);
        let first = registry.register(ServiceInstance::new(service, "a", "127.0.0.1:1"));
        let second = registry.register(ServiceInstance::new(service, "b", "127.0.0.1:2"));
        wait_for_instances(service, 2).await;
        let exposition = zhongtai_telemetry::metrics::encode();
        assert!(
            exposition.contains(&format!(
                "zhongtai_registry_instances{{service=\"{service}\"}} 2"
            )),
            "{exposition}"
        );
        first.deregister().await;
        wait_for_instances(service, 1).await;
        second.deregister().await;
        wait_for_instances(service, 0).await;
        assert!(discovery.current().is_empty());
    }
}
