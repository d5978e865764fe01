//! A real gRPC server for tests of clients and balancing: the standard
//! health service on a free loopback port, counting the calls it receives.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tower::ServiceBuilder;

/// A gRPC health server on a free port that counts the calls it receives.
pub struct HealthServer {
    pub address: SocketAddr,
    hits: Arc<AtomicUsize>,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl HealthServer {
    pub async fn start() -> Self {
        Self::serve(None).await
    }

    /// The same over TLS (e.g. mutual TLS with client certificates required).
    pub async fn start_with_tls(tls: tonic::transport::ServerTlsConfig) -> Self {
        Self::serve(Some(tls)).await
    }

    async fn serve(tls: Option<tonic::transport::ServerTlsConfig>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .unwrap_or_else(|e| panic!("bind: {e}"));
        let address = listener
            .local_addr()
            .unwrap_or_else(|e| panic!("addr: {e}"));
        let hits = Arc::new(AtomicUsize::new(0));
        let counter = hits.clone();
        let (_reporter, health) = tonic_health::server::health_reporter();
        let (shutdown, stop) = oneshot::channel::<()>();
        let counting = ServiceBuilder::new()
            .map_request(move |request: http::Request<tonic::body::Body>| {
                counter.fetch_add(1, Ordering::SeqCst);
                request
            })
            .into_inner();
        let mut builder = tonic::transport::Server::builder();
        if let Some(tls) = tls {
            builder = builder
                .tls_config(tls)
                .unwrap_or_else(|e| panic!("server tls: {e}"));
        }
        let task = tokio::spawn(async move {
            let served = builder
                .layer(counting)
                .add_service(health)
                .serve_with_incoming_shutdown(
                    tokio_stream::wrappers::TcpListenerStream::new(listener),
                    async {
                        let _ = stop.await;
                    },
                )
                .await;
            if let Err(error) = served {
                panic!("test server failed: {error}");
            }
        });
        Self {
            address,
            hits,
            shutdown: Some(shutdown),
            task: Some(task),
        }
    }

    pub fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }

    /// Stops accepting, closes connections, and waits until the port is shut.
    pub async fn stop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = tokio::time::timeout(Duration::from_secs(10), task).await;
        }
    }
}
