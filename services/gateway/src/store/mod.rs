//! sea-orm persistence of the gateway.

mod apps;
pub mod entities;

pub use apps::SeaApps;
