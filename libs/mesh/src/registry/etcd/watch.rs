//! Following one service's instances in etcd: list, then watch from the
//! next revision; on any interruption (compaction, cancellation, a broken
//! stream) list again, publish the difference as one new set, and watch
//! again. While etcd cannot be reached the last known set stays published:
//! an unreachable registry never empties a caller's view.

use std::sync::Arc;
use std::time::Duration;

use etcd_client::{EventType, GetOptions, KeyValue, WatchOptions};
use tokio::sync::watch;
use tokio::time::Instant;

use super::Shared;
use super::keys::{decode, instance_id};
use crate::backoff::Backoff;
use crate::{EndpointSet, MeshError};

const RETRY_BASE: Duration = Duration::from_millis(200);
const RETRY_MAX: Duration = Duration::from_secs(3);

/// The background task behind one service's [`crate::Discovery`].
pub(super) struct Follower {
    pub(super) shared: Arc<Shared>,
    pub(super) service: String,
    pub(super) endpoints: watch::Sender<Arc<EndpointSet>>,
    pub(super) synced: watch::Sender<bool>,
}

/// Why following the watch stopped.
enum Interrupted {
    /// etcd compacted away the revision we were about to watch from.
    Compacted(i64),
    /// The watch failed or ended; the error says how.
    Failed(MeshError),
}

impl Follower {
    pub(super) async fn run(self) {
        let prefix = self.shared.keys.service_prefix(&self.service);
        let backoff = Backoff::new(RETRY_BASE, RETRY_MAX);
        let mut view = View::new(self.shared.config.lease_ttl * 2);
        let mut failures: u32 = 0;
        loop {
            if failures > 0 {
                tokio::time::sleep(backoff.delay(failures)).await;
            }
            let revision = match self.list(&prefix).await {
                Ok((revision, kvs)) => {
                    let entries = kvs.iter().map(|kv| (kv.key(), kv.value()));
                    view.resync(&self.service, &prefix, revision, entries, Instant::now());
                    self.publish(&view);
                    self.synced.send_replace(true);
                    revision
                }
                Err(error) => {
                    failures = failures.saturating_add(1);
                    tracing::warn!(service = %self.service, attempt = failures, %error,
                        known = view.published().len(), "cannot list instances; keeping the last known set");
                    continue;
                }
            };
            match self
                .follow(&prefix, revision, &mut view, &mut failures)
                .await
            {
                Interrupted::Compacted(compacted) => {
                    tracing::info!(service = %self.service, revision, compacted,
                        "watch history compacted; listing again");
                }
                Interrupted::Failed(error) => {
                    failures = failures.saturating_add(1);
                    tracing::warn!(service = %self.service, attempt = failures, %error,
                        "instance watch interrupted; listing again");
                }
            }
        }
    }

    async fn list(&self, prefix: &str) -> Result<(i64, Vec<KeyValue>), MeshError> {
        let mut client = self.shared.client().await?;
        let options = GetOptions::new().with_prefix();
        let mut response = self
            .shared
            .request(client.get(prefix, Some(options)))
            .await?;
        let revision = response.header().map(|h| h.revision()).unwrap_or_default();
        Ok((revision, response.take_kvs()))
    }

    /// Applies watch events from `revision + 1` until the watch breaks.
    /// Resets `failures` once the watch is established.
    async fn follow(
        &self,
        prefix: &str,
        revision: i64,
        view: &mut View,
        failures: &mut u32,
    ) -> Interrupted {
        let mut client = match self.shared.client().await {
            Ok(client) => client,
            Err(error) => return Interrupted::Failed(error),
        };
        let options = WatchOptions::new()
            .with_prefix()
            .with_start_revision(revision + 1);
        let mut stream = match self
            .shared
            .request(client.watch(prefix, Some(options)))
            .await
        {
            Ok(stream) => stream,
            Err(error) => return Interrupted::Failed(error),
        };
        let mut established = false;
        loop {
            let expiry = view.stale_until();
            let message = tokio::select! {
                message = stream.message() => message,
                () = sleep_until_some(expiry) => {
                    view.drop_stale();
                    self.publish(view);
                    continue;
                }
            };
            let response = match message {
                Ok(Some(response)) => response,
                Ok(None) => {
                    return Interrupted::Failed(MeshError::Interrupted("watch ended".into()));
                }
                Err(error) => return Interrupted::Failed(error.into()),
            };
            if response.canceled() {
                if response.compact_revision() > 0 {
                    return Interrupted::Compacted(response.compact_revision());
                }
                return Interrupted::Failed(MeshError::Interrupted(format!(
                    "watch cancelled: {}",
                    response.cancel_reason()
                )));
            }
            if !established {
                established = true;
                *failures = 0;
            }
            if let Some(header) = response.header() {
                view.observe(header.revision());
            }
            for event in response.events() {
                let Some(kv) = event.kv() else { continue };
                let Some(id) = instance_id(prefix, kv.key()) else {
                    continue;
                };
                match event.event_type() {
                    EventType::Put => view.put(&self.service, id, kv.value()),
                    EventType::Delete => view.delete(id),
                }
            }
            self.publish(view);
        }
    }

    fn publish(&self, view: &View) {
        let next = view.published();
        self.endpoints.send_if_modified(|current| {
            if **current == next {
                return false;
            }
            tracing::info!(service = %self.service, instances = next.len(), "instances changed");
            *current = Arc::new(next);
            true
        });
    }
}

async fn sleep_until_some(deadline: Option<Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}

/// What etcd says, plus — right after etcd came back without its data —
/// the instances it forgot, held for a grace period so they can
/// re-register before callers lose them.
struct View {
    truth: EndpointSet,
    stale: EndpointSet,
    stale_until: Option<Instant>,
    grace: Duration,
    /// Highest revision listed so far; a lower one means etcd lost its data.
    revision: i64,
}

impl View {
    fn new(grace: Duration) -> Self {
        Self {
            truth: EndpointSet::new(),
            stale: EndpointSet::new(),
            stale_until: None,
            grace,
            revision: 0,
        }
    }

    fn published(&self) -> EndpointSet {
        let mut set = self.stale.clone();
        set.extend(self.truth.iter().map(|(id, i)| (id.clone(), i.clone())));
        set
    }

    fn stale_until(&self) -> Option<Instant> {
        self.stale_until.filter(|_| !self.stale.is_empty())
    }

    fn drop_stale(&mut self) {
        self.stale.clear();
        self.stale_until = None;
    }

    /// Replaces the truth with a full listing taken at `revision`.
    fn resync<'a>(
        &mut self,
        service: &str,
        prefix: &str,
        revision: i64,
        entries: impl IntoIterator<Item = (&'a [u8], &'a [u8])>,
        now: Instant,
    ) {
        let mut listed = EndpointSet::new();
        for (key, value) in entries {
            let Some(id) = instance_id(prefix, key) else {
                continue;
            };
            match decode(service, id, value) {
                Ok(instance) => {
                    listed.insert(id.to_string(), instance);
                }
                Err(reason) => tracing::warn!(service, id, %reason, "skipping malformed instance"),
            }
        }
        if revision < self.revision {
            // The revision went backwards: etcd restarted without its data.
            // Registrations are coming back; keep the ones not back yet.
            tracing::warn!(
                service,
                revision,
                previous = self.revision,
                "etcd lost its data; holding unlisted instances while they re-register"
            );
            for (id, instance) in &self.truth {
                if !listed.contains_key(id) {
                    self.stale.insert(id.clone(), instance.clone());
                }
            }
            self.stale_until = Some(now + self.grace);
        }
        self.stale.retain(|id, _| !listed.contains_key(id));
        self.truth = listed;
        self.revision = revision;
    }

    /// Records a revision etcd reported, so a later listing below it is
    /// recognised as data loss.
    fn observe(&mut self, revision: i64) {
        self.revision = self.revision.max(revision);
    }

    fn put(&mut self, service: &str, id: &str, value: &[u8]) {
        self.stale.remove(id);
        match decode(service, id, value) {
            Ok(instance) => {
                self.truth.insert(id.to_string(), instance);
            }
            Err(reason) => {
                // What is stored there now cannot be dialled.
                tracing::warn!(service, id, %reason, "skipping malformed instance");
                self.truth.remove(id);
            }
        }
    }

    fn delete(&mut self, id: &str) {
        self.stale.remove(id);
        self.truth.remove(id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ServiceInstance;

    const PREFIX: &str = "/z/approval/";

    fn stored(id: &str) -> (Vec<u8>, Vec<u8>) {
        let instance = ServiceInstance::new("approval", id, format!("10.0.0.1:{}", id.len()));
        (
            format!("{PREFIX}{id}").into_bytes(),
            serde_json::to_vec(&instance).unwrap_or_default(),
        )
    }

    fn resync(view: &mut View, revision: i64, entries: &[(Vec<u8>, Vec<u8>)], now: Instant) {
        let entries = entries.iter().map(|(k, v)| (k.as_slice(), v.as_slice()));
        view.resync("approval", PREFIX, revision, entries, now);
    }

    fn ids(set: &EndpointSet) -> Vec<&str> {
        set.keys().map(String::as_str).collect()
    }

    #[test]
    fn a_listing_replaces_the_set_and_skips_malformed_values() {
        let mut view = View::new(Duration::from_secs(10));
        let now = Instant::now();
        let bad = (format!("{PREFIX}broken").into_bytes(), b"{oops".to_vec());
        resync(&mut view, 5, &[stored("a"), stored("b"), bad], now);
        assert_eq!(ids(&view.published()), ["a", "b"]);
        resync(&mut view, 9, &[stored("b"), stored("c")], now);
        assert_eq!(ids(&view.published()), ["b", "c"]);
    }

    #[test]
    fn events_apply_in_place_and_malformed_puts_remove_the_instance() {
        let mut view = View::new(Duration::from_secs(10));
        resync(&mut view, 5, &[stored("a")], Instant::now());
        let (_, value) = stored("b");
        view.put("approval", "b", &value);
        view.delete("a");
        assert_eq!(ids(&view.published()), ["b"]);
        view.put("approval", "b", b"garbage");
        assert!(view.published().is_empty());
    }

    #[test]
    fn data_loss_holds_forgotten_instances_for_the_grace_period() {
        let mut view = View::new(Duration::from_secs(10));
        let now = Instant::now();
        resync(&mut view, 40, &[stored("a"), stored("b")], now);
        view.observe(55);
        // etcd came back empty except for "a", which re-registered first.
        resync(&mut view, 3, &[stored("a")], now);
        assert_eq!(ids(&view.published()), ["a", "b"]);
        assert_eq!(view.stale_until(), Some(now + Duration::from_secs(10)));
        // "b" re-registers: it is truth again, nothing left to hold.
        let (_, value) = stored("b");
        view.put("approval", "b", &value);
        assert_eq!(view.stale_until(), None);
        assert_eq!(ids(&view.published()), ["a", "b"]);
    }

    #[test]
    fn instances_that_never_return_leave_after_the_grace_period() {
        let mut view = View::new(Duration::from_secs(10));
        let now = Instant::now();
        resync(&mut view, 40, &[stored("a"), stored("b")], now);
        resync(&mut view, 2, &[], now);
        assert_eq!(ids(&view.published()), ["a", "b"]);
        view.drop_stale();
        assert!(view.published().is_empty());
    }

    #[test]
    fn an_ordinary_relisting_removes_at_once() {
        let mut view = View::new(Duration::from_secs(10));
        let now = Instant::now();
        resync(&mut view, 40, &[stored("a"), stored("b")], now);
        resync(&mut view, 41, &[stored("a")], now);
        assert_eq!(ids(&view.published()), ["a"]);
        assert_eq!(view.stale_until(), None);
    }
}
