//! The handle a provider keeps while it is registered.

use std::future::Future;
use std::pin::Pin;
use std::sync::LazyLock;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use tokio::sync::watch;
use zhongtai_telemetry::metrics::AlwaysDescribed;

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
        count_while_registered(&instance.service, state.clone());
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

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ServiceLabels {
    service: String,
}

/// Live registrations of this process, by service: 1 for the one instance
/// a production process registers, 0 while it is being (re-)announced or
/// after it left.
static REGISTERED: LazyLock<Family<ServiceLabels, Gauge>> = LazyLock::new(|| {
    let registered = Family::default();
    zhongtai_telemetry::metrics::with_registry(|registry| {
        registry.register(
            "zhongtai_registry_registered",
            "1 while this instance's registration in discovery is live, else 0",
            AlwaysDescribed(registered.clone()),
        );
    });
    registered
});

/// Follows `state` into the `zhongtai_registry_registered` gauge until the
/// registration ends (its state sender is gone).
fn count_while_registered(service: &str, mut state: watch::Receiver<RegistrationState>) {
    // The registry's families appear together, before any discovery.
    super::discovery::register_metrics();
    let gauge = REGISTERED
        .get_or_create(&ServiceLabels {
            service: service.to_string(),
        })
        .clone();
    // Registries spawn their own work too; without a runtime there is no
    // registration to follow.
    let Ok(runtime) = tokio::runtime::Handle::try_current() else {
        return;
    };
    runtime.spawn(async move {
        let mut counted = false;
        loop {
            let registered = *state.borrow_and_update() == RegistrationState::Registered;
            if registered != counted {
                if registered {
                    gauge.inc();
                } else {
                    gauge.dec();
                }
                counted = registered;
            }
            if state.changed().await.is_err() {
                break;
            }
        }
        if counted {
            gauge.dec();
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{LocalRegistry, Registry, ServiceInstance};

    fn registered_gauge(service: &str) -> i64 {
        REGISTERED
            .get_or_create(&ServiceLabels {
                service: service.to_string(),
            })
            .get()
    }

    async fn wait_for_gauge(service: &str, expected: i64) {
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
        while registered_gauge(service) != expected {
            assert!(
                tokio::time::Instant::now() < deadline,
                "zhongtai_registry_registered{{service={service:?}}} stayed {} instead of {expected}",
                registered_gauge(service)
            );
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
    }

    #[tokio::test]
    async fn the_gauge_is_one_while_registered_and_zero_after_leaving() {
        // A service name of its own: other tests share the process registry.
        let service = "registration-gauge-test";
        let registry = LocalRegistry::new();
        let registration = registry.register(ServiceInstance::new(service, "a", "127.0.0.1:1"));
        wait_for_gauge(service, 1).await;
        let exposition = zhongtai_telemetry::metrics::encode();
        assert!(
            exposition.contains(&format!(
                "zhongtai_registry_registered{{service=\"{service}\"}} 1"
            )),
            "{exposition}"
        );
        registration.deregister().await;
        wait_for_gauge(service, 0).await;
    }

    #[tokio::test]
    async fn an_instance_the_registry_refuses_is_served_as_zero() {
        let service = "registration-invalid-test";
        let registry = LocalRegistry::new();
        let _registration = registry.register(ServiceInstance::new(service, "", ""));
        // Read from the exposition: reading the family would create the
        // sample this test looks for.
        let exposition = zhongtai_telemetry::metrics::encode();
        assert!(
            exposition.contains(&format!(
                "zhongtai_registry_registered{{service=\"{service}\"}} 0"
            )),
            "{exposition}"
        );
    }
}
