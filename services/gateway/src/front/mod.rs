//! The integrators' front door: HTTP/JSON capabilities and gRPC
//! passthrough on one port (HTTP/1.1 and HTTP/2), signed, limited, shed
//! under overload, forwarded through discovery, audited.
//!
//! Besides the capabilities it answers:
//! - `GET /gateway/v1/openapi.json` and `/gateway/v1/openapi.yaml` — the
//!   OpenAPI document of the published capabilities (no signature needed);
//! - `GET /gateway/v1/usage` — the calling app's quota usage (signed);
//! - `GET /healthz` — 200 while the front door serves.
//!
//! Capability routes start with `/v<digits>/`, so they never meet these.

pub(crate) mod builtin;
mod concurrency;
mod consent;
mod door;
mod forward;
mod metrics;
mod refusal;
pub mod snapshot;
pub mod tokens;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{ConnectInfo, State};
use tokio_util::sync::CancellationToken;

pub use concurrency::ConcurrencyCaps;
pub use consent::ConsentCheck;
pub use door::FrontDoor;
pub use forward::Backends;
pub use refusal::{ERROR_DOMAIN, Refusal};
pub use snapshot::{Snapshot, SnapshotCell};
pub use tokens::AppTokens;

/// Serves `door` on `listener` until `stop`, then lets calls in progress
/// finish.
pub async fn serve(
    door: Arc<FrontDoor>,
    listener: tokio::net::TcpListener,
    stop: CancellationToken,
) {
    let app = axum::Router::new().fallback(handle).with_state(door);
    let served = axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(async move { stop.cancelled().await })
    .await;
    if let Err(e) = served {
        tracing::error!(error = %e, "the gateway's front door stopped");
    }
}

async fn handle(
    State(door): State<Arc<FrontDoor>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    request: http::Request<Body>,
) -> http::Response<Body> {
    let request = match builtin::answer(&door, request).await {
        Ok(response) => return response,
        Err(request) => request,
    };
    metrics::METRICS.in_flight.inc();
    let response = door.handle(request, Some(peer)).await;
    metrics::METRICS.in_flight.dec();
    response
}
