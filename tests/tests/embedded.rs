//! `zhongtai up`: the whole platform in one process on the embedded default,
//! checked from outside with grpcio (health protocol, reflection, raw bytes)
//! and with the project's own CLI.

#![allow(clippy::unwrap_used)] // helpers outside #[test] fns may panic: they are test code

use std::time::{Duration, Instant};

use zhongtai_scenarios::embedded::{cli, endpoints, start_up, token};
use zhongtai_scenarios::grpc_probe;

const SERVICES: [(&str, &str); 5] = [
    ("approval", "zhongtai.approval.v1.ApprovalService"),
    ("catalog", "zhongtai.catalog.v1.CatalogService"),
    ("certificate", "zhongtai.certificate.v1.CertificateService"),
    ("exchange", "zhongtai.exchange.v1.ExchangeService"),
    ("gateway", "zhongtai.gateway.v1.GatewayAdminService"),
];

#[test]
fn up_serves_every_service_with_health_reflection_and_clean_shutdown() {
    let (data, mut up) = start_up("127.0.0.1:0");
    let endpoints = endpoints(data.path());

    for (service, grpc_service) in SERVICES {
        let address = endpoints["services"][service]
            .as_str()
            .expect("service listed")
            .to_string();
        // Registration in the in-process registry follows the bind at once;
        // give the health status a moment to flip to SERVING.
        let deadline = Instant::now() + Duration::from_secs(10);
        let report = loop {
            let report = grpc_probe(&["inspect", &address]);
            if report["health"][""] == "SERVING" || Instant::now() > deadline {
                break report;
            }
            std::thread::sleep(Duration::from_millis(100));
        };
        assert_eq!(report["health"][""], "SERVING", "{service}: {report}");
        assert_eq!(
            report["health"][grpc_service], "SERVING",
            "{service}: {report}"
        );
        let listed: Vec<&str> = report["services"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|s| s.as_str())
            .collect();
        assert!(
            listed.contains(&grpc_service),
            "{service} reflection lists {listed:?}"
        );
        assert!(listed.contains(&"grpc.health.v1.Health"), "{listed:?}");
        assert_eq!(
            report["resolved"][grpc_service], true,
            "{service}: {report}"
        );
    }

    // The project's CLI sees the same platform.
    let (ok, stdout, stderr) = cli(data.path(), &["health", "--json"]);
    assert!(ok, "health failed: {stderr}");
    let health: serde_json::Value = serde_json::from_str(&stdout).expect("health --json");
    for (service, _) in SERVICES {
        let entry = health
            .as_array()
            .and_then(|all| all.iter().find(|e| e["service"] == service))
            .unwrap_or_else(|| panic!("{service} missing from {health}"));
        assert_eq!(entry["status"], "SERVING", "{entry}");
    }

    // Metrics are exposed for Prometheus.
    let metrics = endpoints["metrics"].as_str().expect("metrics address");
    let body = http_get(metrics, "/metrics");
    assert!(body.contains("grpc_server_requests_total"), "{body}");

    // SIGTERM: every service leaves, drains and the process exits 0.
    up.stop_gracefully(Duration::from_secs(30));
    assert!(
        !data.path().join("endpoints.json").exists(),
        "endpoints file left behind"
    );
}

#[test]
fn malformed_and_oversize_messages_get_precise_codes() {
    let (data, mut up) = start_up("off");
    let address = endpoints(data.path())["services"]["approval"]
        .as_str()
        .unwrap()
        .to_string();
    let create = "/zhongtai.approval.v1.ApprovalService/CreateServiceItem";
    let operator = token(data.path(), "operator");

    // No token, a garbage token: refused before anything is decoded.
    let anonymous = grpc_probe(&["raw", &address, create, ""]);
    assert_eq!(anonymous["code"], "UNAUTHENTICATED", "{anonymous}");
    let garbage = grpc_probe(&["raw", &address, create, "", "not.a.jwt"]);
    assert_eq!(garbage["code"], "UNAUTHENTICATED", "{garbage}");
    let viewer = grpc_probe(&["raw", &address, create, "", &token(data.path(), "viewer")]);
    assert_eq!(viewer["code"], "PERMISSION_DENIED", "{viewer}");

    // Field 1 (tenant), length-delimited, claims 100 bytes but has 2.
    let malformed = grpc_probe(&["raw", &address, create, "0a640102", &operator]);
    assert_eq!(malformed["code"], "INVALID_ARGUMENT", "{malformed}");

    // Well-formed protobuf, but an empty request: validation names the field.
    let empty = grpc_probe(&["raw", &address, create, "", &operator]);
    assert_eq!(empty["code"], "INVALID_ARGUMENT", "{empty}");

    // 5 MiB of zeros is over the 4 MiB default limit.
    let oversize = grpc_probe(&[
        "raw",
        &address,
        create,
        &format!("zeros:{}", 5 * 1024 * 1024),
        &operator,
    ]);
    assert_eq!(oversize["code"], "RESOURCE_EXHAUSTED", "{oversize}");

    // The server is still fine after all of that.
    let report = grpc_probe(&["inspect", &address]);
    assert_eq!(report["health"][""], "SERVING", "{report}");
    assert!(up.is_running(), "{}", up.output());
    assert!(!up.output().contains("panicked"), "{}", up.output());

    up.stop_gracefully(Duration::from_secs(30));
}

#[test]
fn cli_creates_and_lists_service_items_with_json_output() {
    let (data, mut up) = start_up("off");

    let (ok, stdout, stderr) = cli(
        data.path(),
        &[
            "item",
            "create",
            "--tenant",
            "331100/market-regulation",
            "--code",
            "business-licence",
            "--name",
            "营业执照设立登记",
            "--json",
        ],
    );
    assert!(ok, "create failed: {stderr}");
    let created: serde_json::Value = serde_json::from_str(&stdout).expect("create --json");
    assert_eq!(created["code"], "business-licence", "{created}");

    let (ok, stdout, stderr) = cli(data.path(), &["item", "list", "--json"]);
    assert!(ok, "list failed: {stderr}");
    let listed: serde_json::Value = serde_json::from_str(&stdout).expect("list --json");
    let names: Vec<&str> = listed["items"]
        .as_array()
        .unwrap_or_else(|| panic!("no items in {listed}"))
        .iter()
        .filter_map(|i| i["name"].as_str())
        .collect();
    assert_eq!(names, ["营业执照设立登记"]);

    // Bad input: a clear error, non-zero exit, nothing created.
    let (ok, _, stderr) = cli(
        data.path(),
        &[
            "item",
            "create",
            "--tenant",
            "not-a-division",
            "--code",
            "x",
            "--name",
            "x",
        ],
    );
    assert!(!ok);
    assert!(stderr.contains("tenant"), "{stderr}");
    let (_, stdout, _) = cli(data.path(), &["item", "list", "--json"]);
    let listed: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(
        listed["items"].as_array().map(Vec::len),
        Some(1),
        "{listed}"
    );

    up.stop_gracefully(Duration::from_secs(30));
}

fn http_get(address: &str, path: &str) -> String {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(address).expect("metrics endpoint listens");
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    response
}
