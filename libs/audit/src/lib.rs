//! The tamper-evident audit log every service keeps in its own database.
//!
//! - A security-relevant action is recorded with [`append`] in the
//!   transaction of the state change it describes (or with [`append_alone`]
//!   when nothing else changes, as for a denial), so the record commits
//!   exactly when the action does. The record also enters the outbox as an
//!   `audit.record.appended` event, so a copy leaves the service.
//! - A background [`Sealer`] links committed records into a SHA-256 hash
//!   chain (sequence numbers 1, 2, 3, … in the order it finds them) and keeps
//!   a chain head. Each sealed batch also puts the new head in the outbox
//!   (`audit.chain.sealed`), anchoring it outside the database. Sealing is
//!   kept off the request path so requests never queue behind the chain.
//! - [`verify`] recomputes the chain and names the first altered or missing
//!   record.
//!
//! The chain proves the log was not edited after sealing *relative to its
//! head*. Someone able to rewrite every row and the head could forge a new
//! consistent chain; comparing the head with the anchored `audit.chain.sealed`
//! events catches that too.
//!
//! [`migration::CreateAuditLog`] creates the tables (PostgreSQL or SQLite).

#![forbid(unsafe_code)]

mod append;
mod chain;
mod entity;
mod error;
pub mod migration;
mod record;
mod sealer;
mod verify;

pub use append::{append, append_alone};
pub use error::AuditError;
pub use record::{AuditRecord, Outcome};
pub use sealer::{Sealer, SealerConfig};
pub use verify::{ChainHead, Problem, VerifyReport, verify};

/// Event type (routing key) of the outbox event written with every record.
pub const RECORD_APPENDED: &str = "audit.record.appended";

/// Event type (routing key) of the outbox event written with every sealed
/// batch.
pub const CHAIN_SEALED: &str = "audit.chain.sealed";
