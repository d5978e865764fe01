//! Tests of the consents part (三解锁): a home-service platform's app asks
//! for a nanny's qualification and health certificates for a hiring check,
//! 30 days, 3 reads; the human-resources department (custodian), the
//! platform and the nanny unlock it; reads are scoped, counted, logged and
//! refused past the limit, after revocation, after the period, and for
//! anyone but the app.

mod concurrency;
mod expiry;
mod reading;
mod records;
mod sqlite;
mod unlocking;
mod validation;
mod world;
