//! What every Zhongtai service shares above the libraries: typed
//! configuration, the server lifecycle (health, reflection, registration,
//! graceful shutdown), the shared platform parts (registry, bus, peer
//! channels), and the mapping of failures to gRPC statuses.

#![forbid(unsafe_code)]

pub mod actor;
pub mod admin;
pub mod audit_trail;
pub mod auth;
pub mod batch;
pub mod config;
pub mod host;
pub mod paging;
pub mod platform;
pub mod proto;
mod retry;
pub mod secret;
pub mod service;
pub mod shutdown;
pub mod status;
pub mod tenancy;
pub mod tenant;
pub mod timers;
pub mod validation;

pub use actor::{Actor, ActorKind};
pub use auth::{Caller, Role};
pub use config::{ServeConfig, ServerConfig};
pub use host::{HostError, ServiceHost, ServiceRoutes};
pub use paging::{Page, PageQuery};
pub use platform::{Platform, ServiceChannel};
pub use retry::retry_forever;
pub use secret::Secret;
pub use service::{
    BackgroundTask, RunningService, ServiceContext, ServiceError, ServiceModule, ServiceSettings,
};
pub use status::ApiError;
pub use tenancy::{ScopedEntity, SystemPurpose, TenantOwned, TenantScope};
pub use tenant::{DivisionCode, TenantId};
pub use validation::Validator;
