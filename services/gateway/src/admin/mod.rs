//! The gateway's admin plane over gRPC (`GatewayAdminService`): contract
//! messages to domain values and back, one module per resource.

pub mod apps;
pub mod capabilities;
pub mod credentials;
pub mod policies;
mod service;
pub mod usage;

pub use crate::audit::api::AuditApi;
pub use apps::AppsApi;
pub use capabilities::CapabilitiesApi;
pub use credentials::CredentialsApi;
pub use policies::PoliciesApi;
pub use service::GatewayAdmin;
pub use usage::UsageApi;
