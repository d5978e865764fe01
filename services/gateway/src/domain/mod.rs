//! The gateway's rules, free of transport and storage types.

pub mod app;
pub mod capability;
pub mod error;
pub mod ports;

pub use app::{App, AppState};
pub use capability::CapabilityName;
pub use error::GatewayError;
pub use ports::{AppFilter, AppRepository};
