//! A PostgreSQL cluster of a test's own, on a free loopback port, so a test
//! can crash and restart "the database" under a running service without
//! disturbing the shared server other tests use. Its data folder is kept
//! across restarts (a crash is followed by PostgreSQL's own recovery) and
//! removed when the node is dropped.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The OS user PostgreSQL runs as when the tests run as root (it refuses to
/// run as root), as `scripts/test-env.sh` does for the source cluster.
const POSTGRES_USER: &str = "postgres";

/// A private cluster (`initdb` + `pg_ctl` from the machine's package), with
/// trust authentication for the `postgres` role.
pub struct PostgresNode {
    dir: tempfile::TempDir,
    bin: PathBuf,
    port: u16,
    running: bool,
}

impl PostgresNode {
    /// Creates a cluster and starts it; panics with its log when it cannot.
    pub fn start() -> Self {
        let bin = postgres_bin();
        let dir = tempfile::Builder::new()
            .prefix("zt-pg-")
            .tempdir()
            .expect("temporary folder");
        if running_as_root() {
            let status = Command::new("chown")
                .args(["-R", POSTGRES_USER])
                .arg(dir.path())
                .status()
                .expect("chown runs");
            assert!(
                status.success(),
                "cannot hand the cluster folder to {POSTGRES_USER}"
            );
        }
        let node = Self {
            dir,
            bin,
            port: crate::free_port(),
            running: false,
        };
        let output = node
            .command("initdb")
            .arg("-D")
            .arg(node.data())
            .args(["-A", "trust", "-U", "postgres", "--no-sync"])
            .output()
            .expect("initdb runs");
        assert!(
            output.status.success(),
            "initdb failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        let mut node = node;
        node.restart();
        node
    }

    /// `postgres://postgres@127.0.0.1:<port>/<database>`.
    pub fn url(&self, database: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{database}", self.port)
    }

    /// The port the cluster listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// A clean shutdown (`-m fast`): sessions are ended, data is
    /// checkpointed.
    pub fn stop(&mut self) {
        self.shut_down("fast");
    }

    /// A crash (`-m immediate`): every backend dies at once without a
    /// checkpoint, as when the server loses power; the next start recovers
    /// from the write-ahead log.
    pub fn crash(&mut self) {
        self.shut_down("immediate");
    }

    /// Starts the cluster again on the same port with the same data and
    /// waits until it accepts connections.
    pub fn restart(&mut self) {
        if self.running {
            return;
        }
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c max_connections=100",
            self.port,
            self.dir.path().display()
        );
        let output = self
            .command("pg_ctl")
            .arg("-D")
            .arg(self.data())
            .arg("-l")
            .arg(self.log())
            .args(["-o", &options, "-w", "-t", "60", "start"])
            .output()
            .expect("pg_ctl runs");
        if !output.status.success() {
            panic!(
                "private PostgreSQL did not start: {}\n{}",
                String::from_utf8_lossy(&output.stderr),
                std::fs::read_to_string(self.log()).unwrap_or_default()
            );
        }
        self.running = true;
    }

    /// Whatever the server logged so far.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(self.log()).unwrap_or_default()
    }

    fn shut_down(&mut self, mode: &str) {
        if !self.running {
            return;
        }
        let _ = self
            .command("pg_ctl")
            .arg("-D")
            .arg(self.data())
            .args(["-m", mode, "-w", "-t", "30", "stop"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        self.running = false;
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn log(&self) -> PathBuf {
        self.dir.path().join("server.log")
    }

    /// `bin/<tool>`, run as the `postgres` user when the tests run as root.
    fn command(&self, tool: &str) -> Command {
        let program = self.bin.join(tool);
        if running_as_root() {
            let mut command = Command::new("runuser");
            command.args(["-u", POSTGRES_USER, "--"]).arg(program);
            command
        } else {
            Command::new(program)
        }
    }
}

impl Drop for PostgresNode {
    fn drop(&mut self) {
        // The data folder goes with the node: nothing is worth a checkpoint.
        self.shut_down("immediate");
    }
}

/// The newest `/usr/lib/postgresql/<version>/bin` with an `initdb`.
fn postgres_bin() -> PathBuf {
    let root = Path::new("/usr/lib/postgresql");
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir(root)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let version = entry.file_name().to_str()?.parse::<u32>().ok()?;
            let bin = entry.path().join("bin");
            bin.join("initdb").exists().then_some((version, bin))
        })
        .collect();
    versions.sort();
    versions.pop().map(|(_, bin)| bin).unwrap_or_else(|| {
        panic!(
            "no initdb under {}: apt-get install postgresql",
            root.display()
        )
    })
}

fn running_as_root() -> bool {
    std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accepts_connections(port: u16) -> bool {
        std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
    }

    #[test]
    fn a_private_cluster_crashes_and_comes_back_on_its_port() {
        let mut node = PostgresNode::start();
        assert!(accepts_connections(node.port()), "{}", node.log_text());
        node.crash();
        assert!(!accepts_connections(node.port()));
        node.restart();
        assert!(accepts_connections(node.port()), "{}", node.log_text());
        node.stop();
        assert!(!accepts_connections(node.port()));
    }
}
