//! A private etcd server process per test, on free loopback ports, with a
//! temporary data directory. Tests stop, kill and restart it to exercise
//! discovery under etcd failure.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tempfile::TempDir;

/// A running (or stopped) etcd server owned by one test.
pub struct EtcdServer {
    binary: PathBuf,
    data_dir: TempDir,
    client_port: u16,
    peer_port: u16,
    child: Option<Child>,
}

impl EtcdServer {
    /// Starts etcd and waits until it reports healthy.
    ///
    /// The binary comes from `ZT_ETCD_BIN`, else `etcd` on `PATH`
    /// (`scripts/test-env.sh` installs it).
    pub fn start() -> Self {
        let binary = std::env::var_os("ZT_ETCD_BIN")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("etcd"));
        let data_dir = tempfile::Builder::new()
            .prefix("zt-etcd-")
            .tempdir()
            .unwrap_or_else(|e| panic!("cannot create etcd data dir: {e}"));
        let mut server = Self {
            binary,
            data_dir,
            client_port: crate::free_port(),
            peer_port: crate::free_port(),
            child: None,
        };
        server.spawn();
        server
    }

    /// `http://127.0.0.1:<port>`, the endpoint clients connect to.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.client_port)
    }

    /// Stops the server gracefully (SIGTERM is not needed for the test's
    /// purpose: a kill stops it just as dead for clients). Data is kept.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the server again on the same ports and data directory.
    pub fn restart(&mut self) {
        self.stop();
        self.spawn();
    }

    /// Starts the server again on the same ports with an empty data
    /// directory: every key and lease is gone, as after losing the cluster's
    /// state. Registrations must notice and re-register by themselves.
    pub fn wipe_and_restart(&mut self) {
        self.stop();
        if let Ok(entries) = std::fs::read_dir(self.data_dir.path()) {
            for entry in entries.flatten() {
                let _ = std::fs::remove_dir_all(entry.path());
            }
        }
        self.spawn();
    }

    /// True while the process runs.
    pub fn is_running(&self) -> bool {
        self.child.is_some()
    }

    fn spawn(&mut self) {
        let client = format!("http://127.0.0.1:{}", self.client_port);
        let peer = format!("http://127.0.0.1:{}", self.peer_port);
        let child = Command::new(&self.binary)
            .args([
                "--name",
                "zt-test",
                "--logger",
                "zap",
                "--log-level",
                "error",
            ])
            .arg("--data-dir")
            .arg(self.data_dir.path())
            .args(["--listen-client-urls", &client])
            .args(["--advertise-client-urls", &client])
            .args(["--listen-peer-urls", &peer])
            .args(["--initial-advertise-peer-urls", &peer])
            .args(["--initial-cluster", &format!("zt-test={peer}")])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot start etcd ({}): {e}; run scripts/test-env.sh or set ZT_ETCD_BIN",
                    self.binary.display()
                )
            });
        self.child = Some(child);
        self.wait_healthy(Duration::from_secs(15));
    }

    fn wait_healthy(&mut self, timeout: Duration) {
        let start = Instant::now();
        while start.elapsed() < timeout {
            if let Some(child) = self.child.as_mut()
                && let Ok(Some(status)) = child.try_wait()
            {
                panic!("etcd exited during start-up: {status}");
            }
            if health_ok(self.client_port) {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!(
            "etcd on port {} not healthy after {timeout:?}",
            self.client_port
        );
    }
}

impl Drop for EtcdServer {
    fn drop(&mut self) {
        self.stop();
    }
}

fn health_ok(port: u16) -> bool {
    let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_millis(500)));
    let request = format!("GET /health HTTP/1.0\r\nHost: 127.0.0.1:{port}\r\n\r\n");
    if stream.write_all(request.as_bytes()).is_err() {
        return false;
    }
    let mut response = String::new();
    let _ = stream.read_to_string(&mut response);
    response.contains("\"health\":\"true\"")
}
