//! Shared fixtures of the integration tests.

pub mod broker;
pub mod db;
pub mod events;
pub mod handler;
pub mod proxy;

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use opentelemetry::trace::TracerProvider as _;
use sea_orm::DatabaseConnection;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tracing_subscriber::Layer as _;
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;
use zhongtai_events::{EventBus, Relay, RelayConfig};

/// Upper bound for anything a test waits for; only there to turn a hang
/// into a failure.
pub const WAIT: Duration = Duration::from_secs(30);

/// Installs, once per test binary, a subscriber that logs (per `RUST_LOG`,
/// default warnings) and builds OpenTelemetry spans, so trace context can be
/// read from spans the way production sees it.
pub fn init_tracing() {
    static PROVIDER: OnceLock<opentelemetry_sdk::trace::SdkTracerProvider> = OnceLock::new();
    let mut installed = false;
    let provider = PROVIDER.get_or_init(|| {
        installed = true;
        opentelemetry_sdk::trace::SdkTracerProvider::builder().build()
    });
    if !installed {
        return;
    }
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let logs = tracing_subscriber::fmt::layer()
        .with_test_writer()
        .with_filter(filter);
    let spans = tracing_opentelemetry::layer()
        .with_tracer(provider.tracer("zhongtai-events-tests"))
        .with_filter(tracing_subscriber::filter::LevelFilter::INFO);
    let _ = tracing_subscriber::registry()
        .with(logs)
        .with(spans)
        .try_init();
}

/// Quick rounds so tests do not wait for the relay's poll.
pub fn relay_config() -> RelayConfig {
    RelayConfig {
        batch_size: 4,
        poll_interval: Duration::from_millis(100),
        backoff_initial: Duration::from_millis(50),
        backoff_max: Duration::from_millis(500),
        ..RelayConfig::default()
    }
}

/// A relay running in the background until the token is cancelled.
pub struct RunningRelay {
    pub shutdown: CancellationToken,
    pub task: JoinHandle<()>,
    pub notifier: Arc<tokio::sync::Notify>,
}

impl RunningRelay {
    pub fn spawn(db: &DatabaseConnection, bus: Arc<dyn EventBus>, config: RelayConfig) -> Self {
        let relay = Relay::new(db.clone(), bus, config);
        let notifier = relay.notifier();
        let shutdown = CancellationToken::new();
        let task = tokio::spawn(relay.run(shutdown.clone()));
        Self {
            shutdown,
            task,
            notifier,
        }
    }

    pub async fn stop(self) {
        self.shutdown.cancel();
        tokio::time::timeout(WAIT, self.task)
            .await
            .expect("relay stops when cancelled")
            .expect("relay task does not panic");
    }
}
