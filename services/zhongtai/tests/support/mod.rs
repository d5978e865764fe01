//! A real embedded platform (`zhongtai up`, as `make run` starts it) for
//! CLI tests, and the CLI run against it as a user would.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

const ZHONGTAI: &str = env!("CARGO_BIN_EXE_zhongtai");

pub fn examples(name: &str) -> String {
    format!("{}/../../examples/{name}", env!("CARGO_MANIFEST_DIR"))
}

/// `zhongtai up` on free ports with its own data folder; stopped on drop.
pub struct Platform {
    up: Child,
    data_dir: PathBuf,
}

impl Platform {
    pub fn start() -> Self {
        let data_dir = std::env::temp_dir().join(format!("zhongtai-cli-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&data_dir).expect("data folder");
        let up = Command::new(ZHONGTAI)
            .args([
                "up",
                "--base-port",
                "0",
                "--metrics",
                "off",
                "--log-format",
                "compact",
            ])
            .arg("--data-dir")
            .arg(&data_dir)
            .env_remove("ETCD_ENDPOINTS")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("zhongtai up starts");
        let mut platform = Self { up, data_dir };
        platform.wait_until_serving();
        platform
    }

    fn wait_until_serving(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if self.data_dir.join("endpoints.json").exists()
                && self.run("", &["health"]).status.success()
            {
                return;
            }
            assert!(
                self.up
                    .try_wait()
                    .expect("zhongtai up is waitable")
                    .is_none(),
                "zhongtai up exited before serving"
            );
            assert!(Instant::now() < deadline, "the platform did not come up");
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// Where integrators reach the gateway's front door (`http://host:port`).
    pub fn front_door(&self) -> String {
        let endpoints: Value = serde_json::from_slice(
            &std::fs::read(self.data_dir.join("endpoints.json")).expect("endpoints.json"),
        )
        .expect("endpoints.json is JSON");
        format!(
            "http://{}",
            endpoints["http"]["gateway"]
                .as_str()
                .unwrap_or_else(|| panic!("no gateway front door in {endpoints}"))
        )
    }

    /// A development token for `subject` acting for 331100/`department`.
    pub fn token(&self, department: &str, role: &str, subject: &str) -> String {
        self.token_of("331100", department, role, subject)
    }

    /// A development token for `subject` acting for `division`/`department`.
    pub fn token_of(&self, division: &str, department: &str, role: &str, subject: &str) -> String {
        let output = self.run(
            "",
            &[
                "token",
                "issue",
                "--tenant",
                division,
                "--dept",
                department,
                "--role",
                role,
                "--subject",
                subject,
            ],
        );
        assert!(output.status.success(), "{output:?}");
        String::from_utf8(output.stdout)
            .expect("a token is text")
            .trim()
            .to_string()
    }

    /// A citizen signed in to a micro app: the subject is their holder key.
    pub fn citizen(&self, id_number: &str) -> String {
        self.token_of(
            "331100",
            "",
            "viewer",
            &format!("person:resident-id-card:{id_number}"),
        )
    }

    /// A command run for its outcome: the exit code and the JSON it printed
    /// (verification prints its result and exits 1 unless VALID).
    pub fn verdict(&self, token: &str, args: &[&str]) -> (Option<i32>, Value) {
        let mut args = args.to_vec();
        args.push("--json");
        let output = self.run(token, &args);
        let printed = serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
            panic!(
                "zhongtai {}: not JSON ({e}): {}{}",
                args.join(" "),
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            )
        });
        (output.status.code(), printed)
    }

    /// Runs a command that must fail; returns its exit code and stderr.
    pub fn refused(&self, token: &str, args: &[&str]) -> (Option<i32>, String) {
        let output = self.run(token, args);
        assert!(
            !output.status.success(),
            "zhongtai {} succeeded: {}",
            args.join(" "),
            String::from_utf8_lossy(&output.stdout)
        );
        (
            output.status.code(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    }

    pub fn run(&self, token: &str, args: &[&str]) -> Output {
        let mut command = Command::new(ZHONGTAI);
        command
            .args(args)
            .env("ZHONGTAI_DATA_DIR", &self.data_dir)
            .env_remove("ETCD_ENDPOINTS")
            .env_remove("ZHONGTAI_TOKEN");
        if !token.is_empty() {
            command.env("ZHONGTAI_TOKEN", token);
        }
        command.output().expect("zhongtai runs")
    }

    /// Runs a command that must succeed and prints JSON.
    pub fn json(&self, token: &str, args: &[&str]) -> Value {
        let mut args = args.to_vec();
        args.push("--json");
        let output = self.run(token, &args);
        assert!(
            output.status.success(),
            "zhongtai {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&output.stderr)
        );
        serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
            panic!(
                "zhongtai {}: not JSON ({e}): {}",
                args.join(" "),
                String::from_utf8_lossy(&output.stdout)
            )
        })
    }

    /// Runs a command that must succeed and returns its table output.
    pub fn text(&self, token: &str, args: &[&str]) -> String {
        let output = self.run(token, args);
        assert!(
            output.status.success(),
            "zhongtai {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout).expect("tables are UTF-8")
    }

    /// Polls a JSON command until `done` holds (events are asynchronous).
    pub fn wait_for(
        &self,
        token: &str,
        args: &[&str],
        what: &str,
        done: impl Fn(&Value) -> bool,
    ) -> Value {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let value = self.json(token, args);
            if done(&value) {
                return value;
            }
            assert!(Instant::now() < deadline, "{what}: still {value}");
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

impl Drop for Platform {
    fn drop(&mut self) {
        let _ = self.up.kill();
        let _ = self.up.wait();
        let _ = std::fs::remove_dir_all(&self.data_dir);
    }
}

pub fn field<'a>(value: &'a Value, name: &str) -> &'a str {
    value[name]
        .as_str()
        .unwrap_or_else(|| panic!("no {name} in {value}"))
}

pub fn write_temp(name: &str, text: &str) -> PathBuf {
    let path = std::env::temp_dir().join(format!("{}-{name}", uuid::Uuid::new_v4()));
    std::fs::write(&path, text).expect("temporary file");
    path
}

/// A fresh temporary folder for files a command writes.
pub fn temp_dir() -> PathBuf {
    let path = std::env::temp_dir().join(format!("zhongtai-cli-files-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&path).expect("temporary folder");
    path
}

pub fn path_str(path: &Path) -> &str {
    path.to_str().expect("temporary paths are UTF-8")
}
