//! The handle a provider keeps while it is registered.

use std::future::Future;
use std::pin::Pin;

use tokio::sync::watch;

use crate::ServiceInstance;

/// Where a registration stands. Observe it with [`Registration::state`]
/// (e.g. to report NOT_SERVING while the instance cannot be found).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RegistrationState {
    /// Not yet announced: the first attempt is running or being retried.
    Registering,
    /// Announced; callers can find the instance.
    Registered,
    /// Was announced, but the registry no longer holds it (lease expired,
    /// registry unreachable or restarted); being re-announced.
    Lost,
    /// Withdrawn by [`Registration::deregister`]; final.
    Deregistered,
}

/// What a registry implementation does when its registration is withdrawn.
/// Dropping the handle without calling `withdraw` must stop background work
/// without a graceful withdrawal (as if the process had died).
pub(crate) trait Withdraw: Send + Sync + 'static {
    fn withdraw(self: Box<Self>) -> Pin<Box<dyn Future<Output = ()> + Send>>;
}

/// A live registration. Keep it for as long as the instance serves.
pub struct Registration {
    instance: ServiceInstance,
    state: watch::Receiver<RegistrationState>,
    withdraw: Option<Box<dyn Withdraw>>,
}

impl Registration {
    pub(crate) fn new(
        instance: ServiceInstance,
        state: watch::Receiver<RegistrationState>,
        withdraw: Box<dyn Withdraw>,
    ) -> Self {
        Self {
            instance,
            state,
            withdraw: Some(withdraw),
        }
    }

    /// Follows the registration's state; the current value is available at
    /// once with `borrow()`.
    pub fn state(&self) -> watch::Receiver<RegistrationState> {
        self.state.clone()
    }

    /// The instance as announced.
    pub fn instance(&self) -> &ServiceInstance {
        &self.instance
    }

    /// Withdraws the instance so callers stop at once (the lease is revoked,
    /// waiting at most the registry's request timeout), stops keep-alive,
    /// and moves the state to [`RegistrationState::Deregistered`].
    pub async fn deregister(mut self) {
        if let Some(withdraw) = self.withdraw.take() {
            withdraw.withdraw().await;
        }
    }
}

impl std::fmt::Debug for Registration {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registration")
            .field("instance", &self.instance)
            .field("state", &*self.state.borrow())
            .finish()
    }
}
