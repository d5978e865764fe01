//! The approval center through its gRPC handler against real PostgreSQL
//! (and SQLite where the embedded mode depends on it): service items,
//! versioned processes, applications through every kind of stage, who may
//! act and see, validation of every request, and SLA timers across
//! instances and restarts. One test binary, a module per concern.

#![allow(clippy::unwrap_used)] // test helpers

mod support;

mod applications;
mod authority;
mod processes;
mod routing;
mod service_items;
mod sla;
mod validation;
mod validation_applications;
mod visibility;
