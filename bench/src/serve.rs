//! The system-under-test process: the backend, nginx in front of it, and
//! (with the `gateway` feature) the gateway. It reports its addresses as
//! one JSON line on stdout and runs until its stdin closes, so it never
//! outlives the driver that started it.

use std::net::SocketAddr;

use anyhow::Context as _;
use serde::{Deserialize, Serialize};
use std::io::Read as _;
use tokio::net::TcpListener;

use crate::{backend, nginx};

/// The gateway's front door and the credential the driver signs with.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct GatewayEndpoint {
    pub addr: SocketAddr,
    pub app_key: String,
    pub secret: String,
}

/// What the serve process reports once everything answers.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Ready {
    pub backend: SocketAddr,
    pub nginx: SocketAddr,
    /// Absent when built without the `gateway` feature or started with
    /// `--no-gateway`.
    pub gateway: Option<GatewayEndpoint>,
    /// nginx's process id, so the driver can stop it even if this process
    /// dies first.
    pub nginx_pid: Option<u32>,
}

/// What to start.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    pub with_gateway: bool,
    /// The gateway's `max_in_flight`; `None` keeps its default.
    #[cfg_attr(not(feature = "gateway"), allow(dead_code))]
    pub max_in_flight: Option<usize>,
}

/// Starts everything, prints [`Ready`], and runs until stdin closes.
pub async fn run(options: ServeOptions) -> anyhow::Result<()> {
    let dir = tempfile::Builder::new()
        .prefix("zt-bench-")
        .tempdir()
        .context("cannot create a scratch folder")?;
    let backend_listener = TcpListener::bind("127.0.0.1:0").await?;
    let backend_addr = backend_listener.local_addr()?;
    let (stop_backend, backend_stopped) = tokio::sync::oneshot::channel::<()>();
    let backend_task = tokio::spawn(backend::serve(backend_listener, async {
        let _ = backend_stopped.await;
    }));

    let nginx_addr = free_port().await?;
    let nginx_child = nginx::start(dir.path(), nginx_addr, backend_addr).await?;

    let gateway = start_gateway(&options, dir.path(), backend_addr).await?;
    let ready = Ready {
        backend: backend_addr,
        nginx: nginx_addr,
        gateway: gateway.as_ref().map(|running| running.endpoint.clone()),
        nginx_pid: nginx_child.id(),
    };
    println!("{}", serde_json::to_string(&ready)?);

    wait_for_stdin_to_close().await;
    drop(gateway);
    drop(nginx_child);
    let _ = stop_backend.send(());
    let _ = backend_task.await;
    Ok(())
}

async fn free_port() -> anyhow::Result<SocketAddr> {
    let probe = TcpListener::bind("127.0.0.1:0").await?;
    Ok(probe.local_addr()?)
}

async fn wait_for_stdin_to_close() {
    let _ = tokio::task::spawn_blocking(|| {
        let mut stdin = std::io::stdin();
        let mut buffer = [0u8; 64];
        loop {
            match stdin.read(&mut buffer) {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    })
    .await;
}

#[cfg(feature = "gateway")]
async fn start_gateway(
    options: &ServeOptions,
    dir: &std::path::Path,
    backend: SocketAddr,
) -> anyhow::Result<Option<crate::gateway::RunningGateway>> {
    if !options.with_gateway {
        return Ok(None);
    }
    crate::gateway::start(dir, backend, options.max_in_flight)
        .await
        .map(Some)
}

/// Stands in for the gateway in builds without it.
#[cfg(not(feature = "gateway"))]
struct NoGateway {
    endpoint: GatewayEndpoint,
}

#[cfg(not(feature = "gateway"))]
async fn start_gateway(
    options: &ServeOptions,
    _dir: &std::path::Path,
    _backend: SocketAddr,
) -> anyhow::Result<Option<NoGateway>> {
    if options.with_gateway {
        eprintln!("built without the `gateway` feature: measuring the direct and nginx paths only");
    }
    Ok(None)
}
