//! `zhongtai status` against a real embedded platform and against real
//! etcd holding live, dead and silent instances: what an SRE reads, the
//! exit status, and that it answers instead of hanging.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::Value;
use zhongtai_mesh::ServiceInstance;
use zhongtai_mesh::{EtcdConfig, EtcdRegistry, Registration, RegistrationState, Registry as _};

const ZHONGTAI: &str = env!("CARGO_BIN_EXE_zhongtai");
const VERSION: &str = env!("CARGO_PKG_VERSION");
const SERVICES: [&str; 5] = ["approval", "catalog", "certificate", "exchange", "gateway"];
/// Long enough for any healthy run, far shorter than a hang.
const COMMAND_DEADLINE: Duration = Duration::from_secs(20);

/// `zhongtai <args>` with none of the caller's platform settings leaking in.
fn zhongtai(args: &[&str]) -> Command {
    let mut command = Command::new(ZHONGTAI);
    command.args(args).stdin(Stdio::null());
    for (key, _) in std::env::vars() {
        if key.starts_with("ZHONGTAI_") || key == "ETCD_ENDPOINTS" {
            command.env_remove(key);
        }
    }
    command
}

/// Runs the command to the end, or kills it and fails once `deadline`
/// passes: a status command must never hang.
fn run_within(mut command: Command, deadline: Duration) -> Output {
    let child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("zhongtai runs");
    let pid = child.id();
    let (sender, receiver) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = sender.send(child.wait_with_output());
    });
    match receiver.recv_timeout(deadline) {
        Ok(output) => output.expect("zhongtai's output is readable"),
        Err(_) => {
            let _ = Command::new("kill")
                .args(["-KILL", &pid.to_string()])
                .status();
            panic!("zhongtai did not finish within {deadline:?}");
        }
    }
}

fn json_of(output: &Output) -> Value {
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )
    })
}

fn service<'a>(status: &'a Value, name: &str) -> &'a Value {
    status["services"]
        .as_array()
        .and_then(|services| services.iter().find(|s| s["service"] == name))
        .unwrap_or_else(|| panic!("no {name} in {status}"))
}

fn instances(service: &Value) -> &Vec<Value> {
    service["instances"]
        .as_array()
        .unwrap_or_else(|| panic!("no instances array in {service}"))
}

/// `zhongtai up` on free ports with its own data folder; killed on drop.
struct Up {
    child: Child,
    data_dir: PathBuf,
}

impl Up {
    fn start() -> Self {
        let data_dir =
            std::env::temp_dir().join(format!("zhongtai-status-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&data_dir).expect("data folder");
        let child = zhongtai(&["up", "--base-port", "0", "--metrics", "off"])
            .arg("--data-dir")
            .arg(&data_dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("zhongtai up starts");
        let mut up = Self { child, data_dir };
        let deadline = Instant::now() + Duration::from_secs(60);
        while !(up.data_dir.join("endpoints.json").exists()
            && up
                .command(&["health"])
                .output()
                .is_ok_and(|o| o.status.success()))
        {
            assert!(
                matches!(up.child.try_wait(), Ok(None)),
                "zhongtai up exited before serving"
            );
            assert!(Instant::now() < deadline, "the platform did not come up");
            std::thread::sleep(Duration::from_millis(200));
        }
        up
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut command = zhongtai(args);
        command.env("ZHONGTAI_DATA_DIR", &self.data_dir);
        command
    }

    fn endpoints(&self) -> Value {
        let file = self.data_dir.join("endpoints.json");
        serde_json::from_slice(&std::fs::read(file).expect("endpoints.json")).expect("JSON")
    }

    fn token(&self, department: &str, role: &str) -> String {
        let output = self
            .command(&[
                "token", "issue", "--tenant", "331100", "--dept", department, "--role", role,
            ])
            .output()
            .expect("zhongtai runs");
        assert!(output.status.success(), "{output:?}");
        String::from_utf8(output.stdout)
            .expect("a token is text")
            .trim()
            .to_string()
    }

    /// `zhongtai status <args>`, with `token` when not empty.
    fn status(&self, token: &str, args: &[&str]) -> Output {
        let mut command = self.command(&[&["status"], args].concat());
        if !token.is_empty() {
            command.env("ZHONGTAI_TOKEN", token);
        }
        run_within(command, COMMAND_DEADLINE)
    }
}

impl Drop for Up {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.data_dir);
    }
}

fn examples(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples")
        .join(name)
        .display()
        .to_string()
}

#[test]
fn an_embedded_platform_shows_every_service_serving_and_its_lines() {
    let up = Up::start();
    let endpoints = up.endpoints();

    // Without a token the instances are still shown; the lines say why not.
    let output = up.status("", &["--json"]);
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    let status = json_of(&output);
    for name in SERVICES {
        let listed = instances(service(&status, name));
        assert_eq!(listed.len(), 1, "{name}: {status}");
        let instance = &listed[0];
        assert_eq!(instance["health"], "SERVING", "{name}: {instance}");
        assert_eq!(instance["version"], VERSION, "{name}: {instance}");
        assert_eq!(
            instance["address"], endpoints["services"][name],
            "{name}: {instance} vs {endpoints}"
        );
    }
    let missing = status["lines_error"].as_str().unwrap_or_default();
    assert!(
        missing.contains("UNAUTHENTICATED") && missing.contains("ZHONGTAI_TOKEN"),
        "{status}"
    );
    assert_eq!(status["summary"]["services_ok"], 5, "{status}");
    assert_eq!(status["summary"]["instances_serving"], 5, "{status}");

    // A line the operator creates is listed with its lag.
    let operator = up.token("construction", "operator");
    let mut create = up.command(&[
        "line",
        "create",
        "-f",
        &examples("exchange/building-permit-push-line.yaml"),
        "--json",
    ]);
    create.env("ZHONGTAI_TOKEN", &operator);
    let created = run_within(create, COMMAND_DEADLINE);
    assert!(created.status.success(), "{created:?}");
    let line_id = json_of(&created)["id"]
        .as_str()
        .expect("the created line has an id")
        .to_string();
    let output = up.status(&operator, &["--json"]);
    let status = json_of(&output);
    assert_eq!(output.status.code(), Some(0), "{status}");
    assert!(status["lines_error"].is_null(), "{status}");
    let line = status["lines"]
        .as_array()
        .and_then(|lines| lines.iter().find(|l| l["id"] == line_id.as_str()))
        .unwrap_or_else(|| panic!("line {line_id} is not listed: {status}"));
    assert_eq!(line["name"], "building-permit", "{line}");
    assert!(line["capture_lag_ms"].is_i64(), "{line}");
    assert_eq!(line["subscriptions"], 0, "{line}");
    assert_eq!(status["summary"]["lines_degraded"], 0, "{status}");

    // The table says the same to a person.
    let output = up.status(&operator, &[]);
    let table = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(0), "{table}");
    assert!(table.contains("building-permit"), "{table}");
    assert!(
        table.contains("services OK 5/5, instances serving 5/5, lines degraded 0"),
        "{table}"
    );
}

fn etcd_endpoints() -> String {
    std::env::var("ZT_TEST_ETCD_ENDPOINTS").unwrap_or_else(|_| "http://127.0.0.1:2379".into())
}

/// A gRPC server whose health says `service` is SERVING.
async fn live_instance(service: &'static str) -> std::net::SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let address = listener.local_addr().expect("address");
    let (reporter, health) = tonic_health::server::health_reporter();
    reporter
        .set_service_status(service, tonic_health::ServingStatus::Serving)
        .await;
    tokio::spawn(async move {
        // The reporter lives as long as the server.
        let _reporter = reporter;
        let _ = tonic::transport::Server::builder()
            .add_service(health)
            .serve_with_incoming(tonic::transport::server::TcpIncoming::from(listener))
            .await;
    });
    address
}

/// An address nothing listens on.
fn closed_address() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let address = listener.local_addr().expect("address").to_string();
    drop(listener);
    address
}

async fn register(registry: &EtcdRegistry, service: &str, id: &str, address: &str) -> Registration {
    let instance = ServiceInstance {
        version: "9.9.9".into(),
        zone: "hz-b".into(),
        ..ServiceInstance::new(service, id, address)
    };
    let registration = registry.register(instance);
    let mut state = registration.state();
    tokio::time::timeout(
        Duration::from_secs(10),
        state.wait_for(|s| *s == RegistrationState::Registered),
    )
    .await
    .unwrap_or_else(|_| panic!("{id} was not registered in etcd at {}", etcd_endpoints()))
    .expect("the registration is followed");
    registration
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dead_and_silent_instances_in_etcd_are_unreachable_without_a_hang() {
    // A prefix of its own: other tests' instances stay out of the picture.
    let prefix = format!("/zt-status-test/{}", uuid::Uuid::new_v4().simple());
    let registry = EtcdRegistry::new(EtcdConfig {
        endpoints: vec![etcd_endpoints()],
        prefix: prefix.clone(),
        lease_ttl: Duration::from_secs(30),
        ..EtcdConfig::default()
    })
    .expect("etcd config");
    let live = live_instance("zhongtai.approval.v1.ApprovalService").await;
    // Accepts connections and never answers: what a wedged process looks like.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let silent_address = silent.local_addr().expect("address").to_string();
    let dead_address = closed_address();
    let registrations = vec![
        register(&registry, "approval", "approval-live", &live.to_string()).await,
        register(&registry, "approval", "approval-dead", &dead_address).await,
        register(&registry, "approval", "approval-silent", &silent_address).await,
    ];

    let etcd = etcd_endpoints();
    let output = tokio::task::spawn_blocking(move || {
        let command = zhongtai(&[
            "status",
            "--etcd",
            &etcd,
            "--etcd-prefix",
            &prefix,
            "--json",
        ]);
        run_within(command, COMMAND_DEADLINE)
    })
    .await
    .expect("the command ran");
    let status = json_of(&output);
    assert_eq!(output.status.code(), Some(1), "{status}");

    let approval = instances(service(&status, "approval"));
    let health_of = |id: &str| -> &Value {
        approval
            .iter()
            .find(|i| i["id"] == id)
            .unwrap_or_else(|| panic!("no {id} in {status}"))
    };
    let live_report = health_of("approval-live");
    assert_eq!(live_report["health"], "SERVING", "{live_report}");
    assert_eq!(live_report["version"], "9.9.9", "{live_report}");
    assert_eq!(live_report["zone"], "hz-b", "{live_report}");
    let dead = health_of("approval-dead");
    assert_eq!(dead["health"], "UNREACHABLE", "{dead}");
    assert_eq!(dead["address"], dead_address.as_str(), "{dead}");
    assert!(
        dead["error"].as_str().is_some_and(|e| !e.is_empty()),
        "{dead}"
    );
    let wedged = health_of("approval-silent");
    assert_eq!(wedged["health"], "UNREACHABLE", "{wedged}");

    // Nothing else is registered under this prefix: those services are the
    // reason for the exit status, and the lines cannot be reached.
    for name in ["catalog", "certificate", "exchange", "gateway"] {
        assert!(instances(service(&status, name)).is_empty(), "{status}");
    }
    assert_eq!(status["summary"]["services_ok"], 1, "{status}");
    assert_eq!(status["summary"]["instances_serving"], 1, "{status}");
    assert_eq!(status["summary"]["instances_total"], 3, "{status}");
    assert!(
        status["lines_error"]
            .as_str()
            .is_some_and(|e| e.contains("no exchange instance")),
        "{status}"
    );

    for registration in registrations {
        registration.deregister().await;
    }
    drop(silent);
}

#[test]
fn an_unreachable_etcd_is_reported_per_service_without_a_hang() {
    let etcd = format!("http://{}", closed_address());
    let output = run_within(
        zhongtai(&["status", "--etcd", &etcd, "--json"]),
        COMMAND_DEADLINE,
    );
    let status = json_of(&output);
    assert_eq!(output.status.code(), Some(1), "{status}");
    for name in SERVICES {
        let reported = service(&status, name);
        assert!(
            reported["error"]
                .as_str()
                .is_some_and(|e| e.contains("etcd")),
            "{name}: {reported}"
        );
    }
    assert_eq!(status["summary"]["services_ok"], 0, "{status}");
}
