//! The exchange center against real PostgreSQL (the platform database, and a
//! logical-replication cluster playing the department's own database),
//! RabbitMQ and etcd; SQLite where the embedded mode depends on it.

#![allow(clippy::unwrap_used)] // test helpers

mod support;

mod capture;
mod enclaves;
mod journal;
mod lines;
mod runner;
