//! Keeping one instance registered in etcd: grant a lease, put the key,
//! keep the lease alive and the key present; when either is lost, say so
//! and start again — with backoff, forever, until deregistered.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use etcd_client::{EventType, PutOptions, WatchOptions};
use tokio::sync::watch;
use tokio::time::{Instant, MissedTickBehavior};
use tokio_util::sync::CancellationToken;
use tokio_util::task::AbortOnDropHandle;

use super::Shared;
use crate::MeshError;
use crate::backoff::Backoff;
use crate::registry::RegistrationState;
use crate::registry::registration::Withdraw;

/// Re-registration waits between these bounds after consecutive failures.
const RETRY_BASE: Duration = Duration::from_millis(200);
const RETRY_MAX: Duration = Duration::from_secs(3);

/// The background task behind one [`crate::Registration`].
pub(super) struct Registrar {
    pub(super) shared: Arc<Shared>,
    pub(super) key: String,
    pub(super) value: String,
    pub(super) service: String,
    pub(super) id: String,
    pub(super) state: Arc<watch::Sender<RegistrationState>>,
    /// Cancelled by a graceful deregistration (not by a drop).
    pub(super) stop: CancellationToken,
}

/// A lease this registration holds, and the revision at which its key was
/// last written.
#[derive(Clone, Copy, Debug)]
struct Held {
    lease: i64,
    revision: i64,
}

impl Registrar {
    pub(super) async fn run(self) {
        let backoff = Backoff::new(RETRY_BASE, RETRY_MAX);
        let mut attempt: u32 = 0;
        // The most recent lease granted to us, so deregistration can revoke
        // it even if we were interrupted between granting and using it.
        let mut granted: Option<i64> = None;
        loop {
            let established = tokio::select! {
                () = self.stop.cancelled() => break,
                result = self.establish(&mut granted) => result,
            };
            match established {
                Ok(held) => {
                    attempt = 0;
                    self.state.send_replace(RegistrationState::Registered);
                    tracing::info!(service = %self.service, id = %self.id,
                        lease = held.lease, "registered in etcd");
                    let lost = tokio::select! {
                        () = self.stop.cancelled() => break,
                        lost = self.maintain(held) => lost,
                    };
                    self.state.send_replace(RegistrationState::Lost);
                    tracing::warn!(service = %self.service, id = %self.id, error = %lost,
                        "registration lost; registering again");
                    // The old lease may still be alive (a broken connection
                    // rather than an expiry); it expires on its own, and the
                    // key moves to the new lease when it is put again.
                    granted = None;
                }
                Err(error) => {
                    attempt = attempt.saturating_add(1);
                    tracing::warn!(service = %self.service, id = %self.id, attempt, %error,
                        "registration attempt failed; retrying");
                    tokio::select! {
                        () = self.stop.cancelled() => break,
                        () = tokio::time::sleep(backoff.delay(attempt)) => {}
                    }
                }
            }
        }
        self.revoke(granted).await;
        self.state.send_replace(RegistrationState::Deregistered);
    }

    /// Grants a lease and writes the key under it.
    async fn establish(&self, granted: &mut Option<i64>) -> Result<Held, MeshError> {
        let shared = &self.shared;
        let mut client = shared.client().await?;
        let ttl = shared.config.lease_ttl_secs();
        let lease = shared.request(client.lease_grant(ttl, None)).await?.id();
        *granted = Some(lease);
        let options = PutOptions::new().with_lease(lease);
        let put = shared
            .request(client.put(self.key.as_str(), self.value.as_str(), Some(options)))
            .await?;
        let revision = put.header().map(|h| h.revision()).unwrap_or_default();
        Ok(Held { lease, revision })
    }

    /// Keeps the lease alive and the key in place until one of them is lost;
    /// returns why.
    async fn maintain(&self, held: Held) -> MeshError {
        match self.keep(held).await {
            Ok(never) => match never {},
            Err(error) => error,
        }
    }

    async fn keep(&self, held: Held) -> Result<std::convert::Infallible, MeshError> {
        let shared = &self.shared;
        let mut client = shared.client().await?;
        let ttl = shared.config.lease_ttl;
        let (mut keeper, mut answers) = shared.request(client.lease_keep_alive(held.lease)).await?;
        let watch = WatchOptions::new().with_start_revision(held.revision + 1);
        let mut own_key = shared
            .request(client.watch(self.key.as_str(), Some(watch)))
            .await?;

        let period = (ttl / 3).max(Duration::from_millis(300));
        let mut ticks = tokio::time::interval_at(Instant::now() + period, period);
        ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
        // If etcd stops answering, the lease is as good as gone once its TTL
        // has passed since the last answer.
        let mut expires = Instant::now() + ttl;
        loop {
            tokio::select! {
                _ = ticks.tick() => keeper.keep_alive().await?,
                answer = answers.message() => match answer? {
                    Some(answer) if answer.ttl() > 0 => {
                        let granted = u64::try_from(answer.ttl()).unwrap_or(0);
                        expires = Instant::now() + Duration::from_secs(granted);
                    }
                    Some(_) => return Err(MeshError::LeaseLost(held.lease)),
                    None => return Err(MeshError::Interrupted("keep-alive stream ended".into())),
                },
                () = tokio::time::sleep_until(expires) => {
                    return Err(MeshError::Interrupted(
                        "no keep-alive answer within the lease ttl".into(),
                    ));
                }
                change = own_key.message() => {
                    let Some(change) = change? else {
                        return Err(MeshError::Interrupted("watch of own key ended".into()));
                    };
                    if change.canceled() {
                        return Err(MeshError::Interrupted(format!(
                            "watch of own key cancelled: {}", change.cancel_reason()
                        )));
                    }
                    let deleted = change
                        .events()
                        .iter()
                        .any(|event| event.event_type() == EventType::Delete);
                    if deleted {
                        // Someone removed the key while our lease lives (an
                        // operator, a compaction race): put it back.
                        tracing::warn!(service = %self.service, id = %self.id,
                            "registration key was deleted; restoring it");
                        let options = PutOptions::new().with_lease(held.lease);
                        shared
                            .request(client.put(self.key.as_str(), self.value.as_str(), Some(options)))
                            .await?;
                    }
                }
            }
        }
    }

    /// Revokes the lease (removing the key at once), bounded by the request
    /// timeout; if etcd cannot be reached the lease simply expires.
    async fn revoke(&self, granted: Option<i64>) {
        let Some(lease) = granted else {
            return;
        };
        let revoked = async {
            let mut client = self.shared.client().await?;
            self.shared.request(client.lease_revoke(lease)).await
        };
        match revoked.await {
            Ok(_) => {
                tracing::info!(service = %self.service, id = %self.id, "deregistered from etcd")
            }
            Err(error) => tracing::warn!(service = %self.service, id = %self.id, %error,
                "cannot revoke lease on deregistration; it will expire"),
        }
    }
}

/// Stops a registration: gracefully through `withdraw`, abruptly on drop.
pub(super) struct EtcdWithdraw {
    pub(super) task: AbortOnDropHandle<()>,
    pub(super) stop: CancellationToken,
    pub(super) state: Arc<watch::Sender<RegistrationState>>,
    /// Longest wait for the lease revocation.
    pub(super) bound: Duration,
}

impl Withdraw for EtcdWithdraw {
    fn withdraw(self: Box<Self>) -> Pin<Box<dyn Future<Output = ()> + Send>> {
        Box::pin(async move {
            let Self {
                task,
                stop,
                state,
                bound,
            } = *self;
            stop.cancel();
            if tokio::time::timeout(bound, task).await.is_err() {
                tracing::warn!("deregistration did not finish in time; abandoning it");
            }
            state.send_replace(RegistrationState::Deregistered);
        })
    }
}
