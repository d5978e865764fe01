//! A TCP proxy in front of the real broker, so a test can break the
//! connection of a bus at an exact moment: hold back what clients send
//! (`freeze_upstream`), cut every connection (`sever`), or turn new
//! connections away (`refuse`), as a network failure or broker restart would.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use zhongtai_testkit::amqp_url;

struct State {
    upstream: SocketAddr,
    connections: Mutex<CancellationToken>,
    frozen: watch::Sender<bool>,
    refusing: AtomicBool,
}

pub struct TcpProxy {
    address: SocketAddr,
    state: Arc<State>,
    acceptor: JoinHandle<()>,
}

impl TcpProxy {
    /// A proxy in front of the broker at `ZT_TEST_AMQP_URL`.
    pub async fn start() -> Self {
        let upstream = tokio::net::lookup_host(broker_authority(&amqp_url()))
            .await
            .expect("broker host resolves")
            .next()
            .expect("broker host has an address");
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("proxy binds");
        let address = listener.local_addr().expect("proxy address");
        let state = Arc::new(State {
            upstream,
            connections: Mutex::new(CancellationToken::new()),
            frozen: watch::channel(false).0,
            refusing: AtomicBool::new(false),
        });
        let acceptor = tokio::spawn(accept(listener, state.clone()));
        Self {
            address,
            state,
            acceptor,
        }
    }

    /// The broker URL with the proxy in place of the broker's address.
    pub fn url(&self) -> String {
        let url = amqp_url();
        let authority = broker_authority(&url);
        url.replacen(&authority, &self.address.to_string(), 1)
    }

    /// From now on, bytes clients send are held back (never forwarded if
    /// the connection is severed before [`thaw`](Self::thaw)).
    pub fn freeze_upstream(&self) {
        self.state.frozen.send_replace(true);
    }

    /// Forwards held-back bytes again.
    pub fn thaw(&self) {
        self.state.frozen.send_replace(false);
    }

    /// Closes every proxied connection, dropping held-back bytes, and thaws.
    pub fn sever(&self) {
        let old = std::mem::replace(
            &mut *self.state.connections.lock().expect("connections lock"),
            CancellationToken::new(),
        );
        old.cancel();
        self.thaw();
    }

    /// While true, new connections are closed as soon as they arrive.
    pub fn refuse(&self, refusing: bool) {
        self.state.refusing.store(refusing, Ordering::SeqCst);
    }
}

impl Drop for TcpProxy {
    fn drop(&mut self) {
        self.acceptor.abort();
        self.sever();
    }
}

/// `host:port` of an AMQP URL (port 5672 when absent).
fn broker_authority(url: &str) -> String {
    let after_scheme = url.split_once("://").map_or(url, |(_, rest)| rest);
    let authority = after_scheme.split('/').next().unwrap_or(after_scheme);
    let host_port = authority
        .rsplit_once('@')
        .map_or(authority, |(_, host)| host);
    if host_port.contains(':') {
        host_port.to_owned()
    } else {
        format!("{host_port}:5672")
    }
}

async fn accept(listener: TcpListener, state: Arc<State>) {
    while let Ok((client, _)) = listener.accept().await {
        if state.refusing.load(Ordering::SeqCst) {
            drop(client);
            continue;
        }
        let Ok(upstream) = TcpStream::connect(state.upstream).await else {
            continue;
        };
        let cancel = state
            .connections
            .lock()
            .expect("connections lock")
            .child_token();
        let (client_read, client_write) = client.into_split();
        let (upstream_read, upstream_write) = upstream.into_split();
        tokio::spawn(pipe(
            client_read,
            upstream_write,
            cancel.clone(),
            Some(state.frozen.subscribe()),
        ));
        tokio::spawn(pipe(upstream_read, client_write, cancel, None));
    }
}

/// Copies one direction until either side closes or the connection is
/// severed; the connection's token ends the other direction too.
async fn pipe(
    mut from: OwnedReadHalf,
    mut to: OwnedWriteHalf,
    cancel: CancellationToken,
    mut frozen: Option<watch::Receiver<bool>>,
) {
    let mut buffer = vec![0u8; 16 * 1024];
    loop {
        let read = tokio::select! {
            biased;
            _ = cancel.cancelled() => break,
            read = from.read(&mut buffer) => read,
        };
        let count = match read {
            Ok(0) | Err(_) => break,
            Ok(count) => count,
        };
        if let Some(frozen) = frozen.as_mut() {
            let thawed = tokio::select! {
                biased;
                _ = cancel.cancelled() => false,
                thawed = frozen.wait_for(|frozen| !*frozen) => thawed.is_ok(),
            };
            if !thawed {
                break;
            }
        }
        if to.write_all(&buffer[..count]).await.is_err() {
            break;
        }
    }
    cancel.cancel();
}
