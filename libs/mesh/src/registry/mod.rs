//! Registration and discovery behind one object-safe trait, with two
//! implementations: [`EtcdRegistry`] for production (leases, watches, static
//! stability) and [`LocalRegistry`] for the embedded all-in-one mode.

mod discovery;
mod etcd;
mod local;
mod registration;

pub use discovery::Discovery;
pub use etcd::{EtcdConfig, EtcdRegistry};
pub use local::LocalRegistry;
pub use registration::{Registration, RegistrationState};

use crate::ServiceInstance;

/// Where providers announce themselves and callers find them. Used as
/// `Arc<dyn Registry>`.
///
/// Both methods spawn background work and must be called inside a Tokio
/// runtime.
pub trait Registry: Send + Sync + 'static {
    /// Announces `instance` and keeps it announced. Returns at once;
    /// (re-)registration runs in the background, retried with jittered
    /// exponential backoff forever, until [`Registration::deregister`].
    /// Dropping the [`Registration`] without deregistering stops the
    /// background work as a crashed process would.
    fn register(&self, instance: ServiceInstance) -> Registration;

    /// Watches one service's instances. Cheap to call repeatedly: one
    /// watcher per service per registry is shared by every [`Discovery`]
    /// handle, and it stops when the last handle is dropped.
    fn discover(&self, service: &str) -> Discovery;
}
