//! The certificate center through its gRPC handlers against real
//! PostgreSQL (and SQLite where the embedded mode depends on it): issuers
//! and keys, the trust list, certificate types, certificates and status
//! lists, codes and scans, consents. One test binary, a module per concern.

#![allow(clippy::unwrap_used)] // test helpers

mod support;

mod certificates;
mod codes;
mod consents;
mod issuers;
