//! A caller's view of one service's instances.

use std::any::Any;
use std::sync::Arc;

use tokio::sync::watch;

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
}

impl Discovery {
    pub(crate) fn new(
        service: &str,
        endpoints: watch::Receiver<Arc<EndpointSet>>,
        synced: watch::Receiver<bool>,
        source: Arc<dyn Any + Send + Sync>,
    ) -> Self {
        Self {
            service: Arc::from(service),
            endpoints,
            synced,
            _source: source,
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
}
