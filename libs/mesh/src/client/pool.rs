//! One lazily connected HTTP/2 channel per discovered instance, kept in
//! step with discovery, and the choice of instance per call: power of two
//! choices on in-flight calls relative to weight, skipping ejected
//! instances while any other is available.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::sync::watch;
use tokio::time::Instant;
use tonic::transport::{Channel, Endpoint};

use super::ChannelConfig;
use crate::{Discovery, EndpointSet, ServiceInstance};

/// One instance as the channel uses it.
pub(super) struct Backend {
    pub(super) id: String,
    pub(super) address: String,
    weight: u32,
    channel: Channel,
    in_flight: AtomicUsize,
    ejected_until: Mutex<Option<Instant>>,
}

impl Backend {
    fn connect(instance: &ServiceInstance, config: &ChannelConfig) -> Option<Self> {
        let endpoint = match endpoint(instance, config) {
            Ok(endpoint) => endpoint,
            Err(error) => {
                tracing::warn!(service = %instance.service, id = %instance.id,
                    address = %instance.address, %error, "ignoring instance that cannot be dialled");
                return None;
            }
        };
        let channel = endpoint
            .connect_timeout(config.connect_timeout)
            .http2_keep_alive_interval(config.keepalive_interval)
            .keep_alive_timeout(config.keepalive_timeout)
            .keep_alive_while_idle(true)
            .tcp_nodelay(true)
            .connect_lazy();
        Some(Self {
            id: instance.id.clone(),
            address: instance.address.clone(),
            weight: instance.effective_weight(),
            channel,
            in_flight: AtomicUsize::new(0),
            ejected_until: Mutex::new(None),
        })
    }

    pub(super) fn channel(&self) -> Channel {
        self.channel.clone()
    }

    /// Counts a call until the returned guard is dropped.
    pub(super) fn start(self: &Arc<Self>) -> InFlight {
        self.in_flight.fetch_add(1, Ordering::AcqRel);
        InFlight {
            backend: self.clone(),
        }
    }

    pub(super) fn in_flight(&self) -> usize {
        self.in_flight.load(Ordering::Acquire)
    }

    fn ejection(&self) -> MutexGuard<'_, Option<Instant>> {
        self.ejected_until
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub(super) fn eject(&self, duration: Duration) {
        *self.ejection() = Some(Instant::now() + duration);
    }

    pub(super) fn restore(&self) {
        self.ejection().take();
    }

    fn is_ejected(&self, now: Instant) -> bool {
        self.ejection().is_some_and(|until| until > now)
    }
}

/// Where and how to reach `instance`: over mutual TLS when configured,
/// expecting a certificate for the instance's service whatever its address.
fn endpoint(
    instance: &ServiceInstance,
    config: &ChannelConfig,
) -> Result<Endpoint, tonic::transport::Error> {
    let Some(tls) = &config.tls else {
        return Endpoint::from_shared(format!("http://{}", instance.address));
    };
    // The connect timeout bounds only the TCP connect; without this a peer
    // that stalls the handshake would hold the call until its deadline.
    let tls_config = tls
        .client_config(&instance.service)
        .timeout(config.connect_timeout);
    Endpoint::from_shared(format!("https://{}", instance.address))?.tls_config(tls_config)
}

/// A call in progress on a [`Backend`].
pub(super) struct InFlight {
    backend: Arc<Backend>,
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.backend.in_flight.fetch_sub(1, Ordering::AcqRel);
    }
}

/// The backends of one service.
pub(super) struct Pool {
    config: ChannelConfig,
    state: Mutex<PoolState>,
}

struct PoolState {
    updates: watch::Receiver<Arc<EndpointSet>>,
    backends: Vec<Arc<Backend>>,
}

impl Pool {
    pub(super) fn new(discovery: &Discovery, config: ChannelConfig) -> Self {
        Self {
            config,
            state: Mutex::new(PoolState {
                updates: discovery.subscribe(),
                backends: Vec::new(),
            }),
        }
    }

    /// The current backends, after applying any discovery change: new
    /// instances join, departed ones are dropped (their connections close
    /// when their last call finishes), moved ones reconnect.
    pub(super) fn backends(&self) -> Vec<Arc<Backend>> {
        let mut state = self
            .state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        // An error means discovery stopped; its last set stays in use.
        if state.updates.has_changed().unwrap_or(false) {
            let current = state.updates.borrow_and_update().clone();
            let previous = std::mem::take(&mut state.backends);
            state.backends = current
                .values()
                .filter_map(|instance| {
                    previous
                        .iter()
                        .find(|b| {
                            b.id == instance.id
                                && b.address == instance.address
                                && b.weight == instance.effective_weight()
                        })
                        .cloned()
                        .or_else(|| Backend::connect(instance, &self.config).map(Arc::new))
                })
                .collect();
        }
        state.backends.clone()
    }

    /// Chooses a backend not in `tried` (or any, when every one was tried).
    pub(super) fn pick(&self, tried: &[String]) -> Option<Arc<Backend>> {
        let backends = self.backends();
        let untried: Vec<&Arc<Backend>> =
            backends.iter().filter(|b| !tried.contains(&b.id)).collect();
        let pool = if untried.is_empty() {
            backends.iter().collect()
        } else {
            untried
        };
        let now = Instant::now();
        let healthy: Vec<&Arc<Backend>> = pool
            .iter()
            .copied()
            .filter(|b| !b.is_ejected(now))
            .collect();
        // With every candidate ejected, trying one beats failing outright.
        let candidates = if healthy.is_empty() { pool } else { healthy };
        power_of_two_choices(&candidates).cloned()
    }
}

fn power_of_two_choices<'a>(candidates: &[&'a Arc<Backend>]) -> Option<&'a Arc<Backend>> {
    let first = weighted_index(candidates, None)?;
    let Some(second) = weighted_index(candidates, Some(first)) else {
        return Some(candidates[first]);
    };
    let (a, b) = (candidates[first], candidates[second]);
    // Less loaded relative to weight: in_flight(a)/w(a) <= in_flight(b)/w(b).
    let load_a = (a.in_flight() as u128) * u128::from(b.weight);
    let load_b = (b.in_flight() as u128) * u128::from(a.weight);
    Some(if load_a <= load_b { a } else { b })
}

/// A random index, proportional to weight, never `excluded`.
fn weighted_index(candidates: &[&Arc<Backend>], excluded: Option<usize>) -> Option<usize> {
    let total: u64 = candidates
        .iter()
        .enumerate()
        .filter(|(index, _)| Some(*index) != excluded)
        .map(|(_, b)| u64::from(b.weight))
        .sum();
    if total == 0 {
        return None;
    }
    let mut point = fastrand::u64(0..total);
    for (index, backend) in candidates.iter().enumerate() {
        if Some(index) == excluded {
            continue;
        }
        let weight = u64::from(backend.weight);
        if point < weight {
            return Some(index);
        }
        point -= weight;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::LocalRegistry;
    use crate::Registry;

    fn instance(id: &str, port: u16, weight: u32) -> ServiceInstance {
        let mut instance = ServiceInstance::new("approval", id, format!("127.0.0.1:{port}"));
        instance.weight = weight;
        instance
    }

    fn pick_counts(pool: &Pool, rounds: usize) -> std::collections::BTreeMap<String, usize> {
        let mut counts = std::collections::BTreeMap::new();
        for _ in 0..rounds {
            if let Some(backend) = pool.pick(&[]) {
                *counts.entry(backend.id.clone()).or_default() += 1;
            }
        }
        counts
    }

    #[tokio::test]
    async fn follows_discovery_changes() {
        let registry = LocalRegistry::new();
        let pool = Pool::new(&registry.discover("approval"), ChannelConfig::default());
        assert!(pool.pick(&[]).is_none());
        let a = registry.register(instance("a", 1, 100));
        assert_eq!(pool.pick(&[]).map(|b| b.id.clone()).as_deref(), Some("a"));
        let _b = registry.register(instance("b", 2, 100));
        assert_eq!(pool.backends().len(), 2);
        a.deregister().await;
        let ids: Vec<_> = pool.backends().iter().map(|b| b.id.clone()).collect();
        assert_eq!(ids, ["b"]);
    }

    #[tokio::test]
    async fn prefers_the_less_loaded_instance() {
        let discovery = Discovery::fixed([instance("a", 1, 100), instance("b", 2, 100)]);
        let pool = Pool::new(&discovery, ChannelConfig::default());
        let busy = pool
            .backends()
            .into_iter()
            .find(|b| b.id == "a")
            .unwrap_or_else(|| panic!("a missing"));
        let _calls: Vec<_> = (0..5).map(|_| busy.start()).collect();
        let counts = pick_counts(&pool, 200);
        assert_eq!(counts.get("b"), Some(&200), "{counts:?}");
    }

    #[tokio::test]
    async fn weights_shape_the_share_of_traffic() {
        let discovery = Discovery::fixed([instance("heavy", 1, 900), instance("light", 2, 100)]);
        let pool = Pool::new(&discovery, ChannelConfig::default());
        let mut heavy = 0;
        for _ in 0..2000 {
            // Hold each pick so in-flight counts do not stay level.
            if let Some(b) = pool.pick(&[]) {
                heavy += usize::from(b.id == "heavy");
            }
        }
        // Idle instances tie, so the first weighted sample decides: ~90%.
        assert!(heavy > 1600, "heavy got {heavy} of 2000");
    }

    #[tokio::test]
    async fn ejected_instances_get_no_traffic_unless_nothing_else_is_left() {
        let discovery = Discovery::fixed([instance("a", 1, 100), instance("b", 2, 100)]);
        let pool = Pool::new(&discovery, ChannelConfig::default());
        let backends = pool.backends();
        backends[0].eject(Duration::from_secs(60));
        let counts = pick_counts(&pool, 100);
        assert_eq!(counts.get(&backends[1].id), Some(&100), "{counts:?}");
        backends[1].eject(Duration::from_secs(60));
        assert!(pool.pick(&[]).is_some(), "all ejected: still try one");
        backends[0].restore();
        let counts = pick_counts(&pool, 100);
        assert_eq!(counts.get(&backends[0].id), Some(&100), "{counts:?}");
    }

    #[tokio::test]
    async fn retries_avoid_instances_already_tried() {
        let discovery = Discovery::fixed([instance("a", 1, 100), instance("b", 2, 100)]);
        let pool = Pool::new(&discovery, ChannelConfig::default());
        for _ in 0..50 {
            let picked = pool.pick(&["a".to_string()]).map(|b| b.id.clone());
            assert_eq!(picked.as_deref(), Some("b"));
        }
        let everything = ["a".to_string(), "b".to_string()];
        assert!(pool.pick(&everything).is_some());
    }
}
