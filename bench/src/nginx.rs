//! nginx as the reference proxy: `grpc_pass` to the backend with an
//! upstream keepalive pool, run in the foreground as a child process.

use std::net::SocketAddr;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use anyhow::Context as _;
use tokio::process::{Child, Command};

/// Idle upstream connections nginx keeps (it uses one per call in flight).
const UPSTREAM_KEEPALIVE: usize = 128;

/// The configuration: one worker, no logs on the hot path, every temp path
/// under `prefix` so nothing outside the run's folder is touched.
pub fn config(prefix: &Path, listen: SocketAddr, backend: SocketAddr) -> String {
    let prefix = prefix.display();
    format!(
        "daemon off;
master_process off;
worker_processes 1;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    client_body_temp_path {prefix}/client_body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;
    upstream backend {{
        server {backend};
        keepalive {UPSTREAM_KEEPALIVE};
        keepalive_requests 100000;
        keepalive_timeout 60s;
    }}
    server {{
        listen {listen} http2;
        keepalive_requests 100000;
        http2_max_concurrent_streams 1024;
        location / {{
            grpc_pass grpc://backend;
        }}
    }}
}}
"
    )
}

/// Writes the configuration under `prefix` and starts nginx; it is killed
/// when the returned child is dropped.
pub async fn start(
    prefix: &Path,
    listen: SocketAddr,
    backend: SocketAddr,
) -> anyhow::Result<Child> {
    let conf = prefix.join("nginx.conf");
    std::fs::write(&conf, config(prefix, listen, backend))
        .with_context(|| format!("cannot write {}", conf.display()))?;
    let child = Command::new(binary())
        .arg("-p")
        .arg(prefix)
        .arg("-c")
        .arg(&conf)
        .arg("-e")
        .arg(prefix.join("error.log"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .context("cannot start nginx (install it: apt-get install -y nginx-light)")?;
    wait_until_listening(listen, prefix).await?;
    Ok(child)
}

/// The nginx executable: `$ZT_BENCH_NGINX`, else `nginx` on the `PATH` or
/// in `/usr/sbin`.
fn binary() -> String {
    if let Ok(path) = std::env::var("ZT_BENCH_NGINX") {
        return path;
    }
    if Path::new("/usr/sbin/nginx").exists() {
        "/usr/sbin/nginx".into()
    } else {
        "nginx".into()
    }
}

async fn wait_until_listening(listen: SocketAddr, prefix: &Path) -> anyhow::Result<()> {
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(listen).await.is_ok() {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let log = std::fs::read_to_string(prefix.join("error.log")).unwrap_or_default();
    anyhow::bail!("nginx is not listening on {listen} after 5 s; its error log:\n{log}")
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn the_config_passes_grpc_to_the_backend_over_a_keepalive_pool() {
        let listen: SocketAddr = "127.0.0.1:7001".parse().unwrap();
        let backend: SocketAddr = "127.0.0.1:7002".parse().unwrap();
        let text = config(Path::new("/tmp/run"), listen, backend);
        assert!(text.contains("listen 127.0.0.1:7001 http2;"));
        assert!(text.contains("server 127.0.0.1:7002;"));
        assert!(text.contains("grpc_pass grpc://backend;"));
        assert!(text.contains("keepalive 128;"));
        assert!(text.contains("keepalive_requests 100000;"));
        assert!(text.contains("daemon off;"));
        assert!(text.contains("pid /tmp/run/nginx.pid;"));
    }
}
