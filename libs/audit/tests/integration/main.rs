//! Integration tests of the audit log, each case run on a fresh PostgreSQL
//! database (`ZT_TEST_POSTGRES_URL`) and on a SQLite file.

mod chain;
mod concurrency;
mod migration;
mod support;
mod tampering;
