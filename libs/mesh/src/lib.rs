//! Zhongtai's service mesh, decentralised: every provider registers itself
//! (in etcd, or in-process for the embedded mode), every caller watches the
//! registry and talks to providers directly through a [`MeshChannel`] that
//! balances, ejects dead instances, retries idempotent calls within a budget
//! and enforces deadlines. The server side gets the layers that keep a
//! service standing under load: [`MessageLimitLayer`], [`AdmissionLayer`]
//! (priority load shedding) and [`RateLimitLayer`]; a front door that
//! admits calls itself uses [`AdaptiveLimiter`], and callers guard each
//! backend with a [`CircuitBreaker`].
//!
//! ```text
//! provider:  bind → serve → Registry::register ──▶ etcd {prefix}/{service}/{id}
//! caller:    Registry::discover(service) ──watch──▶ Discovery ──▶ MeshChannel
//!            MeshChannel = deadline → retry (idempotent only) → P2C balancer
//!                          → one lazily connected HTTP/2 channel per instance
//! ```

#![forbid(unsafe_code)]

mod backoff;
pub mod client;
mod error;
mod guarded_body;
mod instance;
mod methods;
pub mod registry;
mod rejection;
pub mod server;
pub mod tls;

pub use client::{
    BreakerConfig, BreakerPermit, BreakerState, ChannelConfig, CircuitBreaker, CircuitOpen,
    DeadlineLayer, DeadlineService, MeshChannel, SingleAttempt,
};
pub use error::{BoxError, MeshError};
pub use instance::{DEFAULT_WEIGHT, EndpointSet, ServiceInstance};
pub use methods::{is_retryable, is_streaming};
pub use registry::{
    Discovery, EtcdConfig, EtcdRegistry, LocalRegistry, Registration, RegistrationState, Registry,
};
pub use rejection::ERROR_DOMAIN;
pub use server::{
    AdaptiveConfig, AdaptiveLimiter, AdaptivePermit, AdmissionConfig, AdmissionLayer,
    AdmissionService, MessageLimitLayer, MessageLimitService, Priority, RateLimitLayer,
    RateLimitService, Shed,
};
pub use tls::{MeshTls, TlsError, TlsFiles};
