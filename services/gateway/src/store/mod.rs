//! sea-orm persistence of the gateway.

mod apps;
mod capabilities;
mod config;
mod credentials;
pub mod entities;
mod policies;
mod shared;

pub use apps::SeaApps;
pub use capabilities::SeaCapabilities;
pub use config::SeaConfig;
pub use credentials::SeaCredentials;
pub use policies::SeaPolicies;
