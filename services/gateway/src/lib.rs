//! The capability gateway (能力开放平台): integrator apps and their
//! credentials, capabilities (HTTP/JSON routes transcoded to backend gRPC
//! methods, and gRPC passthrough), limits, usage and audit.
//!
//! - [`admin`] — the admin plane (`GatewayAdminService`): api → [`domain`]
//!   → [`store`].
//! - [`front`] — the front door integrators call: [`signing`], [`limits`],
//!   shedding, [`transcode`], forwarding through discovery, [`audit`].

#![forbid(unsafe_code)]

pub mod access;
pub mod admin;
pub mod audit;
pub mod domain;
mod error;
pub mod front;
pub mod limits;
pub mod migration;
mod module;
pub mod signing;
pub mod store;
pub mod transcode;

pub use module::{GatewayModule, GatewayStartError};
