//! `zhongtai serve <service>` as a child process of the benchmark: a
//! development token issuer whose JWKS the service trusts, TLS off (the
//! benchmark runs on loopback), the log in a file to wait on and to quote
//! when something fails.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use tokio::process::{Child, Command};
use zhongtai_kit::auth::{DEV_ISSUER, DevIssuer};
use zhongtai_kit::{Role, TenantId};

use crate::process::SERVER_CORE;

/// The certificate center's key encryption key here (base64 of 32 bytes).
const KEY_ENCRYPTION_KEY: &str = "YmVuY2gta2V5LWVuY3J5cHRpb24ta2V5LTMyLWJ5dGU=";
/// The log line a service writes once it is in discovery.
pub const REGISTERED: &str = "registered in discovery";
/// How much of a log an error quotes.
const LOG_TAIL_BYTES: usize = 4_000;

/// A development token issuer in a temporary folder, and the environment
/// that makes a service trust it.
pub struct DevAuth {
    dir: tempfile::TempDir,
    issuer: DevIssuer,
}

impl DevAuth {
    pub fn new() -> anyhow::Result<Self> {
        let dir = tempfile::tempdir().context("cannot create a temporary folder")?;
        let issuer =
            DevIssuer::load_or_create(dir.path()).context("cannot create the token issuer")?;
        Ok(Self { dir, issuer })
    }

    /// Where logs and other files of this run go.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Token checks on, TLS off, the service keys set, every listener on
    /// loopback.
    pub fn serve_env(&self) -> Vec<(String, String)> {
        [
            (
                "ZHONGTAI_AUTH__JWKS",
                DevIssuer::jwks_path(self.dir.path()).display().to_string(),
            ),
            ("ZHONGTAI_AUTH__ISSUER", DEV_ISSUER.to_owned()),
            ("ZHONGTAI_TLS__DISABLED", "true".to_owned()),
            ("SIGNING_KEY_ENCRYPTION_KEY", KEY_ENCRYPTION_KEY.to_owned()),
            ("ZHONGTAI_SERVER__METRICS_LISTEN", "127.0.0.1:0".to_owned()),
        ]
        .into_iter()
        .map(|(key, value)| (key.to_owned(), value))
        .collect()
    }

    /// A token of `subject` in `tenant` ("331100/market-regulation" or a
    /// bare division) with `roles`, valid for a day.
    pub fn token(&self, subject: &str, tenant: &str, roles: &[Role]) -> anyhow::Result<String> {
        let tenant =
            TenantId::from_key(tenant).map_err(|e| anyhow::anyhow!("tenant {tenant:?}: {e}"))?;
        self.issuer
            .issue(subject, &tenant, roles, Duration::from_secs(86_400))
            .context("cannot sign a token")
    }
}

/// A running `zhongtai serve <service>`; killed when dropped.
pub struct ZhongtaiServe {
    child: Child,
    name: String,
    log: PathBuf,
}

impl ZhongtaiServe {
    /// Starts `zhongtai serve <service>` with `envs`, on the server core when
    /// `pin`; its output goes to `<log_dir>/<name>.log`.
    pub fn spawn(
        service: &str,
        name: &str,
        envs: &[(String, String)],
        pin: bool,
        log_dir: &Path,
    ) -> anyhow::Result<Self> {
        let exe = crate::section::zhongtai_bin()?;
        let log = log_dir.join(format!("{name}.log"));
        let out = std::fs::File::create(&log)
            .with_context(|| format!("cannot create {}", log.display()))?;
        let err = out.try_clone().context("cannot share the log file")?;
        let mut command = if pin {
            // taskset execs the binary: the child's pid is the service's.
            let mut command = Command::new("taskset");
            command.args(["-c", SERVER_CORE]).arg(&exe);
            command
        } else {
            Command::new(&exe)
        };
        command
            .args(["serve", service])
            .envs(envs.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .kill_on_drop(true);
        let child = command
            .spawn()
            .with_context(|| format!("cannot start {} serve {service}", exe.display()))?;
        Ok(Self {
            child,
            name: name.to_owned(),
            log,
        })
    }

    /// What the operator calls it in the report.
    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.id()
    }

    /// Waits until its log contains `needle`; fails early when it exits.
    pub async fn wait_for_log(&mut self, needle: &str, timeout: Duration) -> anyhow::Result<()> {
        let deadline = Instant::now() + timeout;
        loop {
            if self.log_text().contains(needle) {
                return Ok(());
            }
            if let Some(status) = self.child.try_wait()? {
                anyhow::bail!(
                    "{} exited ({status}) before logging {needle:?}:\n{}",
                    self.name,
                    self.log_tail()
                );
            }
            anyhow::ensure!(
                Instant::now() < deadline,
                "{} did not log {needle:?} within {timeout:?}:\n{}",
                self.name,
                self.log_tail()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// SIGKILL, without waiting.
    pub fn kill(&mut self) -> anyhow::Result<()> {
        self.child
            .start_kill()
            .with_context(|| format!("cannot kill {}", self.name))
    }

    /// SIGTERM: the graceful stop an orchestrator asks for.
    pub fn terminate(&self) -> anyhow::Result<()> {
        let pid = self
            .pid()
            .with_context(|| format!("{} has already exited", self.name))?;
        let status = std::process::Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .status()
            .context("cannot run kill")?;
        anyhow::ensure!(status.success(), "kill -TERM {pid} failed");
        Ok(())
    }

    /// Whether it has exited (without waiting).
    pub fn has_exited(&mut self) -> bool {
        !matches!(self.child.try_wait(), Ok(None))
    }

    /// Waits up to `timeout` for it to exit, then kills it.
    pub async fn wait_exit(&mut self, timeout: Duration) {
        if tokio::time::timeout(timeout, self.child.wait())
            .await
            .is_err()
        {
            let _ = self.child.kill().await;
        }
    }

    /// Its whole log so far.
    pub fn log_text(&self) -> String {
        std::fs::read(&self.log)
            .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
            .unwrap_or_default()
    }

    /// The end of its log, for error messages.
    pub fn log_tail(&self) -> String {
        let text = self.log_text();
        let start = text.len().saturating_sub(LOG_TAIL_BYTES);
        let start = (start..text.len())
            .find(|&i| text.is_char_boundary(i))
            .unwrap_or(text.len());
        text[start..].to_owned()
    }
}

/// CPU seconds a process has used so far (user + system), from /proc; zero
/// where unreadable.
pub fn process_cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command name: state is the first, utime the 12th,
    // stime the 13th (clock ticks of 10 ms).
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest.split_whitespace().collect())
        .unwrap_or_default();
    let ticks: u64 = [11, 12]
        .iter()
        .filter_map(|&i| fields.get(i).and_then(|f| f.parse::<u64>().ok()))
        .sum();
    ticks as f64 / 100.0
}

/// The timestamp of the first JSON log line of `log` with `message`.
pub fn logged_at(log: &str, message: &str) -> Option<chrono::DateTime<chrono::Utc>> {
    log.lines()
        .filter(|line| line.contains(message))
        .find_map(|line| {
            let entry: serde_json::Value = serde_json::from_str(line).ok()?;
            (entry.get("message")?.as_str()? == message)
                .then(|| entry.get("timestamp")?.as_str()?.parse().ok())
                .flatten()
        })
}

/// A unique name for this run's etcd prefix, RabbitMQ exchange and queues.
pub fn run_tag() -> String {
    let suffix = uuid::Uuid::new_v4().simple().to_string();
    format!("bench{}", &suffix[..10])
}
