//! The admin plane over a migrated database, on SQLite and PostgreSQL:
//! apps, credentials, capabilities, policies and the configuration every
//! gateway instance loads.

// Helpers run only inside tests, where a panic is a failure with a location.
#![allow(clippy::unwrap_used)]
// The tests read stored rows directly to see what is (and is not) kept.
#![allow(clippy::disallowed_methods)]

#[path = "admin/apps.rs"]
mod apps;
#[path = "admin/capabilities.rs"]
mod capabilities;
#[path = "admin/credentials.rs"]
mod credentials;
#[path = "admin/fixture.rs"]
mod fixture;
#[path = "admin/policies.rs"]
mod policies;
