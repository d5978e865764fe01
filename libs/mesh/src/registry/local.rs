//! The in-process registry of the embedded all-in-one mode: every service
//! runs in one process, so registration is a map update and discovery a
//! watch channel. No leases: a registration leaves the map when it is
//! deregistered or dropped.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::watch;

use super::registration::Withdraw;
use super::{Discovery, Registration, RegistrationState, Registry};
use crate::{EndpointSet, ServiceInstance};

/// A [`Registry`] living in this process.
#[derive(Clone, Default)]
pub struct LocalRegistry {
    inner: Arc<Shared>,
}

#[derive(Default)]
struct Shared {
    services: Mutex<HashMap<String, ServiceEntry>>,
    next_token: AtomicU64,
}

struct ServiceEntry {
    endpoints: watch::Sender<Arc<EndpointSet>>,
    // Which registration owns each instance id, so that when an id is
    // registered twice, withdrawing the older one leaves the newer alone.
    owners: HashMap<String, u64>,
}

impl ServiceEntry {
    fn new() -> Self {
        Self {
            endpoints: watch::Sender::new(Arc::new(EndpointSet::new())),
            owners: HashMap::new(),
        }
    }
}

impl Shared {
    fn services(&self) -> MutexGuard<'_, HashMap<String, ServiceEntry>> {
        // The map stays consistent even if a holder panicked: every update
        // is a single insert or remove.
        self.services
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn insert(&self, instance: &ServiceInstance, token: u64) {
        let mut services = self.services();
        let entry = services
            .entry(instance.service.clone())
            .or_insert_with(ServiceEntry::new);
        entry.owners.insert(instance.id.clone(), token);
        entry.endpoints.send_modify(|set| {
            Arc::make_mut(set).insert(instance.id.clone(), instance.clone());
        });
    }

    fn remove(&self, instance: &ServiceInstance, token: u64) {
        let mut services = self.services();
        let Some(entry) = services.get_mut(&instance.service) else {
            return;
        };
        if entry.owners.get(&instance.id) != Some(&token) {
            return;
        }
        entry.owners.remove(&instance.id);
        entry.endpoints.send_modify(|set| {
            Arc::make_mut(set).remove(&instance.id);
        });
    }
}

impl LocalRegistry {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }
}

impl Registry for LocalRegistry {
    fn register(&self, instance: ServiceInstance) -> Registration {
        let (state, state_rx) = watch::channel(RegistrationState::Registering);
        if let Err(error) = instance.validate() {
            tracing::error!(%error, service = %instance.service, id = %instance.id,
                "refusing to register invalid instance");
            return Registration::new(instance, state_rx, Box::new(Inert));
        }
        let token = self.inner.next_token.fetch_add(1, Ordering::Relaxed);
        self.inner.insert(&instance, token);
        state.send_replace(RegistrationState::Registered);
        let withdraw = LocalWithdraw {
            shared: self.inner.clone(),
            instance: instance.clone(),
            token,
            state,
        };
        Registration::new(instance, state_rx, Box::new(withdraw))
    }

    fn discover(&self, service: &str) -> Discovery {
        let receiver = self
            .inner
            .services()
            .entry(service.to_string())
            .or_insert_with(ServiceEntry::new)
            .endpoints
            .subscribe();
        Discovery::new(
            service,
            receiver,
            Discovery::always_synced(),
            self.inner.clone(),
        )
    }
}

struct LocalWithdraw {
    shared: Arc<Shared>,
    instance: ServiceInstance,
    token: u64,
    state: watch::Sender<RegistrationState>,
}

impl Withdraw for LocalWithdraw {
    fn withdraw(self: Box<Self>) -> Pin<Box<dyn Future<Output = ()> + Send>> {
        self.shared.remove(&self.instance, self.token);
        self.state.send_replace(RegistrationState::Deregistered);
        Box::pin(std::future::ready(()))
    }
}

impl Drop for LocalWithdraw {
    fn drop(&mut self) {
        self.shared.remove(&self.instance, self.token);
    }
}

/// The handle of a registration that never started.
pub(super) struct Inert;

impl Withdraw for Inert {
    fn withdraw(self: Box<Self>) -> Pin<Box<dyn Future<Output = ()> + Send>> {
        Box::pin(std::future::ready(()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn instance(id: &str, port: u16) -> ServiceInstance {
        ServiceInstance::new("approval", id, format!("127.0.0.1:{port}"))
    }

    #[tokio::test]
    async fn registered_instances_are_discovered_and_deregistered_ones_leave() {
        let registry = LocalRegistry::new();
        let discovery = registry.discover("approval");
        assert!(discovery.current().is_empty());

        let a = registry.register(instance("a", 1));
        assert_eq!(*a.state().borrow(), RegistrationState::Registered);
        let b = registry.register(instance("b", 2));
        let ids: Vec<_> = discovery.current().keys().cloned().collect();
        assert_eq!(ids, ["a", "b"]);

        let mut state = a.state();
        a.deregister().await;
        assert_eq!(*state.borrow_and_update(), RegistrationState::Deregistered);
        let ids: Vec<_> = discovery.current().keys().cloned().collect();
        assert_eq!(ids, ["b"]);

        // A dropped registration leaves too: there is no lease to wait for.
        drop(b);
        assert!(discovery.current().is_empty());
    }

    #[tokio::test]
    async fn subscribers_see_every_change() {
        let registry = LocalRegistry::new();
        let discovery = registry.discover("approval");
        let mut updates = discovery.subscribe();
        assert!(updates.changed().await.is_ok());
        assert!(updates.borrow_and_update().is_empty());

        let a = registry.register(instance("a", 1));
        let seen = tokio::time::timeout(std::time::Duration::from_secs(1), updates.changed()).await;
        assert!(matches!(seen, Ok(Ok(()))));
        assert!(updates.borrow_and_update().contains_key("a"));

        a.deregister().await;
        let seen = tokio::time::timeout(std::time::Duration::from_secs(1), updates.changed()).await;
        assert!(matches!(seen, Ok(Ok(()))));
        assert!(updates.borrow_and_update().is_empty());
    }

    #[tokio::test]
    async fn services_do_not_see_each_other() {
        let registry = LocalRegistry::new();
        let _a = registry.register(instance("a", 1));
        let _c = registry.register(ServiceInstance::new("catalog", "c", "127.0.0.1:3"));
        assert_eq!(registry.discover("approval").current().len(), 1);
        assert!(registry.discover("catalog").current().contains_key("c"));
        assert!(registry.discover("gateway").current().is_empty());
    }

    #[tokio::test]
    async fn reregistering_an_id_survives_withdrawal_of_the_older_registration() {
        let registry = LocalRegistry::new();
        let old = registry.register(instance("a", 1));
        let new = registry.register(instance("a", 2));
        old.deregister().await;
        let current = registry.discover("approval").current();
        assert_eq!(
            current.get("a").map(|i| i.address.as_str()),
            Some("127.0.0.1:2")
        );
        drop(new);
        assert!(registry.discover("approval").current().is_empty());
    }

    #[tokio::test]
    async fn invalid_instances_are_never_announced() {
        let registry = LocalRegistry::new();
        let registration = registry.register(ServiceInstance::new("approval", "a/b", "h:1"));
        assert_eq!(
            *registration.state().borrow(),
            RegistrationState::Registering
        );
        assert!(registry.discover("approval").current().is_empty());
    }
}
