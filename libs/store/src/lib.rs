//! Database connections (PostgreSQL or SQLite by URL), transactions and per-service migrations on sea-orm.

#![forbid(unsafe_code)]
