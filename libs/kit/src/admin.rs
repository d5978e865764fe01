//! The operator-facing HTTP endpoint of a process: `/metrics` (Prometheus
//! text format) and `/healthz` (the process is alive; readiness is the gRPC
//! health check).

use std::net::SocketAddr;

use axum::Router;
use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;
use axum::routing::get;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::host::HostError;

/// Binds `listen` and serves until `shutdown`; returns the bound address.
pub async fn serve(listen: &str, shutdown: CancellationToken) -> Result<SocketAddr, HostError> {
    let listener = TcpListener::bind(listen)
        .await
        .map_err(|source| HostError::Bind {
            address: listen.to_string(),
            source,
        })?;
    let local_addr = listener.local_addr().map_err(|source| HostError::Bind {
        address: listen.to_string(),
        source,
    })?;
    let app = Router::new()
        .route("/metrics", get(metrics))
        .route("/healthz", get(|| async { "ok" }));
    tokio::spawn(async move {
        let result = axum::serve(listener, app)
            .with_graceful_shutdown(shutdown.cancelled_owned())
            .await;
        if let Err(e) = result {
            tracing::warn!(error = %e, "metrics endpoint stopped");
        }
    });
    tracing::info!(address = %local_addr, "metrics endpoint listening");
    Ok(local_addr)
}

async fn metrics() -> impl IntoResponse {
    (
        [(
            CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        zhongtai_telemetry::metrics::encode(),
    )
}
