//! Per-app concurrency caps (`Policy.max_concurrency`), counted by this
//! instance: a cap of N admits at most N calls of the app on the capability
//! at once here.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

use uuid::Uuid;

/// Calls in flight per (app, capability).
#[derive(Default)]
pub struct ConcurrencyCaps {
    counters: Mutex<HashMap<(Uuid, String), Arc<AtomicU32>>>,
}

/// One admitted call; leaving frees its place.
pub struct InFlight(Arc<AtomicU32>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

impl ConcurrencyCaps {
    /// A place for one more call, or `None` when `cap` are in flight.
    pub fn try_enter(&self, app: Uuid, capability: &str, cap: u32) -> Option<InFlight> {
        let counter = {
            let mut counters = match self.counters.lock() {
                Ok(guard) => guard,
                Err(poisoned) => poisoned.into_inner(),
            };
            counters
                .entry((app, capability.to_string()))
                .or_default()
                .clone()
        };
        let admitted = counter
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < cap).then_some(n + 1)
            })
            .is_ok();
        admitted.then(|| InFlight(counter))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn admits_up_to_the_cap_and_frees_on_drop() {
        let caps = ConcurrencyCaps::default();
        let app = Uuid::nil();
        let first = caps.try_enter(app, "certificate.verify", 2);
        let second = caps.try_enter(app, "certificate.verify", 2);
        assert!(first.is_some() && second.is_some());
        assert!(caps.try_enter(app, "certificate.verify", 2).is_none());
        assert!(caps.try_enter(app, "catalog.search", 2).is_some());
        drop(first);
        assert!(caps.try_enter(app, "certificate.verify", 2).is_some());
    }
}
