//! Database connections (PostgreSQL or SQLite by URL) and per-service
//! migrations on sea-orm.
//!
//! Every service owns its schema: it passes its own `MigratorTrait` to
//! [`migrate`], which applies pending migrations at start and records them
//! in a per-service history table, so services may share one PostgreSQL
//! database without stepping on each other's migration history.

#![forbid(unsafe_code)]

mod config;
mod connect;
mod error;

pub use config::{Backend, StoreConfig, redact_url};
pub use connect::{connect, migrate};
pub use error::StoreError;
