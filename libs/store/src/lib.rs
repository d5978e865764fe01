//! Database connections (PostgreSQL or SQLite by URL) and per-service
//! migrations on sea-orm.
//!
//! Every service owns its database and its schema: it passes its own
//! `MigratorTrait` to [`migrate`], which applies pending migrations at start.

#![forbid(unsafe_code)]

mod config;
mod connect;
mod error;
pub mod statements;
mod transient;

pub use config::{Backend, StoreConfig, redact_url};
pub use connect::{begin_write, connect, migrate};
pub use error::StoreError;
pub use transient::{is_unavailable, is_unavailable_failure};
