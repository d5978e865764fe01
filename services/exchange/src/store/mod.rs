//! sea-orm persistence of the exchange center.

pub mod entities;
pub mod grants;
mod lines;
mod platform;
mod release;
mod rows;
mod runner;
mod subscriptions;

pub use lines::SeaLines;
pub use subscriptions::{SubscriptionFilter, SubscriptionProgress};
