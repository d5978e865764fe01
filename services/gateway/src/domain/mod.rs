//! The gateway's rules, free of transport and storage types.

pub mod app;
pub mod capability;
pub mod credential;
pub mod error;
pub mod policy;
pub mod ports;

pub use app::{AdminAccess, App, AppField, AppScope, AppState, Contact, Owner};
pub use capability::{
    BackendMethod, BodyBinding, Capability, CapabilityName, CapabilityPriority, DEFAULT_TIMEOUT,
    HttpMethod, HttpRoute,
};
pub use credential::{APP_KEY_PREFIX, Credential, CredentialState, SigningCredential};
pub use error::GatewayError;
pub use policy::{Limits, Policy, PolicyTarget, Quota, QuotaWindow, RateLimit};
pub use ports::{
    AppFilter, AppRepository, CapabilityFilter, CapabilityRepository, ConfigSnapshotData,
    ConfigSource, CredentialRepository, PolicyRepository,
};
