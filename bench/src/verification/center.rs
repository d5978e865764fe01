//! The system under test of P3: `zhongtai serve certificate` against real
//! PostgreSQL (a fresh database), etcd and RabbitMQ, and the code and
//! certificate it verifies, created through its own API as a department
//! and a citizen would.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context as _;
use tonic::Request;
use tonic::transport::Channel;
use zhongtai_contracts::certificate::v1 as pb;
use zhongtai_contracts::certificate::v1::certificate_service_client::CertificateServiceClient;
use zhongtai_contracts::certificate::v1::code_service_client::CodeServiceClient;
use zhongtai_contracts::common::v1::{Holder, IdDocumentType, Person, Tenant, holder};
use zhongtai_kit::Role;
use zhongtai_testkit::TestDatabase;

use crate::failover::zhongtai_serve::{DevAuth, REGISTERED, ZhongtaiServe, run_tag};
use crate::section::backing;

/// The platform's own tenant, which administers certificate types.
const PLATFORM: &str = "330000/big-data-bureau";
const HEALTH: &str = "331100/health-commission";
const HOLDER_ID: &str = "331102199001011234";
/// Whoever scans codes at a gate: any authenticated caller may verify.
const VERIFIER: &str = "331100/agricultural-bank";
const CERTIFICATE_TYPE: &str = "health-certificate";
const START_TIMEOUT: Duration = Duration::from_secs(120);
/// HTTP/2 flow-control windows of the load's connections: the 64 KiB
/// default holds only ~120 small requests in flight per connection.
pub const WINDOW_BYTES: u32 = 4 << 20;

/// A running certificate center with something to verify.
pub struct Center {
    pub process: ZhongtaiServe,
    pub address: SocketAddr,
    /// A citizen's personal code, as the holder's app shows it.
    pub code: pb::PresentationCode,
    /// The signed certificate behind it.
    pub certificate: pb::Certificate,
    /// The bearer token of the verifier making the calls.
    pub verifier_token: String,
    // Dropped last: the process must stop before its database goes.
    _database: TestDatabase,
    _auth: DevAuth,
}

impl Center {
    /// Starts the center (on the server core when `pin`) and issues a
    /// certificate and a personal code.
    pub async fn start(pin: bool) -> anyhow::Result<Self> {
        let etcd = backing("ZT_TEST_ETCD_ENDPOINTS")?;
        let amqp = backing("ZT_TEST_AMQP_URL")?;
        backing("ZT_TEST_POSTGRES_URL")?;
        // TestDatabase panics when PostgreSQL is unreachable: keep that
        // inside its task and report it as this section's error.
        let database = tokio::spawn(TestDatabase::create()).await.map_err(|_| {
            anyhow::anyhow!("cannot create a PostgreSQL database (ZT_TEST_POSTGRES_URL)")
        })?;
        let auth = DevAuth::new()?;
        let port = tokio::task::spawn_blocking(zhongtai_testkit::free_port)
            .await
            .context("no free local port")?;
        let address = SocketAddr::from(([127, 0, 0, 1], port));
        let tag = run_tag();
        let mut envs = auth.serve_env();
        envs.extend(
            [
                ("DATABASE_URL", database.url().to_owned()),
                ("ETCD_ENDPOINTS", etcd),
                ("AMQP_URL", amqp),
                ("ZHONGTAI_SERVER__LISTEN", address.to_string()),
                ("ZHONGTAI_MESH__PREFIX", format!("/{tag}/services")),
                ("ZHONGTAI_EVENTS__EXCHANGE", format!("{tag}.events")),
                ("ZHONGTAI_EVENTS__QUEUE_PREFIX", format!("{tag}.")),
                // The code must outlive the whole measurement.
                (
                    "ZHONGTAI_CERTIFICATE__CODE_VALIDITY_SECS",
                    "3600".to_owned(),
                ),
            ]
            .map(|(key, value)| (key.to_owned(), value)),
        );
        let mut process =
            ZhongtaiServe::spawn("certificate", "certificate", &envs, pin, auth.dir())?;
        process.wait_for_log(REGISTERED, START_TIMEOUT).await?;

        let channel = connect(address).await?;
        let certificate = issue_certificate(&channel, &auth).await.with_context(|| {
            format!(
                "setting up the certificate center failed; its log:\n{}",
                process.log_tail()
            )
        })?;
        let holder_token = auth.token(
            &format!("person:resident-id-card:{HOLDER_ID}"),
            "331100",
            &[Role::Viewer],
        )?;
        let code = CodeServiceClient::new(channel)
            .show_code(bearer(pb::ShowCodeRequest::default(), &holder_token)?)
            .await
            .context("ShowCode failed")?
            .into_inner()
            .code
            .context("ShowCode answered without a code")?;
        let verifier_token = auth.token("gate-scanner", VERIFIER, &[Role::Viewer])?;
        Ok(Self {
            process,
            address,
            code,
            certificate,
            verifier_token,
            _database: database,
            _auth: auth,
        })
    }
}

/// One HTTP/2 connection to `address`, Nagle off, wide windows.
pub async fn connect(address: SocketAddr) -> anyhow::Result<Channel> {
    Channel::from_shared(format!("http://{address}"))
        .context("a URI")?
        .tcp_nodelay(true)
        .initial_connection_window_size(Some(WINDOW_BYTES))
        .initial_stream_window_size(Some(WINDOW_BYTES))
        .connect()
        .await
        .with_context(|| format!("cannot connect to {address}"))
}

/// `message` with `authorization: Bearer <token>`.
pub fn bearer<T>(message: T, token: &str) -> anyhow::Result<Request<T>> {
    let mut request = Request::new(message);
    request.metadata_mut().insert(
        "authorization",
        format!("Bearer {token}")
            .parse()
            .context("a token is a header value")?,
    );
    Ok(request)
}

fn tenant(key: &str) -> Tenant {
    let (division, department) = key.split_once('/').unwrap_or((key, ""));
    Tenant {
        division_code: division.into(),
        department: department.into(),
    }
}

fn request_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// A health certificate type (its occupation shown in codes), the health
/// commission as its issuer, and one certificate for the holder.
async fn issue_certificate(channel: &Channel, auth: &DevAuth) -> anyhow::Result<pb::Certificate> {
    let mut certificates = CertificateServiceClient::new(channel.clone());
    let admin = auth.token("platform-admin", PLATFORM, &[Role::Admin])?;
    let claim = |name: &str, include_in_code: bool| pb::ClaimDefinition {
        name: name.into(),
        title: name.into(),
        r#type: pb::ClaimType::String as i32,
        required: true,
        include_in_code,
    };
    certificates
        .create_certificate_type(bearer(
            pb::CreateCertificateTypeRequest {
                request_id: request_id(),
                certificate_type: Some(pb::CertificateType {
                    code: CERTIFICATE_TYPE.into(),
                    name: "健康证明".into(),
                    description: "从业人员健康证明".into(),
                    claims: vec![claim("occupation", true), claim("examined_on", false)],
                    holder_kind: pb::HolderKind::Person as i32,
                    default_validity: Some(prost_types::Duration {
                        seconds: 365 * 86_400,
                        nanos: 0,
                    }),
                    ..Default::default()
                }),
            },
            &admin,
        )?)
        .await
        .context("CreateCertificateType failed")?;
    let issuer = certificates
        .create_issuer(bearer(
            pb::CreateIssuerRequest {
                request_id: request_id(),
                tenant: Some(tenant(HEALTH)),
                name: "丽水市卫生健康委员会".into(),
                certificate_types: vec![CERTIFICATE_TYPE.into()],
            },
            &admin,
        )?)
        .await
        .context("CreateIssuer failed")?
        .into_inner()
        .issuer
        .context("CreateIssuer answered without an issuer")?;
    let operator = auth.token("health-clerk", HEALTH, &[Role::Operator])?;
    let string_claim = |name: &str, value: &str| pb::Claim {
        name: name.into(),
        value: Some(pb::claim::Value::StringValue(value.into())),
    };
    certificates
        .issue_certificate(bearer(
            pb::IssueCertificateRequest {
                request_id: request_id(),
                certificate_type: CERTIFICATE_TYPE.into(),
                issuer_id: issuer.id,
                holder: Some(Holder {
                    holder: Some(holder::Holder::Person(Person {
                        name: "张三".into(),
                        id_type: IdDocumentType::ResidentIdCard as i32,
                        id_number: HOLDER_ID.into(),
                    })),
                }),
                claims: vec![
                    string_claim("occupation", "家政服务员"),
                    string_claim("examined_on", "2026-10-01"),
                ],
                ..Default::default()
            },
            &operator,
        )?)
        .await
        .context("IssueCertificate failed")?
        .into_inner()
        .certificate
        .context("IssueCertificate answered without a certificate")
}
