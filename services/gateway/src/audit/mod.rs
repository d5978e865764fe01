//! The call audit: every front-door call recorded off the hot path in
//! batches ([`writer`]), and queried by the admin plane ([`api`]).
//!
//! - [`record`] — one call as the gateway records it;
//! - [`query`] — who sees which records, filters, usage buckets;
//! - [`store`] — the `call_audit` table ([`entity`]).

pub mod api;
pub mod entity;
pub mod query;
pub mod record;
pub mod store;
pub mod writer;

pub use api::AuditApi;
pub use query::{AuditFilter, AuditView, Granularity, TimeRange, UsageBucket, UsageQuery};
pub use record::{CallOutcome, CallProtocol, CallRecord};
pub use store::AuditStore;
pub use writer::{AuditStats, AuditTask, AuditWriter};
