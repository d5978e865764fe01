//! Harness for cross-service scenarios: runs the real `zhongtai` binary as
//! separate processes (so a test can SIGKILL one), reads their logs, and
//! checks them with clients from outside the project (grpcio in Python).

#![forbid(unsafe_code)]

pub mod embedded;
mod security;

pub use security::{
    BearerToken, Security, TEST_GATEWAY_SECRET_KEY, TEST_KEY_ENCRYPTION_KEY, TEST_MASKING_KEY,
};

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The `zhongtai` binary built beside this test binary.
pub fn zhongtai_bin() -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    // target/<profile>/deps/<test> → target/<profile>/zhongtai
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("test binary lives in target/<profile>/deps");
    let bin = profile_dir.join("zhongtai");
    assert!(
        bin.exists(),
        "{} is missing: build it first (`cargo build -p zhongtai`, done by `make test`)",
        bin.display()
    );
    bin
}

/// The Python interpreter with grpcio installed (`ZT_TEST_PYTHON`, set by
/// `scripts/test-env.sh`).
pub fn python() -> String {
    std::env::var("ZT_TEST_PYTHON").unwrap_or_else(|_| {
        panic!("ZT_TEST_PYTHON is not set: run the tests through `make test` (scripts/test-env.sh provides a grpcio client)")
    })
}

/// Runs `tests/python/grpc_probe.py` and parses its JSON answer.
pub fn grpc_probe(args: &[&str]) -> serde_json::Value {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("python/grpc_probe.py");
    let output = Command::new(python())
        .arg(script)
        .args(args)
        .output()
        .expect("python runs");
    assert!(
        output.status.success(),
        "grpc_probe {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("grpc_probe prints JSON")
}

/// A running `zhongtai` process whose stdout and stderr are collected.
pub struct Process {
    name: String,
    child: Child,
    output: Arc<Mutex<String>>,
}

impl Process {
    /// Starts `zhongtai <args>` with `envs` added to a clean-ish environment
    /// (inherited variables that would change its configuration removed).
    pub fn spawn(name: &str, args: &[&str], envs: &[(&str, String)]) -> Self {
        let mut command = Command::new(zhongtai_bin());
        command
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (key, _) in std::env::vars() {
            if key.starts_with("ZHONGTAI_")
                || [
                    "DATABASE_URL",
                    "ETCD_ENDPOINTS",
                    "AMQP_URL",
                    "OTEL_EXPORTER_OTLP_ENDPOINT",
                ]
                .contains(&key.as_str())
            {
                command.env_remove(key);
            }
        }
        command.env("LOG_FORMAT", "compact").env("RUST_LOG", "info");
        for (key, value) in envs {
            command.env(key, value);
        }
        let mut child = command.spawn().expect("zhongtai starts");
        let output = Arc::new(Mutex::new(String::new()));
        for stream in [
            child
                .stdout
                .take()
                .map(|s| Box::new(s) as Box<dyn std::io::Read + Send>),
            child
                .stderr
                .take()
                .map(|s| Box::new(s) as Box<dyn std::io::Read + Send>),
        ]
        .into_iter()
        .flatten()
        {
            let output = output.clone();
            let name = name.to_string();
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines().map_while(Result::ok) {
                    if std::env::var_os("ZT_TEST_SHOW_LOGS").is_some() {
                        eprintln!("[{name}] {line}");
                    }
                    let mut all = output.lock().unwrap_or_else(|p| p.into_inner());
                    all.push_str(&line);
                    all.push('\n');
                }
            });
        }
        Self {
            name: name.to_string(),
            child,
            output,
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Everything the process printed so far.
    pub fn output(&self) -> String {
        self.output
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Waits until the output contains `needle`; panics with the output
    /// after `timeout`, or when the process exits first.
    pub fn wait_for_output(&mut self, needle: &str, timeout: Duration) {
        let start = Instant::now();
        while !self.output().contains(needle) {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!(
                    "{} exited ({status}) before printing {needle:?}:\n{}",
                    self.name,
                    self.output()
                );
            }
            assert!(
                start.elapsed() < timeout,
                "{} did not print {needle:?} within {timeout:?}:\n{}",
                self.name,
                self.output()
            );
            std::thread::sleep(Duration::from_millis(25));
        }
    }

    fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .args([signal, &self.child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(status.success(), "kill {signal} {} failed", self.child.id());
    }

    /// SIGTERM: the graceful path.
    pub fn terminate(&self) {
        self.signal("-TERM");
    }

    /// SIGKILL: the crash path; waits until the process is gone.
    pub fn kill(&mut self) {
        self.signal("-KILL");
        let _ = self.child.wait();
    }

    /// Waits for the process to exit.
    pub fn wait_exit(&mut self, timeout: Duration) -> ExitStatus {
        let start = Instant::now();
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                // Let the reader threads drain the pipes.
                std::thread::sleep(Duration::from_millis(50));
                return status;
            }
            assert!(
                start.elapsed() < timeout,
                "{} still running after {timeout:?}:\n{}",
                self.name,
                self.output()
            );
            std::thread::sleep(Duration::from_millis(25));
        }
    }

    /// SIGTERM, then checks the process exits 0 within `timeout` without
    /// having panicked.
    pub fn stop_gracefully(&mut self, timeout: Duration) {
        self.terminate();
        let status = self.wait_exit(timeout);
        let output = self.output();
        assert!(status.success(), "{} exited {status}:\n{output}", self.name);
        assert!(
            !output.contains("panicked"),
            "{} panicked:\n{output}",
            self.name
        );
    }

    /// True while the process runs.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        if self.is_running() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}
