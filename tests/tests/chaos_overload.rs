//! Chaos: the certificate center and the capability gateway, each a real
//! `zhongtai serve` process on PostgreSQL, etcd and RabbitMQ with mutual TLS
//! and tokens, offered ten times the load they can carry for a bounded time.
//!
//! What an SRE watching the spike must see: neither process crashes, both
//! answer health SERVING afterwards and serve normal load again at once;
//! every refusal is a documented one with retry advice (HTTP 429/503 with
//! `Retry-After`, gRPC RESOURCE_EXHAUSTED/UNAVAILABLE with `RetryInfo`),
//! nothing hangs past its deadline and nothing fails as 500/INTERNAL/
//! UNKNOWN; code verification keeps being answered; memory stays bounded;
//! and every scan answered OK — before or during the spike — is recorded
//! exactly once (answered means durable: the scan batcher's promise).

#![allow(clippy::unwrap_used)] // helpers outside #[test] fns may panic: they are test code

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt as _, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tonic::Code;
use tonic::service::interceptor::InterceptedService;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;
use tonic_types::StatusExt as _;
use zhongtai_contracts::certificate::v1 as pb;
use zhongtai_contracts::certificate::v1::certificate_service_client::CertificateServiceClient;
use zhongtai_contracts::certificate::v1::code_service_client::CodeServiceClient;
use zhongtai_contracts::common::v1::{
    Holder, IdDocumentType, Organization, PageRequest, Period, Person, Tenant, holder,
};
use zhongtai_contracts::gateway::v1 as gw;
use zhongtai_contracts::gateway::v1::gateway_admin_service_client::GatewayAdminServiceClient;
use zhongtai_kit::Role;
use zhongtai_mesh::{ChannelConfig, EtcdConfig, EtcdRegistry, MeshChannel, Registry};
use zhongtai_scenarios::{BearerToken, Process, Security};
use zhongtai_testkit::{EtcdServer, TestDatabase, amqp_url, eventually, free_port};

/// Scans recorded before the spike, all of which must survive it.
const SCANS_BEFORE: usize = 200;
/// How long the closed loop measures what the gateway carries.
const CAPACITY_WINDOW: Duration = Duration::from_secs(2);
/// Concurrency of that closed loop.
const CAPACITY_WORKERS: usize = 8;
/// The spike: this many times the measured capacity, for this long.
const OVERLOAD_FACTOR: f64 = 10.0;
const OVERLOAD_WINDOW: Duration = Duration::from_secs(12);
/// Calls the generator keeps outstanding at most, so the test itself stays
/// bounded (arrivals beyond it are counted as not sent).
const MAX_OUTSTANDING: usize = 512;
/// The deadline every call carries; an answer later than this (plus a
/// little scheduling slack) counts as a hang.
const CALL_DEADLINE: Duration = Duration::from_secs(5);
const HANG_AFTER: Duration = Duration::from_secs(8);
/// Calls processed at once by each process: small, so two cores shared
/// with the load generator are enough to overload them.
const MAX_IN_FLIGHT: &str = "32";

const PLATFORM: &str = "330000/big-data-bureau";
const HEALTH: &str = "331100/health-commission";
const VENUE_TENANT: &str = "331100/culture-tourism";
const BANK: &str = "331100/agricultural-bank";
const HOLDER_ID: &str = "331102198805056789";
const VERIFY_ROUTE: &str = "/v1/codes:verify";
const VALID: &str = "VERIFICATION_OUTCOME_VALID";

fn request_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

fn tenant(key: &str) -> Tenant {
    let (division, department) = key.split_once('/').unwrap();
    Tenant {
        division_code: division.into(),
        department: department.into(),
    }
}

fn with_token<T>(message: T, token: &str) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    request
        .metadata_mut()
        .insert("authorization", Security::bearer(token));
    request
}

/// The two processes and what they run on.
struct Platform {
    _etcd: EtcdServer,
    _databases: Vec<TestDatabase>,
    security: Security,
    registry: EtcdRegistry,
    certificate: Process,
    gateway: Process,
    certificate_probe: SocketAddr,
    gateway_probe: SocketAddr,
    front_door: SocketAddr,
}

impl Platform {
    async fn start() -> Self {
        zhongtai_testkit::init_tracing();
        let etcd = EtcdServer::start();
        let security = Security::new();
        let exchange = format!("zt-chaos-{}", uuid::Uuid::new_v4().simple());
        let certificate_db = TestDatabase::create().await;
        let gateway_db = TestDatabase::create().await;
        let certificate_probe: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
        let gateway_probe: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
        let front_door: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
        let serve = |service: &str, db: &TestDatabase, probe: SocketAddr, extra: Vec<_>| {
            let mut envs: Vec<(&str, String)> = vec![
                ("ZHONGTAI_SERVER__LISTEN", "127.0.0.1:0".into()),
                ("ZHONGTAI_SERVER__METRICS_LISTEN", "127.0.0.1:0".into()),
                ("ZHONGTAI_SERVER__PROBE_LISTEN", probe.to_string()),
                ("ZHONGTAI_SERVER__MAX_IN_FLIGHT", MAX_IN_FLIGHT.into()),
                ("DATABASE_URL", db.url().to_string()),
                ("ETCD_ENDPOINTS", etcd.endpoint()),
                ("AMQP_URL", amqp_url()),
                ("ZHONGTAI_EVENTS__EXCHANGE", exchange.clone()),
                ("ZHONGTAI_EVENTS__QUEUE_PREFIX", exchange.clone()),
            ];
            envs.extend(security.serve_env(service));
            envs.extend(extra);
            let mut process = Process::spawn(service, &["serve", service], &envs);
            process.wait_for_output("registered in discovery", Duration::from_secs(60));
            process
        };
        let certificate = serve(
            "certificate",
            &certificate_db,
            certificate_probe,
            vec![("ZHONGTAI_CERTIFICATE__REFRESH_INTERVAL_MS", "100".into())],
        );
        let gateway = serve(
            "gateway",
            &gateway_db,
            gateway_probe,
            vec![
                ("ZHONGTAI_GATEWAY__LISTEN", front_door.to_string()),
                ("ZHONGTAI_GATEWAY__MAX_IN_FLIGHT", MAX_IN_FLIGHT.into()),
                ("ZHONGTAI_GATEWAY__CONFIG_REFRESH_MS", "100".into()),
                ("ZHONGTAI_GATEWAY__AUDIT_FLUSH_MS", "50".into()),
            ],
        );
        let registry = EtcdRegistry::new(EtcdConfig {
            endpoints: vec![etcd.endpoint()],
            ..EtcdConfig::default()
        })
        .unwrap();
        Self {
            _etcd: etcd,
            _databases: vec![certificate_db, gateway_db],
            security,
            registry,
            certificate,
            gateway,
            certificate_probe,
            gateway_probe,
            front_door,
        }
    }

    /// A channel to `service` through discovery that never retries, so the
    /// test sees every refusal the service gives.
    fn channel(&self, service: &str) -> MeshChannel {
        MeshChannel::new(
            self.registry.discover(service),
            ChannelConfig {
                tls: Some(self.security.client_tls()),
                max_attempts: 1,
                default_deadline: CALL_DEADLINE,
                ..ChannelConfig::default()
            },
        )
    }

    fn certificates(&self) -> CertificateServiceClient<MeshChannel> {
        CertificateServiceClient::new(self.channel("certificate"))
    }

    fn codes_as(&self, token: &str) -> CodeClient {
        CodeServiceClient::with_interceptor(self.channel("certificate"), BearerToken::new(token))
    }

    fn admin(&self) -> GatewayAdminServiceClient<MeshChannel> {
        GatewayAdminServiceClient::new(self.channel("gateway"))
    }
}

type CodeClient = CodeServiceClient<InterceptedService<MeshChannel, BearerToken>>;

/// What the spike works with: a holder's code, a venue, a gateway app.
struct Scene {
    payload: String,
    venue_id: String,
    venue_staff: String,
    venue_admin: String,
    /// The holder, who may list where their code was scanned.
    citizen: String,
    app: AppCredential,
}

/// A person certificate type, its issuer, a certificate for the holder,
/// the holder's code, a venue; `code.verify` opened in the gateway for a
/// bank's app.
async fn set_up(platform: &Platform) -> Scene {
    let security = &platform.security;
    let admin = security.token(PLATFORM, &[Role::Admin]);
    let mut certificates = platform.certificates();
    certificates
        .create_certificate_type(with_token(
            pb::CreateCertificateTypeRequest {
                request_id: request_id(),
                certificate_type: Some(pb::CertificateType {
                    code: "health-certificate".into(),
                    name: "健康证明".into(),
                    description: "health certificate".into(),
                    claims: vec![pb::ClaimDefinition {
                        name: "occupation".into(),
                        title: "occupation".into(),
                        r#type: pb::ClaimType::String as i32,
                        required: true,
                        include_in_code: true,
                    }],
                    holder_kind: pb::HolderKind::Person as i32,
                    default_validity: Some(prost_types::Duration {
                        seconds: 365 * 86_400,
                        nanos: 0,
                    }),
                    ..Default::default()
                }),
            },
            &admin,
        ))
        .await
        .unwrap();
    let issuer = certificates
        .create_issuer(with_token(
            pb::CreateIssuerRequest {
                request_id: request_id(),
                tenant: Some(tenant(HEALTH)),
                name: "丽水市卫生健康委员会".into(),
                certificate_types: vec!["health-certificate".into()],
            },
            &admin,
        ))
        .await
        .unwrap()
        .into_inner()
        .issuer
        .unwrap();
    certificates
        .issue_certificate(with_token(
            pb::IssueCertificateRequest {
                request_id: request_id(),
                certificate_type: "health-certificate".into(),
                issuer_id: issuer.id,
                holder: Some(Holder {
                    holder: Some(holder::Holder::Person(Person {
                        name: "王芳".into(),
                        id_type: IdDocumentType::ResidentIdCard as i32,
                        id_number: HOLDER_ID.into(),
                    })),
                }),
                claims: vec![pb::Claim {
                    name: "occupation".into(),
                    value: Some(pb::claim::Value::StringValue("教师".into())),
                }],
                ..Default::default()
            },
            &security.token(HEALTH, &[Role::Operator]),
        ))
        .await
        .unwrap();

    let citizen = security.token_of(
        &format!("person:resident-id-card:{HOLDER_ID}"),
        "331100",
        &[Role::Viewer],
    );
    let code = platform
        .codes_as(&citizen)
        .show_code(pb::ShowCodeRequest::default())
        .await
        .unwrap()
        .into_inner()
        .code
        .unwrap();
    let venue_staff = security.token(VENUE_TENANT, &[Role::Operator]);
    let venue = platform
        .codes_as(&venue_staff)
        .register_venue(pb::RegisterVenueRequest {
            request_id: request_id(),
            name: "丽水市博物馆".into(),
            address: "丽水市莲都区".into(),
            division_code: "331100".into(),
        })
        .await
        .unwrap()
        .into_inner()
        .venue
        .unwrap();

    let app = open_code_verification(platform).await;
    Scene {
        payload: code.qr_payload,
        venue_id: venue.id,
        venue_staff,
        venue_admin: security.token(VENUE_TENANT, &[Role::Admin]),
        citizen,
        app,
    }
}

/// An app's credential as the integrator keeps it.
#[derive(Clone)]
struct AppCredential {
    app_key: String,
    secret: String,
}

/// Opens `code.verify` (critical, idempotent) and registers a bank's app
/// allowed to call it.
async fn open_code_verification(platform: &Platform) -> AppCredential {
    let token = platform
        .security
        .token_of("platform-admin", PLATFORM, &[Role::Admin]);
    let mut admin = platform.admin();
    admin
        .create_capability(with_token(
            gw::CreateCapabilityRequest {
                request_id: request_id(),
                capability: Some(gw::Capability {
                    name: "code.verify".into(),
                    version: "v1".into(),
                    title: "Verify a presentation code".into(),
                    description: "code verification for integrators".into(),
                    http: Some(gw::HttpRoute {
                        method: gw::HttpMethod::Post as i32,
                        route_template: VERIFY_ROUTE.into(),
                        body: "*".into(),
                    }),
                    backend: Some(gw::BackendMethod {
                        service: "certificate".into(),
                        grpc_method: "/zhongtai.certificate.v1.CodeService/VerifyCode".into(),
                    }),
                    timeout: Some(prost_types::Duration {
                        seconds: 5,
                        nanos: 0,
                    }),
                    idempotent: true,
                    priority: gw::CapabilityPriority::Critical as i32,
                    ..Default::default()
                }),
            },
            &token,
        ))
        .await
        .unwrap();
    admin
        .publish_capability(with_token(
            gw::PublishCapabilityRequest {
                name: "code.verify".into(),
                version: "v1".into(),
            },
            &token,
        ))
        .await
        .unwrap();
    let app = admin
        .register_app(with_token(
            gw::RegisterAppRequest {
                request_id: request_id(),
                name: "bank".into(),
                owner: Some(Organization {
                    name: "Agricultural Bank Ltd.".into(),
                    unified_social_credit_code: "91331100MA2A0XYZ1K".into(),
                }),
                contact: Some(gw::Contact {
                    name: "Li Lei".into(),
                    email: "lilei@example.com".into(),
                    phone: "13800000000".into(),
                }),
                allowed_capabilities: vec!["code.verify".into()],
                sponsor: Some(tenant(BANK)),
            },
            &token,
        ))
        .await
        .unwrap()
        .into_inner()
        .app
        .unwrap();
    let issued = admin
        .issue_credential(with_token(
            gw::IssueCredentialRequest {
                app_id: app.id,
                validity: None,
            },
            &token,
        ))
        .await
        .unwrap()
        .into_inner();
    AppCredential {
        app_key: issued.credential.unwrap().app_key,
        secret: issued.secret,
    }
}

/// How one call ended, as its caller sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Outcome {
    /// Answered correctly (the code verified VALID).
    Answered,
    /// Refused; `retry_advised` when the answer says when to come back.
    Refused { label: String, retry_advised: bool },
    /// Anything a caller must never see: 500, INTERNAL, UNKNOWN, a wrong
    /// answer, a broken connection.
    Unexpected(String),
    /// No answer within the deadline.
    Hung,
}

/// The three kinds of calls the spike mixes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    /// Signed HTTP/JSON `code.verify` through the gateway's front door.
    Gateway,
    /// VerifyCode on the certificate center.
    Verify,
    /// ScanCode on the certificate center.
    Scan,
}

/// The callers of the three kinds.
#[derive(Clone)]
struct Callers {
    front_door: SocketAddr,
    app: AppCredential,
    http: Client<HttpConnector, Full<Bytes>>,
    verifier: CodeClient,
    scanner: CodeClient,
    payload: String,
    venue_id: String,
}

impl Callers {
    fn new(platform: &Platform, scene: &Scene) -> Self {
        // The verifier is a bank calling directly; any authenticated caller
        // may verify.
        let bank = platform.security.token(BANK, &[Role::Viewer]);
        Self {
            front_door: platform.front_door,
            app: scene.app.clone(),
            http: Client::builder(TokioExecutor::new())
                .pool_max_idle_per_host(MAX_OUTSTANDING)
                .build_http(),
            verifier: platform.codes_as(&bank),
            scanner: platform.codes_as(&scene.venue_staff),
            payload: scene.payload.clone(),
            venue_id: scene.venue_id.clone(),
        }
    }

    /// One call of `kind`; a scan's id is returned with its outcome.
    async fn call(&self, kind: Kind) -> (Outcome, Option<String>) {
        let call = async {
            match kind {
                Kind::Gateway => (self.through_gateway().await, None),
                Kind::Verify => (self.verify().await, None),
                Kind::Scan => {
                    let scan_id = request_id();
                    (self.scan(&scan_id).await, Some(scan_id))
                }
            }
        };
        match tokio::time::timeout(HANG_AFTER, call).await {
            Ok(ended) => ended,
            Err(_) => (Outcome::Hung, None),
        }
    }

    async fn through_gateway(&self) -> Outcome {
        let body = serde_json::json!({ "payload": self.payload }).to_string();
        let mut headers = http::HeaderMap::new();
        headers.insert(
            http::header::HOST,
            self.front_door.to_string().parse().unwrap(),
        );
        headers.insert(
            http::header::CONTENT_TYPE,
            http::HeaderValue::from_static("application/json"),
        );
        let signature = zhongtai_gateway::signing::sign(
            &self.app.app_key,
            self.app.secret.as_bytes(),
            "POST",
            VERIFY_ROUTE,
            None,
            &headers,
            body.as_bytes(),
            chrono::Utc::now().timestamp(),
            &uuid::Uuid::new_v4().simple().to_string(),
        );
        let mut request = http::Request::builder()
            .method("POST")
            .uri(format!("http://{}{VERIFY_ROUTE}", self.front_door))
            .body(Full::new(Bytes::from(body)))
            .unwrap();
        *request.headers_mut() = headers;
        request.headers_mut().extend(signature);
        let response = match self.http.request(request).await {
            Ok(response) => response,
            Err(e) => return Outcome::Unexpected(format!("HTTP connection failed: {e}")),
        };
        let status = response.status().as_u16();
        let retry_after = response.headers().contains_key(http::header::RETRY_AFTER);
        let bytes = match response.into_body().collect().await {
            Ok(collected) => collected.to_bytes(),
            Err(e) => return Outcome::Unexpected(format!("HTTP {status}, body broken: {e}")),
        };
        let json: serde_json::Value = serde_json::from_slice(&bytes).unwrap_or_default();
        match status {
            200 if json["result"]["outcome"] == VALID => Outcome::Answered,
            200 => Outcome::Unexpected(format!("HTTP 200 answering {json}")),
            429 | 503 => Outcome::Refused {
                label: format!(
                    "HTTP {status} {}",
                    json["error"]["reason"].as_str().unwrap_or("(no reason)")
                ),
                retry_advised: retry_after,
            },
            _ => Outcome::Unexpected(format!(
                "HTTP {status} {}",
                json["error"]["reason"].as_str().unwrap_or("(no reason)")
            )),
        }
    }

    async fn verify(&self) -> Outcome {
        let mut request = tonic::Request::new(pb::VerifyCodeRequest {
            payload: self.payload.clone(),
        });
        request.set_timeout(CALL_DEADLINE);
        match self.verifier.clone().verify_code(request).await {
            Ok(response) => {
                let outcome = response
                    .into_inner()
                    .result
                    .map(|r| r.outcome())
                    .unwrap_or_default();
                if outcome == pb::VerificationOutcome::Valid {
                    Outcome::Answered
                } else {
                    Outcome::Unexpected(format!("VerifyCode answered {outcome:?}"))
                }
            }
            Err(status) => grpc_outcome("VerifyCode", &status),
        }
    }

    async fn scan(&self, scan_id: &str) -> Outcome {
        let mut request = tonic::Request::new(pb::ScanCodeRequest {
            scan_id: scan_id.to_string(),
            venue_id: self.venue_id.clone(),
            payload: self.payload.clone(),
            device_id: "gate-1".into(),
            ..Default::default()
        });
        request.set_timeout(CALL_DEADLINE);
        match self.scanner.clone().scan_code(request).await {
            Ok(response) => match response.into_inner().scan {
                Some(scan) if scan.outcome() == pb::VerificationOutcome::Valid => Outcome::Answered,
                other => Outcome::Unexpected(format!("ScanCode answered {other:?}")),
            },
            Err(status) => grpc_outcome("ScanCode", &status),
        }
    }
}

/// A gRPC error as a refusal (the documented overload answers) or as
/// something no caller may see.
fn grpc_outcome(method: &str, status: &tonic::Status) -> Outcome {
    let reason = status
        .get_details_error_info()
        .map(|info| info.reason)
        .unwrap_or_else(|| "(no reason)".into());
    let label = format!("{method} {:?} {reason}", status.code());
    match status.code() {
        Code::ResourceExhausted | Code::Unavailable => Outcome::Refused {
            retry_advised: status.get_details_retry_info().is_some(),
            label,
        },
        Code::DeadlineExceeded | Code::Cancelled => Outcome::Hung,
        _ => Outcome::Unexpected(format!("{label}: {}", status.message())),
    }
}

/// What a stretch of calls came to, per kind.
#[derive(Default, Debug)]
struct Tally {
    answered: BTreeMap<Kind, usize>,
    refused: BTreeMap<String, usize>,
    refused_without_advice: BTreeMap<String, usize>,
    unexpected: BTreeMap<String, usize>,
    hung: BTreeMap<Kind, usize>,
    /// Scans answered OK.
    recorded_scans: Vec<String>,
    /// Arrivals the generator did not send: its outstanding cap was full.
    not_sent: usize,
    sent: usize,
}

impl Tally {
    fn add(&mut self, kind: Kind, outcome: Outcome, scan_id: Option<String>) {
        match outcome {
            Outcome::Answered => {
                *self.answered.entry(kind).or_default() += 1;
                if let Some(scan_id) = scan_id {
                    self.recorded_scans.push(scan_id);
                }
            }
            Outcome::Refused {
                label,
                retry_advised,
            } => {
                *self.refused.entry(label.clone()).or_default() += 1;
                if !retry_advised {
                    *self.refused_without_advice.entry(label).or_default() += 1;
                }
            }
            Outcome::Unexpected(what) => *self.unexpected.entry(what).or_default() += 1,
            Outcome::Hung => *self.hung.entry(kind).or_default() += 1,
        }
    }

    fn answered(&self, kind: Kind) -> usize {
        self.answered.get(&kind).copied().unwrap_or_default()
    }

    fn refusals(&self) -> usize {
        self.refused.values().sum()
    }
}

/// Closed loop through the gateway: calls per second answered.
async fn gateway_capacity(callers: &Callers) -> f64 {
    let started = Instant::now();
    let mut workers = JoinSet::new();
    for _ in 0..CAPACITY_WORKERS {
        let callers = callers.clone();
        workers.spawn(async move {
            let mut answered = 0usize;
            while started.elapsed() < CAPACITY_WINDOW {
                if callers.call(Kind::Gateway).await.0 == Outcome::Answered {
                    answered += 1;
                }
            }
            answered
        });
    }
    let answered: usize = workers.join_all().await.into_iter().sum();
    answered as f64 / started.elapsed().as_secs_f64()
}

/// Open loop: arrivals at `rate` per second for `window` whatever the
/// answers, cycling gateway, gateway, VerifyCode, ScanCode; at most
/// `MAX_OUTSTANDING` in flight.
async fn offer(callers: &Callers, rate: f64, window: Duration) -> Tally {
    const MIX: [Kind; 4] = [Kind::Gateway, Kind::Gateway, Kind::Verify, Kind::Scan];
    let outstanding = Arc::new(Semaphore::new(MAX_OUTSTANDING));
    let mut calls = JoinSet::new();
    let mut tally = Tally::default();
    let mut arrivals = 0u64;
    let started = Instant::now();
    let mut ticker = tokio::time::interval(Duration::from_millis(1));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    while started.elapsed() < window {
        ticker.tick().await;
        let due = (rate * started.elapsed().as_secs_f64()) as u64;
        while arrivals < due {
            let kind = MIX[(arrivals % MIX.len() as u64) as usize];
            arrivals += 1;
            let Ok(permit) = outstanding.clone().try_acquire_owned() else {
                tally.not_sent += 1;
                continue;
            };
            tally.sent += 1;
            let callers = callers.clone();
            calls.spawn(async move {
                let (outcome, scan_id) = callers.call(kind).await;
                drop(permit);
                (kind, outcome, scan_id)
            });
        }
        while let Some(Ok((kind, outcome, scan_id))) = calls.try_join_next() {
            tally.add(kind, outcome, scan_id);
        }
    }
    // Every call is bounded by HANG_AFTER, so this ends.
    while let Some(joined) = calls.join_next().await {
        let (kind, outcome, scan_id) = joined.unwrap();
        tally.add(kind, outcome, scan_id);
    }
    tally
}

/// `VmRSS` (or another `/proc/<pid>/status` field) in KiB.
fn status_kib(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or_default()
}

/// Samples a process's resident memory until stopped; the highest sample.
struct RssSampler {
    stop: Arc<AtomicBool>,
    peak_kib: Arc<AtomicU64>,
    thread: std::thread::JoinHandle<()>,
}

impl RssSampler {
    fn start(pid: u32) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let peak_kib = Arc::new(AtomicU64::new(status_kib(pid, "VmRSS")));
        let thread = {
            let (stop, peak_kib) = (stop.clone(), peak_kib.clone());
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    peak_kib.fetch_max(status_kib(pid, "VmRSS"), Ordering::Relaxed);
                    std::thread::sleep(Duration::from_millis(50));
                }
            })
        };
        Self {
            stop,
            peak_kib,
            thread,
        }
    }

    fn stop(self) -> u64 {
        self.stop.store(true, Ordering::Relaxed);
        self.thread.join().unwrap();
        self.peak_kib.load(Ordering::Relaxed)
    }
}

/// Resident memory of one process around the spike, in MiB.
#[derive(Debug)]
struct Memory {
    before: f64,
    peak: f64,
    after: f64,
}

impl Memory {
    /// Below both `before + 256 MiB` and `3 × before`. A debug build of
    /// either process sits near 75–90 MiB before and grows by a few MiB
    /// through the spike here, so the bound leaves well over 100 MiB for
    /// allocator and connection buffers and a full scan queue (20 000 scans
    /// of well under 1 KiB); a process that queued what it should refuse,
    /// or kept state per offered call, grows with the spike and breaks it.
    fn check(&self, name: &str) {
        for (when, mib) in [("peak", self.peak), ("after", self.after)] {
            assert!(
                mib < self.before + 256.0 && mib < self.before * 3.0,
                "{name}'s memory {when} the spike is {mib:.0} MiB, from {:.0} MiB before: \
                 not bounded ({self:?})",
                self.before
            );
        }
    }
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

/// The health protocol on a process's plaintext probe port.
async fn health(probe: SocketAddr) -> Result<ServingStatus, String> {
    let channel = tonic::transport::Endpoint::from_shared(format!("http://{probe}"))
        .map_err(|e| e.to_string())?
        .connect_timeout(Duration::from_secs(2))
        .timeout(Duration::from_secs(2))
        .connect()
        .await
        .map_err(|e| e.to_string())?;
    let answer = HealthClient::new(channel)
        .check(tonic_health::pb::HealthCheckRequest::default())
        .await
        .map_err(|s| format!("{:?} {}", s.code(), s.message()))?;
    Ok(answer.into_inner().status())
}

/// Where a scan listing looks: one venue (its tracers) or one holder
/// (themselves).
#[derive(Clone, Copy)]
enum ScanListing {
    Venue,
    Holder,
}

/// Every scan listed in the window since `since`, by scan id, with how
/// many times each is listed.
async fn listed_scans(
    platform: &Platform,
    scene: &Scene,
    listing: ScanListing,
    since: chrono::DateTime<chrono::Utc>,
) -> BTreeMap<String, usize> {
    let period = Period {
        start_time: Some(zhongtai_kit::proto::timestamp(since)),
        end_time: Some(zhongtai_kit::proto::timestamp(
            chrono::Utc::now() + chrono::Duration::seconds(5),
        )),
    };
    let mut listed = BTreeMap::new();
    let mut page_token = String::new();
    loop {
        let page = Some(PageRequest {
            page_size: 500,
            page_token: page_token.clone(),
        });
        let (scans, next) = match listing {
            ScanListing::Venue => {
                let answer = platform
                    .codes_as(&scene.venue_admin)
                    .list_venue_scans(pb::ListVenueScansRequest {
                        venue_id: scene.venue_id.clone(),
                        period: Some(period),
                        page,
                    })
                    .await
                    .unwrap()
                    .into_inner();
                (answer.scans, answer.page)
            }
            ScanListing::Holder => {
                let answer = platform
                    .codes_as(&scene.citizen)
                    .list_holder_scans(pb::ListHolderScansRequest {
                        holder: None,
                        period: Some(period),
                        page,
                    })
                    .await
                    .unwrap()
                    .into_inner();
                (answer.scans, answer.page)
            }
        };
        for scan in scans {
            *listed.entry(scan.scan_id).or_insert(0) += 1;
        }
        page_token = next.map(|p| p.next_page_token).unwrap_or_default();
        if page_token.is_empty() {
            return listed;
        }
    }
}

/// Scans of `ids` not listed exactly once.
fn not_listed_once(ids: &[String], listed: &BTreeMap<String, usize>) -> Vec<(String, usize)> {
    ids.iter()
        .map(|id| (id.clone(), listed.get(id).copied().unwrap_or_default()))
        .filter(|(_, times)| *times != 1)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gateway_and_certificate_center_survive_ten_times_their_capacity() {
    let mut platform = Platform::start().await;
    let scene = set_up(&platform).await;
    let callers = Callers::new(&platform, &scene);
    let since = chrono::Utc::now() - chrono::Duration::seconds(5);

    // The configuration reaches the gateway within its refresh interval.
    eventually(
        Duration::from_secs(15),
        "the gateway serves code.verify",
        || async { (callers.call(Kind::Gateway).await.0 == Outcome::Answered).then_some(()) },
    )
    .await;

    // Scans recorded before the spike, a few gates at a time.
    let mut before = Tally::default();
    let shared = Arc::new(Mutex::new(Vec::new()));
    let mut gates = JoinSet::new();
    for _ in 0..8 {
        let (callers, shared) = (callers.clone(), shared.clone());
        gates.spawn(async move {
            for _ in 0..SCANS_BEFORE / 8 {
                let ended = callers.call(Kind::Scan).await;
                shared.lock().unwrap().push(ended);
            }
        });
    }
    gates.join_all().await;
    for (outcome, scan_id) in std::mem::take(&mut *shared.lock().unwrap()) {
        before.add(Kind::Scan, outcome, scan_id);
    }
    assert_eq!(
        before.recorded_scans.len(),
        SCANS_BEFORE,
        "every scan at normal load is answered OK: {before:?}"
    );

    let capacity = gateway_capacity(&callers).await;
    assert!(
        capacity > 0.0,
        "the gateway answered nothing at normal load"
    );
    let rate = capacity * OVERLOAD_FACTOR;

    let pids = [
        ("certificate", platform.certificate.pid()),
        ("gateway", platform.gateway.pid()),
    ];
    let rss_before: Vec<u64> = pids
        .iter()
        .map(|(_, pid)| status_kib(*pid, "VmRSS"))
        .collect();
    let samplers: Vec<RssSampler> = pids
        .iter()
        .map(|(_, pid)| RssSampler::start(*pid))
        .collect();
    let spike_started = Instant::now();
    let spike = offer(&callers, rate, OVERLOAD_WINDOW).await;
    let spike_took = spike_started.elapsed();
    let peaks: Vec<u64> = samplers.into_iter().map(RssSampler::stop).collect();

    // Right after: both processes alive, SERVING, and normal load answered.
    assert!(
        platform.certificate.is_running(),
        "the certificate center died under the spike:\n{}",
        platform.certificate.output()
    );
    assert!(
        platform.gateway.is_running(),
        "the gateway died under the spike:\n{}",
        platform.gateway.output()
    );
    for (name, probe) in [
        ("certificate", platform.certificate_probe),
        ("gateway", platform.gateway_probe),
    ] {
        let status = health(probe).await;
        assert_eq!(
            status,
            Ok(ServingStatus::Serving),
            "{name} health after the spike"
        );
    }
    let mut recovery = Tally::default();
    for kind in [Kind::Gateway, Kind::Verify, Kind::Scan] {
        // The gateway's adaptive limit may still be low for a moment.
        eventually(
            Duration::from_secs(5),
            "calls succeed again after the spike",
            || async { (callers.call(kind).await.0 == Outcome::Answered).then_some(()) },
        )
        .await;
        for _ in 0..20 {
            let (outcome, scan_id) = callers.call(kind).await;
            recovery.add(kind, outcome, scan_id);
        }
    }

    let memory: Vec<Memory> = pids
        .iter()
        .zip(&rss_before)
        .zip(&peaks)
        .map(|(((_, pid), before), peak)| {
            let after = status_kib(*pid, "VmRSS");
            // The kernel's high-water mark catches what sampling missed.
            let high_water = status_kib(*pid, "VmHWM");
            Memory {
                before: mib(*before),
                peak: mib((*peak).max(after).max(high_water)),
                after: mib(after),
            }
        })
        .collect();

    println!(
        "chaos overload: capacity through the gateway {capacity:.0} calls/s (closed loop, \
         {CAPACITY_WORKERS} callers); offered {rate:.0}/s for {OVERLOAD_WINDOW:?} \
         (took {spike_took:?}): sent {}, not sent at the {MAX_OUTSTANDING}-call cap {}",
        spike.sent, spike.not_sent
    );
    println!(
        "  answered: gateway {} ({:.0}/s), VerifyCode {}, ScanCode {}",
        spike.answered(Kind::Gateway),
        spike.answered(Kind::Gateway) as f64 / spike_took.as_secs_f64(),
        spike.answered(Kind::Verify),
        spike.answered(Kind::Scan)
    );
    println!("  refused: {:?}", spike.refused);
    println!(
        "  refused without retry advice: {:?}",
        spike.refused_without_advice
    );
    println!(
        "  unexpected: {:?}; hung: {:?}",
        spike.unexpected, spike.hung
    );
    for ((name, _), memory) in pids.iter().zip(&memory) {
        println!(
            "  {name} RSS: before {:.0} MiB, peak {:.0} MiB, after {:.0} MiB",
            memory.before, memory.peak, memory.after
        );
    }

    // What callers saw during the spike.
    assert!(
        spike.refusals() > 0,
        "the spike overloaded nothing, so it showed nothing: {spike:?}"
    );
    assert!(
        spike.unexpected.is_empty(),
        "answers no caller may see under overload: {:?}",
        spike.unexpected
    );
    assert!(
        spike.hung.is_empty(),
        "calls unanswered past their {CALL_DEADLINE:?} deadline: {:?}",
        spike.hung
    );
    assert!(
        spike.refused_without_advice.is_empty(),
        "refusals without retry advice: {:?}",
        spike.refused_without_advice
    );
    for kind in [Kind::Gateway, Kind::Verify, Kind::Scan] {
        assert!(
            spike.answered(kind) > 0,
            "no {kind:?} call was answered during the spike: {spike:?}"
        );
    }
    assert!(
        recovery.unexpected.is_empty() && recovery.hung.is_empty() && recovery.refused.is_empty(),
        "normal load right after the spike is not served: {recovery:?}"
    );

    for ((name, _), memory) in pids.iter().zip(&memory) {
        memory.check(name);
    }

    // Every scan answered OK is recorded, exactly once; nothing twice; the
    // venue's tracers and the holder see the same scans.
    let listed = listed_scans(&platform, &scene, ScanListing::Venue, since).await;
    let lost_before = not_listed_once(&before.recorded_scans, &listed);
    assert!(
        lost_before.is_empty(),
        "scans recorded before the spike not listed exactly once: {lost_before:?}"
    );
    let lost_during = not_listed_once(&spike.recorded_scans, &listed);
    assert!(
        lost_during.is_empty(),
        "{} of {} scans answered OK during the spike not listed exactly once: {:?}",
        lost_during.len(),
        spike.recorded_scans.len(),
        &lost_during[..lost_during.len().min(10)]
    );
    let twice: Vec<_> = listed.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "scans listed more than once: {twice:?}");
    let holders_view = listed_scans(&platform, &scene, ScanListing::Holder, since).await;
    assert_eq!(
        holders_view, listed,
        "the holder's scans differ from the venue's"
    );
    println!(
        "  scans listed at the venue and for the holder: {} ({} before, {} answered OK \
         during the spike, {} after)",
        listed.len(),
        before.recorded_scans.len(),
        spike.recorded_scans.len(),
        recovery.recorded_scans.len()
    );

    for process in [&mut platform.certificate, &mut platform.gateway] {
        assert!(
            !process.output().contains("panicked"),
            "{}",
            process.output()
        );
        process.stop_gracefully(Duration::from_secs(20));
    }
}
