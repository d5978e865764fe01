//! Everything that touches the gateway: starting it in-process against a
//! fresh PostgreSQL database, opening the benchmarked capability through
//! the admin API, and signing calls the way integrators do.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::Context as _;
use base64::Engine as _;
use http::{HeaderMap, HeaderValue};
use tokio_util::sync::CancellationToken;
use tonic::metadata::{MetadataKey, MetadataMap, MetadataValue};
use zhongtai_contracts::common::v1::{Organization, Tenant};
use zhongtai_contracts::gateway::v1 as gw;
use zhongtai_contracts::gateway::v1::gateway_admin_service_client::GatewayAdminServiceClient;
use zhongtai_kit::auth::{DevIssuer, JwksSource, KeySet, TokenVerifier};
use zhongtai_kit::config::{BusKind, DatabaseConfig, EventsConfig, GatewayConfig, ServerConfig};
use zhongtai_kit::{Role, Secret, ServiceSettings, TenantId};
use zhongtai_mesh::{ChannelConfig, Registration, ServiceInstance};

use crate::client::{Authenticator, Target};
use crate::payload;
use crate::serve::GatewayEndpoint;

/// The platform operator's tenant, which opens capabilities.
const PLATFORM_TENANT: &str = "330000/big-data-bureau";
/// The name the backend is registered under in discovery.
const BACKEND_SERVICE: &str = "certificate";
/// The benchmarked capability.
const CAPABILITY: &str = "bench.verify";

/// A running gateway and what keeps it running.
pub struct RunningGateway {
    /// Where integrators call it, and the app credential to sign with.
    pub endpoint: GatewayEndpoint,
    shutdown: CancellationToken,
    _service: zhongtai_kit::service::RunningService,
    _registration: Registration,
    _platform: zhongtai_kit::Platform,
    // Last: the database is dropped after the service has been told to stop.
    _database: zhongtai_testkit::TestDatabase,
}

impl Drop for RunningGateway {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

/// Starts the gateway (with `max_in_flight`, or the configured default),
/// routes `bench.verify` to
/// `backend`, and returns once a signed call through it answers OK.
pub async fn start(
    dir: &Path,
    backend: SocketAddr,
    max_in_flight: Option<usize>,
) -> anyhow::Result<RunningGateway> {
    let shutdown = CancellationToken::new();
    let platform = zhongtai_kit::Platform::embedded(ChannelConfig::default());
    let registration = platform.registry().register(ServiceInstance::new(
        BACKEND_SERVICE,
        "bench-backend-1",
        backend.to_string(),
    ));
    let issuer = DevIssuer::load_or_create(dir).context("cannot create the token issuer")?;
    let keys = KeySet::load(
        JwksSource::File(DevIssuer::jwks_path(dir)),
        Duration::from_secs(60),
    )
    .await
    .context("cannot load the issuer's JWKS")?;
    let tokens = Arc::new(TokenVerifier::new(Arc::new(keys), DevIssuer::rules()));

    let defaults = GatewayConfig::default();
    let config = GatewayConfig {
        listen: "127.0.0.1:0".into(),
        secret_encryption_key: Secret::new(
            base64::engine::general_purpose::STANDARD.encode(fastrand_key()),
        ),
        token_signing_key: Secret::new(issuer.pkcs8_base64().into()),
        token_key_id: issuer.key_id().into(),
        max_in_flight: max_in_flight.unwrap_or(defaults.max_in_flight),
        ..defaults.clone()
    };
    let module = zhongtai_gateway::GatewayModule::new(
        config,
        zhongtai_kit::auth::DEV_ISSUER,
        zhongtai_kit::auth::DEFAULT_AUDIENCE,
    )?;
    let front_door: SocketAddr = module.front_door_addr();

    let database = zhongtai_testkit::TestDatabase::create().await;
    let settings = ServiceSettings {
        server: ServerConfig {
            listen: "127.0.0.1:0".into(),
            metrics_listen: None,
            ..Default::default()
        },
        database: DatabaseConfig {
            url: Secret::new(database.url().to_owned()),
            ..Default::default()
        },
        events: EventsConfig {
            bus: BusKind::InProcess,
            ..Default::default()
        },
        tokens,
        tls: None,
    };
    let running =
        zhongtai_kit::service::start(module, settings, platform.clone(), shutdown.clone())
            .await
            .context("cannot start the gateway")?;

    let token = issuer.issue(
        "bench",
        &TenantId::from_key(PLATFORM_TENANT)?,
        &[Role::Admin],
        Duration::from_secs(3600),
    )?;
    let credential = configure(running.local_addr, &token).await?;
    let endpoint = GatewayEndpoint {
        addr: front_door,
        app_key: credential.0,
        secret: credential.1,
    };
    wait_until_serving(&endpoint).await?;
    Ok(RunningGateway {
        endpoint,
        shutdown,
        _service: running,
        _database: database,
        _registration: registration,
        _platform: platform,
    })
}

fn fastrand_key() -> [u8; 32] {
    let mut key = [0u8; 32];
    key.iter_mut().for_each(|byte| *byte = fastrand::u8(..));
    key
}

fn with_token<T>(message: T, token: &str) -> anyhow::Result<tonic::Request<T>> {
    let mut request = tonic::Request::new(message);
    request
        .metadata_mut()
        .insert("authorization", format!("Bearer {token}").parse()?);
    Ok(request)
}

/// Opens the capability, registers an app with a credential and a policy
/// that exercises the quota and rate-limit paths without ever refusing.
async fn configure(admin_addr: SocketAddr, token: &str) -> anyhow::Result<(String, String)> {
    let mut admin = GatewayAdminServiceClient::connect(format!("http://{admin_addr}")).await?;
    let capability = gw::Capability {
        name: CAPABILITY.into(),
        version: "v1".into(),
        title: "Benchmark certificate verification".into(),
        description: "VerifyCertificate through the gateway".into(),
        http: Some(gw::HttpRoute {
            method: gw::HttpMethod::Post as i32,
            route_template: "/v1/bench:verify".into(),
            body: "*".into(),
        }),
        backend: Some(gw::BackendMethod {
            service: BACKEND_SERVICE.into(),
            grpc_method: payload::METHOD_PATH.into(),
        }),
        timeout: Some(prost_types::Duration {
            seconds: 5,
            nanos: 0,
        }),
        idempotent: true,
        priority: gw::CapabilityPriority::Critical as i32,
        ..Default::default()
    };
    admin
        .create_capability(with_token(
            gw::CreateCapabilityRequest {
                request_id: "bench-capability".into(),
                capability: Some(capability),
            },
            token,
        )?)
        .await
        .context("CreateCapability")?;
    admin
        .publish_capability(with_token(
            gw::PublishCapabilityRequest {
                name: CAPABILITY.into(),
                version: "v1".into(),
            },
            token,
        )?)
        .await
        .context("PublishCapability")?;
    let (division, department) = PLATFORM_TENANT
        .split_once('/')
        .context("the platform tenant has a department")?;
    let app = admin
        .register_app(with_token(
            gw::RegisterAppRequest {
                request_id: "bench-app".into(),
                name: "Benchmark".into(),
                owner: Some(Organization {
                    name: "Benchmark Ltd.".into(),
                    unified_social_credit_code: "91331100MA2A0XYZ1K".into(),
                }),
                contact: Some(gw::Contact {
                    name: "Li Lei".into(),
                    email: "lilei@example.com".into(),
                    phone: "13800000000".into(),
                }),
                allowed_capabilities: vec![CAPABILITY.into()],
                sponsor: Some(Tenant {
                    division_code: division.into(),
                    department: department.into(),
                }),
            },
            token,
        )?)
        .await
        .context("RegisterApp")?
        .into_inner()
        .app
        .context("RegisterApp returned no app")?;
    let issued = admin
        .issue_credential(with_token(
            gw::IssueCredentialRequest {
                app_id: app.id.clone(),
                validity: None,
            },
            token,
        )?)
        .await
        .context("IssueCredential")?
        .into_inner();
    let app_key = issued
        .credential
        .context("IssueCredential returned no credential")?
        .app_key;
    admin
        .set_policy(with_token(
            gw::SetPolicyRequest {
                policy: Some(gw::Policy {
                    app_id: app.id,
                    capability: CAPABILITY.into(),
                    rate_limit: Some(gw::RateLimit {
                        requests: 1_000_000_000,
                        period: Some(prost_types::Duration {
                            seconds: 1,
                            nanos: 0,
                        }),
                        burst: 0,
                    }),
                    quotas: vec![gw::Quota {
                        window: gw::QuotaWindow::Day as i32,
                        limit: 1_000_000_000_000,
                    }],
                    ..Default::default()
                }),
            },
            token,
        )?)
        .await
        .context("SetPolicy")?;
    Ok((app_key, issued.secret))
}

/// The configuration applies within the refresh interval; until then the
/// front door does not know the app or the route.
async fn wait_until_serving(endpoint: &GatewayEndpoint) -> anyhow::Result<()> {
    let target =
        Target::connect(endpoint.addr, 1, Some(HmacSigner::for_endpoint(endpoint))).await?;
    let mut client = target.client(0);
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        match client.probe().await {
            Ok(()) => return Ok(()),
            Err(reason) if Instant::now() >= deadline => {
                anyhow::bail!("the gateway does not serve a signed call after 15 s: {reason}")
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
}

/// Signs each call with the app secret, a fresh nonce and the current time.
pub struct HmacSigner {
    app_key: String,
    secret: String,
    signed_headers: HeaderMap,
}

impl HmacSigner {
    /// A signer for the endpoint's app credential.
    pub fn for_endpoint(endpoint: &GatewayEndpoint) -> Arc<dyn Authenticator> {
        let mut signed_headers = HeaderMap::new();
        signed_headers.insert(
            http::header::CONTENT_TYPE,
            HeaderValue::from_static("application/grpc"),
        );
        Arc::new(Self {
            app_key: endpoint.app_key.clone(),
            secret: endpoint.secret.clone(),
            signed_headers,
        })
    }
}

impl Authenticator for HmacSigner {
    fn authenticate(&self, framed_body: &[u8], metadata: &mut MetadataMap) {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |elapsed| elapsed.as_secs());
        let nonce = format!("{:032x}", fastrand::u128(..));
        let headers = zhongtai_gateway::signing::sign(
            &self.app_key,
            self.secret.as_bytes(),
            "POST",
            payload::METHOD_PATH,
            None,
            &self.signed_headers,
            framed_body,
            i64::try_from(now).unwrap_or(i64::MAX),
            &nonce,
        );
        for (name, value) in headers {
            if let (Ok(key), Ok(value)) = (
                MetadataKey::from_bytes(name.as_str().as_bytes()),
                MetadataValue::try_from(value.as_bytes()),
            ) {
                metadata.insert(key, value);
            }
        }
    }
}
