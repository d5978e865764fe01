//! `zhongtai up` as a user starts it, and the CLI run against it the way the
//! README shows.

use std::path::Path;
use std::time::Duration;

use crate::{Process, zhongtai_bin};

/// `zhongtai up` on free ports with its own data folder (metrics on
/// `metrics`, or "off"), once it says it is up.
pub fn start_up(metrics: &str) -> (tempfile::TempDir, Process) {
    let data = tempfile::tempdir().expect("a temporary data folder");
    let data_dir = data.path().to_str().expect("a UTF-8 path").to_string();
    let mut up = Process::spawn(
        "up",
        &[
            "up",
            "--data-dir",
            &data_dir,
            "--base-port",
            "0",
            "--metrics",
            metrics,
        ],
        &[],
    );
    up.wait_for_output("Zhongtai is up", Duration::from_secs(60));
    (data, up)
}

/// The `endpoints.json` the platform in `data_dir` wrote.
pub fn endpoints(data_dir: &Path) -> serde_json::Value {
    let bytes = std::fs::read(data_dir.join("endpoints.json")).expect("endpoints.json written");
    serde_json::from_slice(&bytes).expect("endpoints.json is JSON")
}

/// A development token of 331100/market-regulation with `role`, from the
/// platform in `data_dir`, as the README shows.
pub fn token(data_dir: &Path, role: &str) -> String {
    let output = std::process::Command::new(zhongtai_bin())
        .args([
            "token",
            "issue",
            "--tenant",
            "331100",
            "--dept",
            "market-regulation",
            "--role",
            role,
        ])
        .arg("--data-dir")
        .arg(data_dir)
        .output()
        .expect("zhongtai runs");
    assert!(output.status.success(), "{output:?}");
    String::from_utf8_lossy(&output.stdout).trim().to_string()
}

/// Runs the CLI against the platform in `data_dir` as an operator of
/// 331100/market-regulation: (succeeded, stdout, stderr).
pub fn cli(data_dir: &Path, args: &[&str]) -> (bool, String, String) {
    let output = std::process::Command::new(zhongtai_bin())
        .args(args)
        .arg("--data-dir")
        .arg(data_dir)
        .env_remove("ETCD_ENDPOINTS")
        .env("ZHONGTAI_TOKEN", token(data_dir, "operator"))
        .output()
        .expect("zhongtai runs");
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}
