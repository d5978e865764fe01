//! Harness for Zhongtai's integration tests. Everything here talks to real
//! backing services: an `etcd` process per test (so a test may kill or
//! restart it), a fresh PostgreSQL database per test, the RabbitMQ broker the
//! test environment provides (or a private node a test may stop and restart). When a backing service is missing the harness
//! fails loudly instead of letting a test pass without it.

#![forbid(unsafe_code)]

mod etcd;
mod health_server;
mod postgres;
mod postgres_node;
mod rabbit;
mod wal;

use std::future::Future;
use std::net::TcpListener;
use std::sync::Once;
use std::time::{Duration, Instant};

pub use etcd::EtcdServer;
pub use health_server::HealthServer;
pub use postgres::TestDatabase;
pub use postgres_node::PostgresNode;
pub use rabbit::RabbitNode;
pub use wal::{flushed_wal_position, parse_lsn};

/// RabbitMQ URL for tests (`ZT_TEST_AMQP_URL`, default the local broker).
pub fn amqp_url() -> String {
    std::env::var("ZT_TEST_AMQP_URL")
        .unwrap_or_else(|_| "amqp://guest:guest@127.0.0.1:5672/%2f".to_string())
}

/// Maintenance-database URL of the PostgreSQL server tests create their
/// databases on (`ZT_TEST_POSTGRES_URL`).
pub fn postgres_admin_url() -> String {
    std::env::var("ZT_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_string())
}

/// Maintenance-database URL of the PostgreSQL cluster with
/// `wal_level=logical` that plays departments' own databases
/// (`ZT_TEST_SOURCE_POSTGRES_URL`, started by `scripts/test-env.sh`).
pub fn source_postgres_url() -> String {
    std::env::var("ZT_TEST_SOURCE_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:55433/postgres".to_string())
}

/// A TCP port that was free a moment ago on 127.0.0.1.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .unwrap_or_else(|e| panic!("no free local port: {e}"))
}

/// Installs a test-friendly tracing subscriber once per test binary
/// (`RUST_LOG` controls it; default warnings only).
pub fn init_tracing() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let filter = tracing_subscriber::EnvFilter::try_from_default_env()
            .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
        let _ = tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_test_writer()
            .try_init();
    });
}

/// Polls `check` every 20 ms until it returns `Some`, or panics with `what`
/// after `timeout`.
pub async fn eventually<T, F, Fut>(timeout: Duration, what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let start = Instant::now();
    loop {
        if let Some(value) = check().await {
            return value;
        }
        if start.elapsed() > timeout {
            panic!("timed out after {timeout:?} waiting for {what}");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
