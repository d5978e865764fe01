//! Starting the serve process as a child (pinned to its core when
//! `taskset` exists) and stopping it, and everything it started, however
//! the run ends.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use anyhow::Context as _;
use tokio::io::{AsyncBufReadExt as _, BufReader};
use tokio::process::{Child, ChildStdin, Command};

use crate::serve::Ready;

/// The core the system under test runs on; the load generator takes the other.
pub const SERVER_CORE: &str = "0";
/// The core of the load generator.
pub const LOAD_CORE: &str = "1";
/// How long the serve process may take to report ready (gateway
/// migrations included).
const READY_TIMEOUT: Duration = Duration::from_secs(120);

/// Whether `taskset` can pin processes here (and there are two cores).
pub fn pinning_available() -> bool {
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    cores >= 2
        && std::process::Command::new("taskset")
            .arg("-V")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|status| status.success())
}

/// Pins the calling process's current thread (and threads it starts
/// later) to the load generator's core.
pub fn pin_self_to_load_core() -> anyhow::Result<()> {
    let status = std::process::Command::new("taskset")
        .args(["-p", "-c", LOAD_CORE, &std::process::id().to_string()])
        .stdout(Stdio::null())
        .status()
        .context("cannot run taskset")?;
    anyhow::ensure!(status.success(), "taskset could not pin the load generator");
    Ok(())
}

/// A running serve process.
pub struct ServeProcess {
    child: Child,
    stdin: Option<ChildStdin>,
    /// What it reported.
    pub ready: Ready,
}

impl ServeProcess {
    /// Starts `exe serve <args>` and waits for its ready line.
    pub async fn start(exe: &Path, args: &[String], pin: bool) -> anyhow::Result<Self> {
        let mut command = if pin {
            let mut command = Command::new("taskset");
            command.args(["-c", SERVER_CORE]).arg(exe);
            command
        } else {
            Command::new(exe)
        };
        command
            .arg("serve")
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true);
        let mut child = command.spawn().context("cannot start the serve process")?;
        let stdin = child.stdin.take();
        let stdout = child
            .stdout
            .take()
            .context("the serve process has no stdout")?;
        let mut lines = BufReader::new(stdout).lines();
        let line = tokio::time::timeout(READY_TIMEOUT, lines.next_line())
            .await
            .context("the serve process did not report ready within 120 s")?
            .context("cannot read the serve process's output")?
            .context("the serve process exited before it was ready (see its errors above)")?;
        let ready: Ready = serde_json::from_str(&line)
            .with_context(|| format!("the serve process printed {line:?}, not its ready report"))?;
        Ok(Self {
            child,
            stdin,
            ready,
        })
    }

    /// The process id, for reading its memory use.
    pub fn pid(&self) -> Option<u32> {
        self.child.id()
    }

    /// Asks it to stop (closing its stdin) and waits up to 20 s, then kills it.
    pub async fn stop(mut self) {
        self.stdin.take();
        if tokio::time::timeout(Duration::from_secs(20), self.child.wait())
            .await
            .is_err()
        {
            let _ = self.child.kill().await;
        }
    }
}

impl Drop for ServeProcess {
    fn drop(&mut self) {
        // nginx is the serve process's child; if that process was killed
        // rather than stopped, nginx would be left running.
        if let Some(pid) = self.ready.nginx_pid
            && is_nginx(pid)
        {
            let _ = std::process::Command::new("kill")
                .args(["-KILL", &pid.to_string()])
                .status();
        }
    }
}

fn is_nginx(pid: u32) -> bool {
    std::fs::read(format!("/proc/{pid}/cmdline"))
        .is_ok_and(|cmdline| String::from_utf8_lossy(&cmdline).contains("nginx"))
}

/// Resident memory of a process in KiB (`VmRSS`), if readable.
pub fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    parse_vm_rss(&status)
}

fn parse_vm_rss(status: &str) -> Option<u64> {
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|kib| kib.parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vm_rss_is_read_in_kib() {
        let status = "Name:\tzhongtai-bench\nVmPeak:\t  99 kB\nVmRSS:\t   51234 kB\nThreads:\t3\n";
        assert_eq!(parse_vm_rss(status), Some(51_234));
        assert_eq!(parse_vm_rss("Name:\tx\n"), None);
    }

    #[test]
    fn this_process_has_a_resident_size() {
        assert!(rss_kib(std::process::id()).is_some_and(|kib| kib > 0));
    }
}
