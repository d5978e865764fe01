//! `zhongtai serve <service>` as operators run it: configuration errors,
//! unreachable dependencies, and an event travelling from a service's outbox
//! through the real RabbitMQ.

#![allow(clippy::unwrap_used)] // helpers outside #[test] fns may panic: they are test code

use std::time::Duration;

use futures::StreamExt;
use lapin::options::{
    BasicAckOptions, BasicConsumeOptions, ExchangeDeclareOptions, QueueBindOptions,
    QueueDeclareOptions,
};
use lapin::types::FieldTable;
use lapin::{Connection, ConnectionProperties, ExchangeKind};
use prost::Message;
use sea_orm::ConnectionTrait;
use zhongtai_contracts::approval::v1::approval_service_client::ApprovalServiceClient;
use zhongtai_contracts::approval::v1::{CreateServiceItemRequest, ListServiceItemsRequest};
use zhongtai_contracts::events::v1::{EventEnvelope, ServiceItemCreated};
use zhongtai_kit::Role;
use zhongtai_mesh::{ChannelConfig, EtcdConfig, EtcdRegistry, MeshChannel, Registry};
use zhongtai_scenarios::{Process, Security, grpc_probe};
use zhongtai_testkit::{EtcdServer, TestDatabase, amqp_url, free_port};

fn closed_port_url(scheme: &str) -> String {
    format!("{scheme}://127.0.0.1:{}", free_port())
}

/// `listen=host:port` from the "serving" log line.
fn listen_address(process: &Process) -> String {
    let output = process.output();
    let start = output.find("listen=").expect("serving line logged") + "listen=".len();
    output[start..]
        .split(|c: char| c.is_whitespace())
        .next()
        .unwrap_or_default()
        .to_string()
}

/// `zhongtai serve approval` on free ports with `envs` added, verifying
/// tokens of `security`'s issuer; plaintext, so outside probes can talk to it.
fn serve_approval(security: &Security, envs: &[(&str, String)]) -> Process {
    let mut all = vec![("ZHONGTAI_TLS__DISABLED", "true".to_string())];
    all.extend(envs.iter().map(|(k, v)| (*k, v.clone())));
    serve_approval_securely(security, &all)
}

/// `zhongtai serve approval` with mutual TLS and token checks on.
fn serve_approval_securely(security: &Security, envs: &[(&str, String)]) -> Process {
    let mut all = vec![
        ("ZHONGTAI_SERVER__LISTEN", "127.0.0.1:0".to_string()),
        ("ZHONGTAI_SERVER__METRICS_LISTEN", "127.0.0.1:0".to_string()),
    ];
    all.extend(security.serve_env("approval"));
    all.extend(envs.iter().map(|(k, v)| (*k, v.clone())));
    Process::spawn("approval", &["serve", "approval"], &all)
}

#[test]
fn invalid_configuration_exits_non_zero_naming_the_keys() {
    let output = std::process::Command::new(zhongtai_scenarios::zhongtai_bin())
        .args(["serve", "approval"])
        .env_remove("DATABASE_URL")
        .env("ZHONGTAI_SERVER__LISTEN", "localhost")
        .env("ZHONGTAI_MESH__LEASE_TTL_SECS", "0")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    for key in ["server.listen", "database.url", "mesh.lease_ttl_secs"] {
        assert!(stderr.contains(key), "{key} not named in:\n{stderr}");
    }
    assert!(!stderr.contains("panicked"), "{stderr}");

    // A value of the wrong type names its key too.
    let output = std::process::Command::new(zhongtai_scenarios::zhongtai_bin())
        .args(["serve", "approval"])
        .env("DATABASE_URL", "sqlite::memory:")
        .env("ZHONGTAI_SERVER__MAX_IN_FLIGHT", "lots")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.to_lowercase().contains("max_in_flight"), "{stderr}");

    // A missing configuration file is named.
    let output = std::process::Command::new(zhongtai_scenarios::zhongtai_bin())
        .args([
            "serve",
            "approval",
            "--config",
            "/nonexistent/approval.toml",
        ])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("/nonexistent/approval.toml"), "{stderr}");
}

#[test]
fn unreachable_database_is_retried_with_a_clear_log_line() {
    let security = Security::new();
    let mut process = serve_approval(
        &security,
        &[
            (
                "DATABASE_URL",
                format!("{}/approval", closed_port_url("postgres")),
            ),
            ("ETCD_ENDPOINTS", closed_port_url("http")),
            ("AMQP_URL", amqp_url()),
        ],
    );
    process.wait_for_output("dependency unreachable, retrying", Duration::from_secs(30));
    assert!(
        process.output().contains("database"),
        "{}",
        process.output()
    );
    std::thread::sleep(Duration::from_secs(1));
    assert!(process.is_running(), "gave up:\n{}", process.output());
    process.stop_gracefully(Duration::from_secs(15));
}

#[test]
fn unreachable_broker_is_retried_with_a_clear_log_line() {
    let security = Security::new();
    let mut process = serve_approval(
        &security,
        &[
            ("DATABASE_URL", "sqlite::memory:".into()),
            ("ETCD_ENDPOINTS", closed_port_url("http")),
            ("AMQP_URL", format!("{}/%2f", closed_port_url("amqp"))),
        ],
    );
    process.wait_for_output("dependency unreachable, retrying", Duration::from_secs(30));
    assert!(
        process.output().contains("rabbitmq"),
        "{}",
        process.output()
    );
    assert!(process.is_running(), "gave up:\n{}", process.output());
    process.stop_gracefully(Duration::from_secs(15));
}

#[test]
fn unreachable_etcd_keeps_the_instance_not_serving_until_it_registers() {
    let port = free_port();
    let security = Security::new();
    let mut process = serve_approval(
        &security,
        &[
            ("DATABASE_URL", "sqlite::memory:".into()),
            ("ETCD_ENDPOINTS", format!("http://127.0.0.1:{port}")),
            ("AMQP_URL", amqp_url()),
        ],
    );
    process.wait_for_output("serving", Duration::from_secs(30));
    let address = listen_address(&process);
    std::thread::sleep(Duration::from_secs(2));
    let report = grpc_probe(&["inspect", &address]);
    assert_eq!(report["health"][""], "NOT_SERVING", "{report}");
    assert!(process.is_running(), "{}", process.output());
    process.stop_gracefully(Duration::from_secs(15));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_created_item_is_published_to_rabbitmq_through_the_outbox() {
    let etcd = EtcdServer::start();
    let db = TestDatabase::create().await;
    let exchange = format!("zt-test-{}", uuid::Uuid::new_v4().simple());

    // An observer queue on the service's exchange, bound before the event.
    let connection = Connection::connect(&amqp_url(), ConnectionProperties::default())
        .await
        .unwrap();
    let channel = connection.create_channel().await.unwrap();
    channel
        .exchange_declare(
            exchange.as_str().into(),
            ExchangeKind::Topic,
            ExchangeDeclareOptions {
                durable: true,
                ..Default::default()
            },
            FieldTable::default(),
        )
        .await
        .unwrap();
    let queue = channel
        .queue_declare(
            "".into(),
            QueueDeclareOptions {
                exclusive: true,
                auto_delete: true,
                ..Default::default()
            },
            FieldTable::default(),
        )
        .await
        .unwrap();
    channel
        .queue_bind(
            queue.name().as_str().into(),
            exchange.as_str().into(),
            "approval.#".into(),
            QueueBindOptions::default(),
            FieldTable::default(),
        )
        .await
        .unwrap();
    let mut deliveries = channel
        .basic_consume(
            queue.name().as_str().into(),
            "observer".into(),
            BasicConsumeOptions::default(),
            FieldTable::default(),
        )
        .await
        .unwrap();

    let security = Security::new();
    let probe = format!("127.0.0.1:{}", free_port());
    let mut process = serve_approval_securely(
        &security,
        &[
            ("DATABASE_URL", db.url().to_string()),
            ("ETCD_ENDPOINTS", etcd.endpoint()),
            ("AMQP_URL", amqp_url()),
            ("ZHONGTAI_EVENTS__EXCHANGE", exchange.clone()),
            ("ZHONGTAI_SERVER__PROBE_LISTEN", probe.clone()),
        ],
    );
    process.wait_for_output("registered in discovery", Duration::from_secs(60));
    assert!(
        process.output().contains("mutual TLS on"),
        "{}",
        process.output()
    );
    let address = listen_address(&process);

    // Kubelet cannot present a mesh certificate: its gRPC probe asks the
    // plaintext health-only port, which answers what the service answers.
    let probed = grpc_probe(&["health", &probe]);
    assert_eq!(probed["status"], "SERVING", "{probed}");
    let probed = grpc_probe(&["health", &probe, "zhongtai.approval.v1.ApprovalService"]);
    assert_eq!(probed["status"], "SERVING", "{probed}");

    // Plaintext is refused by the real server; so is a call without a token.
    let plaintext = ApprovalServiceClient::connect(format!("http://{address}")).await;
    if let Ok(mut plaintext) = plaintext {
        let refused = plaintext
            .list_service_items(ListServiceItemsRequest::default())
            .await;
        assert!(
            refused.is_err(),
            "a plaintext call was answered: {refused:?}"
        );
    }
    let registry = EtcdRegistry::new(EtcdConfig {
        endpoints: vec![etcd.endpoint()],
        ..EtcdConfig::default()
    })
    .unwrap();
    let mesh_channel = MeshChannel::new(
        registry.discover("approval"),
        ChannelConfig {
            tls: Some(security.client_tls()),
            ..ChannelConfig::default()
        },
    );
    let mut client = ApprovalServiceClient::new(mesh_channel);
    let anonymous = client
        .list_service_items(ListServiceItemsRequest::default())
        .await
        .unwrap_err();
    assert_eq!(
        anonymous.code(),
        tonic::Code::Unauthenticated,
        "{anonymous:?}"
    );

    let token = security.token("331100/market-regulation", &[Role::Operator]);
    let mut create = tonic::Request::new(CreateServiceItemRequest {
        code: "business-licence".into(),
        name: "营业执照设立登记".into(),
        request_id: uuid::Uuid::new_v4().to_string(),
        ..Default::default()
    });
    create
        .metadata_mut()
        .insert("authorization", Security::bearer(&token));
    let created = client
        .create_service_item(create)
        .await
        .unwrap_or_else(|s| panic!("create failed: {s:?}\n{}", process.output()))
        .into_inner();
    let item = created.item.expect("created item");

    let delivery = tokio::time::timeout(Duration::from_secs(15), deliveries.next())
        .await
        .expect("event delivered through RabbitMQ")
        .expect("consumer open")
        .unwrap();
    assert_eq!(
        delivery.routing_key.as_str(),
        "approval.service_item.created"
    );
    let envelope = EventEnvelope::decode(delivery.data.as_slice()).expect("envelope decodes");
    assert_eq!(envelope.r#type, "approval.service_item.created");
    assert_eq!(envelope.source, "approval");
    let payload = envelope.payload.expect("payload");
    let event = ServiceItemCreated::decode(payload.value.as_slice()).expect("payload decodes");
    assert_eq!(event.item.map(|i| i.id), Some(item.id));
    assert_eq!(
        item.tenant.map(|t| t.department),
        Some("market-regulation".to_string()),
        "the item belongs to the token's tenant"
    );
    delivery.ack(BasicAckOptions::default()).await.unwrap();
    process.stop_gracefully(Duration::from_secs(15));

    // The creation is in the service's audit chain; tampering is detected.
    let verify = || {
        std::process::Command::new(zhongtai_scenarios::zhongtai_bin())
            .args(["audit", "verify", "--json", "--database-url", db.url()])
            .output()
            .expect("zhongtai runs")
    };
    let intact = verify();
    let report: serde_json::Value = serde_json::from_slice(&intact.stdout).expect("report JSON");
    assert!(intact.status.success(), "{report}");
    assert_eq!(
        report["sealed"], 1,
        "sealed at shutdown at the latest: {report}"
    );
    let admin = database_as_admin(&db).await;
    admin
        .execute_unprepared("UPDATE audit_log SET actor = 'someone-else'")
        .await
        .unwrap();
    let tampered = verify();
    let stdout = String::from_utf8_lossy(&tampered.stdout);
    assert_eq!(tampered.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("Altered") || stdout.contains("altered"),
        "{stdout}"
    );
    let _ = channel
        .exchange_delete(exchange.as_str().into(), Default::default())
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrate_applies_a_services_migrations_once_and_exits() {
    let db = TestDatabase::create().await;
    let migrate = |database_url: &str| {
        std::process::Command::new(zhongtai_scenarios::zhongtai_bin())
            .args(["migrate", "catalog"])
            .env("DATABASE_URL", database_url)
            .env("LOG_FORMAT", "compact")
            // What a deployment sets for the service itself is ignored here.
            .env("ZHONGTAI_AUTH__ISSUER", "https://idp.example.gov")
            .env("ZHONGTAI_SERVER__LISTEN", "0.0.0.0:50051")
            .output()
            .unwrap()
    };
    for run in ["first", "second"] {
        let output = migrate(db.url());
        let stderr = String::from_utf8_lossy(&output.stderr);
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(output.status.success(), "{run} run: {stdout}{stderr}");
        assert!(
            format!("{stdout}{stderr}").contains("database migrated"),
            "{run} run: {stdout}{stderr}"
        );
    }
    let admin = database_as_admin(&db).await;
    let applied = admin
        .query_one_raw(sea_orm::Statement::from_string(
            sea_orm::DatabaseBackend::Postgres,
            "SELECT count(*) AS n FROM seaql_migrations",
        ))
        .await
        .unwrap()
        .expect("one row");
    let applied: i64 = applied.try_get("", "n").unwrap();
    assert!(applied > 0, "no migration recorded");
    let outbox = admin
        .query_one_raw(sea_orm::Statement::from_string(
            sea_orm::DatabaseBackend::Postgres,
            "SELECT count(*) AS n FROM event_outbox",
        ))
        .await;
    assert!(outbox.is_ok(), "the outbox table exists: {outbox:?}");

    // An unreachable database fails the step (the Job retries), naming it
    // without its password.
    let unreachable = migrate(&format!(
        "postgres://app:hunter2@127.0.0.1:{}/catalog",
        free_port()
    ));
    let stderr = String::from_utf8_lossy(&unreachable.stderr);
    assert_eq!(unreachable.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("cannot connect to the database"),
        "{stderr}"
    );
    assert!(!stderr.contains("hunter2"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

/// A plain connection to the test's database, as someone with database
/// access (not through any service) would have.
async fn database_as_admin(db: &TestDatabase) -> sea_orm::DatabaseConnection {
    sea_orm::Database::connect(db.url()).await.unwrap()
}
