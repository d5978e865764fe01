//! Integrators' side of the gateway in scenario tests: the platform
//! operator opening capabilities and registering apps over the admin API,
//! and apps calling the front door — with the Python example client, or
//! with a Rust client signing the same way for load.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt as _, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use zhongtai_contracts::common::v1::{Organization, Tenant};
use zhongtai_contracts::gateway::v1 as gw;
use zhongtai_contracts::gateway::v1::gateway_admin_service_client::GatewayAdminServiceClient;
use zhongtai_kit::Role;
use zhongtai_mesh::MeshChannel;

use super::{Mesh, with_token};

/// The platform operator's tenant: its admins open capabilities.
pub const PLATFORM: &str = "330000/big-data-bureau";

/// An app's credential as the integrator keeps it.
#[derive(Clone, Debug)]
pub struct AppCredential {
    pub app_id: String,
    pub app_key: String,
    pub secret: String,
}

/// What the front door answered.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub headers: BTreeMap<String, String>,
    pub body: serde_json::Value,
}

impl Reply {
    /// The gateway's (or backend's) reason code of an error answer.
    pub fn reason(&self) -> &str {
        self.body["error"]["reason"].as_str().unwrap_or_default()
    }
}

pub fn admin(mesh: &Mesh) -> GatewayAdminServiceClient<MeshChannel> {
    GatewayAdminServiceClient::new(mesh.channel("gateway"))
}

pub fn platform_admin(mesh: &Mesh) -> String {
    mesh.security
        .token_of("platform-admin", PLATFORM, &[Role::Admin])
}

fn tenant(key: &str) -> Tenant {
    let (division, department) = key.split_once('/').unwrap();
    Tenant {
        division_code: division.into(),
        department: department.into(),
    }
}

/// A capability to open.
pub struct Opening<'a> {
    pub name: &'a str,
    pub method: gw::HttpMethod,
    pub route: &'a str,
    pub body: &'a str,
    pub service: &'a str,
    pub grpc_method: &'a str,
    pub idempotent: bool,
    pub priority: gw::CapabilityPriority,
    pub consent_required: bool,
}

/// Creates and publishes a capability (version v1) as the platform admin.
pub async fn open(mesh: &Mesh, opening: Opening<'_>) -> gw::Capability {
    let token = platform_admin(mesh);
    let capability = gw::Capability {
        name: opening.name.into(),
        version: "v1".into(),
        title: opening.name.into(),
        description: format!("{} for integrators", opening.name),
        http: Some(gw::HttpRoute {
            method: opening.method as i32,
            route_template: opening.route.into(),
            body: opening.body.into(),
        }),
        backend: Some(gw::BackendMethod {
            service: opening.service.into(),
            grpc_method: opening.grpc_method.into(),
        }),
        timeout: Some(prost_types::Duration {
            seconds: 5,
            nanos: 0,
        }),
        idempotent: opening.idempotent,
        priority: opening.priority as i32,
        consent_required: opening.consent_required,
        ..Default::default()
    };
    admin(mesh)
        .create_capability(with_token(
            gw::CreateCapabilityRequest {
                request_id: uuid::Uuid::new_v4().to_string(),
                capability: Some(capability),
            },
            &token,
        ))
        .await
        .unwrap();
    admin(mesh)
        .publish_capability(with_token(
            gw::PublishCapabilityRequest {
                name: opening.name.into(),
                version: "v1".into(),
            },
            &token,
        ))
        .await
        .unwrap()
        .into_inner()
        .capability
        .unwrap()
}

/// `certificate.verify` v1: POST /v1/certificates:verify, critical.
pub fn certificate_verify() -> Opening<'static> {
    Opening {
        name: "certificate.verify",
        method: gw::HttpMethod::Post,
        route: "/v1/certificates:verify",
        body: "*",
        service: "certificate",
        grpc_method: "/zhongtai.certificate.v1.CertificateService/VerifyCertificate",
        idempotent: true,
        priority: gw::CapabilityPriority::Critical,
        consent_required: false,
    }
}

/// Registers an app sponsored by `sponsor` and issues its credential.
pub async fn register_app(
    mesh: &Mesh,
    name: &str,
    sponsor: &str,
    allowed: &[&str],
) -> AppCredential {
    let token = platform_admin(mesh);
    let app = admin(mesh)
        .register_app(with_token(
            gw::RegisterAppRequest {
                request_id: uuid::Uuid::new_v4().to_string(),
                name: name.into(),
                owner: Some(Organization {
                    name: format!("{name} Ltd."),
                    unified_social_credit_code: "91331100MA2A0XYZ1K".into(),
                }),
                contact: Some(gw::Contact {
                    name: "Li Lei".into(),
                    email: "lilei@example.com".into(),
                    phone: "13800000000".into(),
                }),
                allowed_capabilities: allowed.iter().map(|c| c.to_string()).collect(),
                sponsor: Some(tenant(sponsor)),
            },
            &token,
        ))
        .await
        .unwrap()
        .into_inner()
        .app
        .unwrap();
    let issued = admin(mesh)
        .issue_credential(with_token(
            gw::IssueCredentialRequest {
                app_id: app.id.clone(),
                validity: None,
            },
            &token,
        ))
        .await
        .unwrap()
        .into_inner();
    AppCredential {
        app_id: app.id,
        app_key: issued.credential.unwrap().app_key,
        secret: issued.secret,
    }
}

/// One signed call with `examples/gateway/zt_client.py`.
pub fn python_call(
    front: SocketAddr,
    app: &AppCredential,
    method: &str,
    path: &str,
    body: Option<&serde_json::Value>,
    extra_args: &[&str],
) -> Reply {
    let script =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/gateway/zt_client.py");
    let mut command = std::process::Command::new(zhongtai_scenarios::python());
    command
        .arg(script)
        // `=` keeps a secret starting with `-` from reading as an option.
        .arg(format!("--url=http://{front}"))
        .arg(format!("--app-key={}", app.app_key))
        .arg(format!("--secret={}", app.secret))
        .args(extra_args)
        .args([method, path]);
    if let Some(body) = body {
        command.arg(body.to_string());
    }
    let output = command.output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let parsed: serde_json::Value = serde_json::from_str(&stdout).unwrap_or_else(|e| {
        panic!(
            "zt_client.py printed no JSON ({e}): {stdout}\n{}",
            String::from_utf8_lossy(&output.stderr)
        )
    });
    Reply {
        status: parsed["status"].as_u64().unwrap() as u16,
        headers: parsed["headers"]
            .as_object()
            .map(|h| {
                h.iter()
                    .map(|(k, v)| {
                        (
                            k.to_ascii_lowercase(),
                            v.as_str().unwrap_or_default().to_string(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default(),
        body: parsed["body"].clone(),
    }
}

/// A Rust integrator: signs every request the documented way.
#[derive(Clone)]
pub struct SignedClient {
    front: SocketAddr,
    app: AppCredential,
    http: Client<HttpConnector, Full<Bytes>>,
}

impl SignedClient {
    pub fn new(front: SocketAddr, app: &AppCredential) -> Self {
        Self {
            front,
            app: app.clone(),
            http: Client::builder(TokioExecutor::new()).build_http(),
        }
    }

    /// The same client for another front door (another gateway instance).
    pub fn via(&self, front: SocketAddr) -> Self {
        Self {
            front,
            ..self.clone()
        }
    }

    /// Sends `method path` with `body` signed now with a fresh nonce.
    pub async fn call(&self, method: &str, path_and_query: &str, body: &[u8]) -> Reply {
        let nonce = uuid::Uuid::new_v4().simple().to_string();
        self.call_signed_as(
            method,
            path_and_query,
            body,
            chrono::Utc::now().timestamp(),
            &nonce,
            None,
        )
        .await
    }

    /// Sends a request signed at `timestamp` with `nonce`; `tamper` changes
    /// the body after signing.
    pub async fn call_signed_as(
        &self,
        method: &str,
        path_and_query: &str,
        body: &[u8],
        timestamp: i64,
        nonce: &str,
        tamper: Option<&[u8]>,
    ) -> Reply {
        let (path, query) = match path_and_query.split_once('?') {
            Some((path, query)) => (path, Some(query)),
            None => (path_and_query, None),
        };
        let mut headers = http::HeaderMap::new();
        headers.insert(http::header::HOST, self.front.to_string().parse().unwrap());
        if !body.is_empty() {
            headers.insert(
                http::header::CONTENT_TYPE,
                http::HeaderValue::from_static("application/json"),
            );
        }
        let signature = zhongtai_gateway::signing::sign(
            &self.app.app_key,
            self.app.secret.as_bytes(),
            method,
            path,
            query,
            &headers,
            body,
            timestamp,
            nonce,
        );
        let mut request = http::Request::builder()
            .method(method)
            .uri(format!("http://{}{path_and_query}", self.front))
            .body(Full::new(Bytes::copy_from_slice(tamper.unwrap_or(body))))
            .unwrap();
        *request.headers_mut() = headers;
        for (name, value) in signature {
            request.headers_mut().insert(name, value);
        }
        self.send(request).await
    }

    /// Sends a request as built (for unsigned or hand-made requests).
    pub async fn send(&self, request: http::Request<Full<Bytes>>) -> Reply {
        let response = tokio::time::timeout(Duration::from_secs(30), self.http.request(request))
            .await
            .expect("the front door answers within 30 s")
            .expect("the front door accepts the connection");
        let status = response.status().as_u16();
        let headers = response
            .headers()
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_string(),
                    v.to_str().unwrap_or_default().to_string(),
                )
            })
            .collect();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        let body = serde_json::from_slice(&bytes).unwrap_or_else(|_| {
            serde_json::Value::String(String::from_utf8_lossy(&bytes).into_owned())
        });
        Reply {
            status,
            headers,
            body,
        }
    }

    pub fn front(&self) -> SocketAddr {
        self.front
    }
}

/// Waits until the front door serves `path` to `client` with something
/// other than "not configured yet" (the configuration applies within the
/// refresh interval).
pub async fn until_configured(
    client: &SignedClient,
    method: &str,
    path: &str,
    body: &[u8],
) -> Reply {
    zhongtai_testkit::eventually(
        Duration::from_secs(10),
        "the gateway applies its configuration",
        || async {
            let reply = client.call(method, path, body).await;
            (!matches!(reply.reason(), "CAPABILITY_NOT_FOUND" | "APP_KEY_UNKNOWN")).then_some(reply)
        },
    )
    .await
}

/// What a gRPC passthrough call answered.
#[derive(Debug)]
pub struct GrpcReply {
    pub status: tonic::Status,
    /// The response message (unframed), when OK.
    pub message: Bytes,
}

/// A unary gRPC call of `path` with `message` through the front door over
/// HTTP/2, signed as the docs say (the body signed is the framed message),
/// or unsigned.
pub async fn grpc_call(
    front: SocketAddr,
    app: &AppCredential,
    path: &str,
    message: &[u8],
    signed: bool,
) -> GrpcReply {
    let mut framed = vec![0u8];
    framed.extend_from_slice(&u32::try_from(message.len()).unwrap().to_be_bytes());
    framed.extend_from_slice(message);
    let mut headers = http::HeaderMap::new();
    headers.insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/grpc"),
    );
    headers.insert(http::header::TE, http::HeaderValue::from_static("trailers"));
    if signed {
        let nonce = uuid::Uuid::new_v4().simple().to_string();
        for (name, value) in zhongtai_gateway::signing::sign(
            &app.app_key,
            app.secret.as_bytes(),
            "POST",
            path,
            None,
            &headers,
            &framed,
            chrono::Utc::now().timestamp(),
            &nonce,
        ) {
            headers.insert(name, value);
        }
    }
    let mut request = http::Request::builder()
        .method("POST")
        .uri(format!("http://{front}{path}"))
        .body(Full::new(Bytes::from(framed)))
        .unwrap();
    *request.headers_mut() = headers;
    let client: Client<HttpConnector, Full<Bytes>> = Client::builder(TokioExecutor::new())
        .http2_only(true)
        .build_http();
    let response = client.request(request).await.unwrap();
    let (parts, body) = response.into_parts();
    let collected = body.collect().await.unwrap();
    let trailers = collected.trailers().cloned();
    let bytes = collected.to_bytes();
    let status = trailers
        .as_ref()
        .and_then(tonic::Status::from_header_map)
        .or_else(|| tonic::Status::from_header_map(&parts.headers))
        .unwrap_or_else(|| tonic::Status::unknown("no grpc-status"));
    let message = if bytes.len() >= 5 {
        bytes.slice(5..)
    } else {
        Bytes::new()
    };
    GrpcReply { status, message }
}
