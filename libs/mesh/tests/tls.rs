//! Mutual TLS end to end: real tonic servers on loopback serving the health
//! service over TLS, callers through a `MeshChannel` fed by a real etcd, and
//! the peers the mesh must turn away.

mod common;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use common::check;
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint};
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_client::HealthClient;
use zhongtai_mesh::tls::dev;
use zhongtai_mesh::{
    ChannelConfig, EtcdConfig, EtcdRegistry, MeshChannel, MeshTls, Registry, ServiceInstance,
};
use zhongtai_testkit::{EtcdServer, HealthServer, eventually, init_tracing};

/// A fresh folder under the system temp dir, removed when dropped.
struct ScratchDir(PathBuf);

impl ScratchDir {
    fn new() -> Self {
        let path = std::env::temp_dir().join(format!(
            "zt-mesh-tls-test-{}-{:016x}",
            std::process::id(),
            fastrand::u64(..)
        ));
        std::fs::create_dir_all(&path).unwrap_or_else(|e| panic!("create {path:?}: {e}"));
        Self(path)
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for ScratchDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A development PKI holding `names`.
fn dev_pki(names: &[&str]) -> ScratchDir {
    let dir = ScratchDir::new();
    dev::generate(dir.path(), names, 1).unwrap_or_else(|e| panic!("generate: {e}"));
    dir
}

fn identity(pki: &ScratchDir, name: &str) -> MeshTls {
    MeshTls::from_files(&dev::files_for(pki.path(), name))
        .unwrap_or_else(|e| panic!("load {name}: {e}"))
}

fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("read {path:?}: {e}"))
}

/// The gRPC health service over mutual TLS with `tls`'s identity, counting
/// the requests that get through TLS to it.
async fn tls_health_server(tls: &MeshTls) -> HealthServer {
    HealthServer::start_with_tls(tls.server_config()).await
}

fn registry(etcd: &EtcdServer) -> Arc<dyn Registry> {
    let config = EtcdConfig {
        endpoints: vec![etcd.endpoint()],
        prefix: "/zhongtai-test/services".to_string(),
        lease_ttl: Duration::from_secs(5),
        connect_timeout: Duration::from_millis(500),
        request_timeout: Duration::from_secs(1),
    };
    Arc::new(EtcdRegistry::new(config).unwrap_or_else(|e| panic!("config: {e}")))
}

/// A mesh channel to `service` as discovered in etcd, once `server` is
/// registered as its only instance, calling with `tls`.
async fn mesh_channel(
    etcd: &EtcdServer,
    server: &HealthServer,
    service: &str,
    tls: MeshTls,
) -> (MeshChannel, zhongtai_mesh::Registration) {
    let registry = registry(etcd);
    let registration = registry.register(ServiceInstance::new(
        service,
        "a",
        server.address.to_string(),
    ));
    let discovery = registry.discover(service);
    eventually(Duration::from_secs(10), "the instance in etcd", || async {
        (discovery.current().len() == 1).then_some(())
    })
    .await;
    let config = ChannelConfig {
        tls: Some(tls),
        default_deadline: Duration::from_secs(5),
        max_attempts: 1,
        ..ChannelConfig::default()
    };
    (MeshChannel::new(discovery, config), registration)
}

/// One health check through a plain tonic channel.
async fn check_direct(channel: Channel) -> Result<(), tonic::Status> {
    let request = tonic::Request::new(HealthCheckRequest {
        service: String::new(),
    });
    HealthClient::new(channel).check(request).await.map(|_| ())
}

fn https_endpoint(server: &HealthServer) -> Endpoint {
    Endpoint::from_shared(format!("https://{}", server.address))
        .unwrap_or_else(|e| panic!("endpoint: {e}"))
        .connect_timeout(Duration::from_secs(2))
        .timeout(Duration::from_secs(5))
}

/// A TLS channel that trusts the mesh CA and expects `approval`, with
/// whatever client identity `tls` sets.
fn tls_channel(server: &HealthServer, tls: ClientTlsConfig) -> Channel {
    https_endpoint(server)
        .tls_config(tls)
        .unwrap_or_else(|e| panic!("client tls: {e}"))
        .connect_lazy()
}

/// The failure and its causes, as a user reading the log would see them.
fn describe(status: &tonic::Status) -> String {
    let mut text = format!("{status}");
    let mut source = std::error::Error::source(status);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_service_with_a_mesh_certificate_calls_another_through_discovery() {
    init_tracing();
    let pki = dev_pki(&["approval", "catalog"]);
    let server = tls_health_server(&identity(&pki, "approval")).await;
    let etcd = EtcdServer::start();
    let (channel, _registration) =
        mesh_channel(&etcd, &server, "approval", identity(&pki, "catalog")).await;
    check(&channel)
        .await
        .unwrap_or_else(|s| panic!("check over mTLS: {}", describe(&s)));
}

/// Asserts that a call failed without reaching the service, then that a
/// mesh member's call to the same server gets through: the refusal was the
/// caller's credentials, not a broken server.
async fn assert_refused(
    server: &HealthServer,
    pki: &ScratchDir,
    outcome: Result<(), tonic::Status>,
) {
    let status = outcome
        .err()
        .unwrap_or_else(|| panic!("the call was answered"));
    println!("refused with: {}", describe(&status));
    assert_eq!(server.hits(), 0, "the request reached the service");
    let member = identity(pki, "catalog").client_config("approval");
    check_direct(tls_channel(server, member))
        .await
        .unwrap_or_else(|s| panic!("a mesh member's call: {}", describe(&s)));
    assert_eq!(server.hits(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plaintext_client_is_refused() {
    init_tracing();
    let pki = dev_pki(&["approval", "catalog"]);
    let server = tls_health_server(&identity(&pki, "approval")).await;
    let plaintext = Endpoint::from_shared(format!("http://{}", server.address))
        .unwrap_or_else(|e| panic!("endpoint: {e}"))
        .connect_timeout(Duration::from_secs(2))
        .timeout(Duration::from_secs(5))
        .connect_lazy();
    assert_refused(&server, &pki, check_direct(plaintext).await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_without_a_certificate_is_refused() {
    init_tracing();
    let pki = dev_pki(&["approval", "catalog"]);
    let server = tls_health_server(&identity(&pki, "approval")).await;
    // Trusts the mesh CA and expects approval: everything but an identity.
    let ca = Certificate::from_pem(read(&dev::files_for(pki.path(), "approval").ca));
    let anonymous = ClientTlsConfig::new()
        .ca_certificate(ca)
        .domain_name("approval");
    let outcome = check_direct(tls_channel(&server, anonymous)).await;
    assert_refused(&server, &pki, outcome).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_certificate_from_another_ca_is_refused() {
    init_tracing();
    let pki = dev_pki(&["approval", "catalog"]);
    let foreign = dev_pki(&["catalog"]);
    let server = tls_health_server(&identity(&pki, "approval")).await;
    // Trusts the mesh CA, so the server passes; only the client is foreign.
    let ours = dev::files_for(pki.path(), "approval");
    let theirs = dev::files_for(foreign.path(), "catalog");
    let impostor = MeshTls::from_pem(read(&ours.ca), read(&theirs.cert), read(&theirs.key))
        .unwrap_or_else(|e| panic!("load: {e}"));
    let outcome = check_direct(tls_channel(&server, impostor.client_config("approval"))).await;
    assert_refused(&server, &pki, outcome).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_whose_certificate_names_another_service_is_refused() {
    init_tracing();
    let pki = dev_pki(&["approval", "catalog"]);
    // A catalog instance registered (by mistake or malice) as approval.
    let server = tls_health_server(&identity(&pki, "catalog")).await;
    let etcd = EtcdServer::start();
    let (channel, _registration) =
        mesh_channel(&etcd, &server, "approval", identity(&pki, "approval")).await;
    let refused = check(&channel).await;
    let status = refused
        .err()
        .unwrap_or_else(|| panic!("the impostor server answered"));
    assert_eq!(status.code(), tonic::Code::Unavailable, "{status:?}");
    assert!(
        status
            .message()
            .contains("certificate not valid for name \"approval\""),
        "{}",
        status.message()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn certificates_added_by_a_later_run_trust_the_earlier_ones() {
    init_tracing();
    let dir = ScratchDir::new();
    dev::generate(dir.path(), &["approval"], 1).unwrap_or_else(|e| panic!("first run: {e}"));
    let server = tls_health_server(&identity(&dir, "approval")).await;
    let later =
        dev::generate(dir.path(), &["catalog"], 1).unwrap_or_else(|e| panic!("second run: {e}"));
    assert!(!later.ca_created);
    let catalog = identity(&dir, "catalog").client_config("approval");
    check_direct(tls_channel(&server, catalog))
        .await
        .unwrap_or_else(|s| panic!("call across runs: {}", describe(&s)));
}
