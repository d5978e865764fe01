//! The catalog center through its gRPC handler against real databases
//! (PostgreSQL, and SQLite where the embedded mode depends on it), with the
//! approval center replaced by a test double of the review port and its
//! decisions delivered as the events the catalog consumes.

#![allow(clippy::unwrap_used)] // test helpers

mod support;

mod expiry;
mod listing;
mod policy;
mod reads;
mod refusals;
mod registration;
mod reviews;
mod revocation;
mod schema_guard;
mod search;
mod updates;
mod usage;
mod withdrawal;
