//! A RabbitMQ node of a test's own, on free loopback ports, so a test can
//! stop and restart "the broker" without disturbing the shared one other
//! tests use. Durable queues and persistent messages survive its restarts
//! (its data folder is kept until the node is dropped).

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// A private broker node (`rabbitmq-server` from the machine's package).
pub struct RabbitNode {
    dir: tempfile::TempDir,
    name: String,
    port: u16,
    dist_port: u16,
    running: bool,
}

impl RabbitNode {
    /// Starts a node and waits until it accepts connections; panics with
    /// the node's log when it cannot.
    pub fn start() -> Self {
        let dir = tempfile::Builder::new()
            .prefix("zt-rabbit-")
            .tempdir()
            .expect("temporary folder");
        let port = crate::free_port();
        let dist_port = crate::free_port();
        let name = format!("zt-test-{port}@localhost");
        for sub in ["mnesia", "log"] {
            std::fs::create_dir_all(dir.path().join(sub)).expect("node folders");
        }
        std::fs::write(dir.path().join("enabled_plugins"), "[].\n").expect("plugins file");
        std::fs::write(
            dir.path().join("rabbitmq.conf"),
            format!("listeners.tcp.1 = 127.0.0.1:{port}\nlisteners.ssl = none\n"),
        )
        .expect("config file");
        // As root, rabbitmq-server drops to the rabbitmq user, which must
        // own the node's folders.
        let _ = Command::new("chown")
            .args(["-R", "rabbitmq"])
            .arg(dir.path())
            .stderr(Stdio::null())
            .status();
        let mut node = Self {
            dir,
            name,
            port,
            dist_port,
            running: false,
        };
        node.restart();
        node
    }

    /// `amqp://guest:guest@127.0.0.1:<port>/%2f`.
    pub fn url(&self) -> String {
        format!("amqp://guest:guest@127.0.0.1:{}/%2f", self.port)
    }

    /// Stops the node (like a broker outage); its data stays.
    pub fn stop(&mut self) {
        if !self.running {
            return;
        }
        let _ = Command::new("rabbitmqctl")
            .args(["-q", "-n", &self.name, "stop"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        let deadline = Instant::now() + Duration::from_secs(30);
        while port_open(self.port) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(100));
        }
        self.running = false;
    }

    /// Starts the node again on the same port with the same data.
    pub fn restart(&mut self) {
        if self.running {
            return;
        }
        let path = |sub: &str| -> PathBuf { self.dir.path().join(sub) };
        let status = Command::new("rabbitmq-server")
            .arg("-detached")
            .env("RABBITMQ_NODENAME", &self.name)
            .env("RABBITMQ_DIST_PORT", self.dist_port.to_string())
            .env("RABBITMQ_CONFIG_FILE", path("rabbitmq.conf"))
            .env("RABBITMQ_MNESIA_BASE", path("mnesia"))
            .env("RABBITMQ_LOG_BASE", path("log"))
            .env("RABBITMQ_ENABLED_PLUGINS_FILE", path("enabled_plugins"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .expect("rabbitmq-server (apt-get install rabbitmq-server) is required for this test");
        assert!(status.success(), "rabbitmq-server -detached failed");
        let deadline = Instant::now() + Duration::from_secs(60);
        while !port_open(self.port) {
            if Instant::now() > deadline {
                let log = std::fs::read_to_string(path("log").join(format!("{}.log", self.name)))
                    .unwrap_or_default();
                panic!("private RabbitMQ node did not start within 60 s:\n{log}");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        self.running = true;
    }
}

fn port_open(port: u16) -> bool {
    std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
}

impl Drop for RabbitNode {
    fn drop(&mut self) {
        self.stop();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_private_node_stops_and_restarts_on_its_port() {
        let mut node = RabbitNode::start();
        assert!(port_open(node.port));
        node.stop();
        assert!(!port_open(node.port));
        node.restart();
        assert!(port_open(node.port), "{}", node.url());
    }
}
