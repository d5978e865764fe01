//! Identity, authorisation and tenant isolation across every service,
//! against real PostgreSQL, RabbitMQ and etcd, with mutual TLS between the
//! test client and the services:
//! - bad credentials are UNAUTHENTICATED and execute nothing;
//! - a valid caller with the wrong role or the wrong tenant is
//!   PERMISSION_DENIED, executes nothing, and is audited;
//! - no RPC of any service — including ones added later, since the RPCs are
//!   read from the contracts — shows or changes another tenant's rows.

#![allow(clippy::unwrap_used)] // helpers outside #[test] fns may panic: they are test code

mod support;

use std::time::Duration;

use bytes::{Buf, BufMut, Bytes};
use chrono::Utc;
use prost_reflect::{DescriptorPool, DynamicMessage, Kind, MessageDescriptor, Value};
use sea_orm::{ActiveModelTrait, ConnectionTrait, IntoActiveModel};
use tonic::codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder};
use tonic::{Code, Request, Status};
use zhongtai_contracts::approval::v1::CreateServiceItemRequest;
use zhongtai_contracts::approval::v1::approval_service_client::ApprovalServiceClient;
use zhongtai_contracts::common::v1::Tenant;
use zhongtai_kit::{Role, TenantId};
use zhongtai_mesh::MeshChannel;
use zhongtai_scenarios::Security;

use support::{Mesh, Services, count, with_token};

/// Tenant A owns the rows; tenant B tries to reach them.
const TENANT_A: &str = "331100/housing-fund";
const TENANT_B: &str = "331100/civil-affairs";
const ALL_ROLES: &[Role] = &[
    Role::Admin,
    Role::Operator,
    Role::Approver,
    Role::Auditor,
    Role::Viewer,
];

fn create_item(code: &str) -> CreateServiceItemRequest {
    CreateServiceItemRequest {
        request_id: uuid::Uuid::new_v4().to_string(),
        code: code.into(),
        name: format!("事项 {code}"),
        ..Default::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_credentials_are_refused_and_execute_nothing() {
    let mesh = Mesh::start(Services::All).await;
    let mut client = ApprovalServiceClient::new(mesh.channel("approval"));
    let db = mesh.db("approval").await;
    let issuer = mesh.security.issuer();
    let tenant = TenantId::from_key(TENANT_A).unwrap();
    let now = Utc::now().timestamp();

    let valid = issuer.claims(
        "alice",
        &tenant,
        &[Role::Operator],
        Duration::from_secs(600),
    );
    let expired = zhongtai_kit::auth::Claims {
        exp: now - 3600,
        nbf: now - 7200,
        iat: now - 7200,
        ..valid.clone()
    };
    let not_yet_valid = zhongtai_kit::auth::Claims {
        nbf: now + 3600,
        exp: now + 7200,
        ..valid.clone()
    };
    let wrong_issuer = zhongtai_kit::auth::Claims {
        iss: "https://someone-else.example".into(),
        ..valid.clone()
    };
    let good = issuer.sign(&valid).unwrap();
    let forged = {
        // Same header and claims, someone else's signature.
        let (signed, _) = good.rsplit_once('.').unwrap();
        let other = Security::new();
        let theirs = other.issuer().sign(&valid).unwrap();
        format!("{signed}.{}", theirs.rsplit_once('.').unwrap().1)
    };
    let unknown_key = Security::new().issuer().sign(&valid).unwrap();

    let cases: Vec<(&str, Option<String>, &str)> = vec![
        ("no token", None, "TOKEN_MISSING"),
        (
            "expired",
            Some(issuer.sign(&expired).unwrap()),
            "TOKEN_EXPIRED",
        ),
        (
            "not yet valid",
            Some(issuer.sign(&not_yet_valid).unwrap()),
            "TOKEN_NOT_YET_VALID",
        ),
        (
            "wrong issuer",
            Some(issuer.sign(&wrong_issuer).unwrap()),
            "TOKEN_ISSUER",
        ),
        ("forged signature", Some(forged), "TOKEN_SIGNATURE"),
        ("unknown key", Some(unknown_key), "TOKEN_UNKNOWN_KEY"),
        ("garbage", Some("a.b.c".into()), "TOKEN_MALFORMED"),
    ];
    for (what, token, code) in cases {
        let request = match &token {
            Some(token) => with_token(create_item("refused-item"), token),
            None => Request::new(create_item("refused-item")),
        };
        let status = client.create_service_item(request).await.unwrap_err();
        assert_eq!(status.code(), Code::Unauthenticated, "{what}: {status:?}");
        let reason = format!("{:?}", status.details());
        assert!(
            String::from_utf8_lossy(status.details()).contains(code),
            "{what}: {code} not in {reason}"
        );
    }
    assert_eq!(count(&db, "service_items").await, 0, "nothing was executed");

    // The valid token works, so the refusals were about the credentials.
    client
        .create_service_item(with_token(create_item("accepted-item"), &good))
        .await
        .unwrap();
    assert_eq!(count(&db, "service_items").await, 1);
    mesh.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_role_or_tenant_is_denied_executes_nothing_and_is_audited() {
    let mesh = Mesh::start(Services::All).await;
    let mut client = ApprovalServiceClient::new(mesh.channel("approval"));
    let db = mesh.db("approval").await;
    let viewer = mesh.security.token(TENANT_A, &[Role::Viewer]);
    let other_operator = mesh.security.token(TENANT_B, &[Role::Operator]);

    let status = client
        .create_service_item(with_token(create_item("by-a-viewer"), &viewer))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied, "{status:?}");
    assert!(String::from_utf8_lossy(status.details()).contains("ROLE_NOT_ALLOWED"));

    let (division, department) = TENANT_A.split_once('/').unwrap();
    let status = client
        .create_service_item(with_token(
            CreateServiceItemRequest {
                tenant: Some(Tenant {
                    division_code: division.into(),
                    department: department.into(),
                }),
                ..create_item("for-another-tenant")
            },
            &other_operator,
        ))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied, "{status:?}");
    assert!(String::from_utf8_lossy(status.details()).contains("TENANT_MISMATCH"));

    assert_eq!(count(&db, "service_items").await, 0, "nothing was executed");
    assert_eq!(
        count(
            &db,
            "audit_log WHERE outcome = 'denied' AND reason = 'ROLE_NOT_ALLOWED' \
             AND action = '/zhongtai.approval.v1.ApprovalService/CreateServiceItem'"
        )
        .await,
        1
    );
    assert_eq!(
        count(
            &db,
            &format!(
                "audit_log WHERE outcome = 'denied' AND reason = 'TENANT_MISMATCH' \
                 AND tenant = '{TENANT_B}' AND target = 'tenant/{TENANT_A}'"
            )
        )
        .await,
        1
    );
    mesh.stop().await;
}

/// The row of tenant A each service holds, by id.
struct Seeded {
    ids: Vec<(&'static str, String)>,
}

async fn seed_tenant_a(mesh: &Mesh) -> Seeded {
    let mut ids = Vec::new();
    let token_a = mesh.security.token(TENANT_A, &[Role::Operator]);
    let mut approval = ApprovalServiceClient::new(mesh.channel("approval"));
    let item = approval
        .create_service_item(with_token(create_item("a-licence"), &token_a))
        .await
        .unwrap()
        .into_inner()
        .item
        .unwrap();
    ids.push(("approval", item.id));

    let (division, department) = TENANT_A.split_once('/').unwrap();
    let now = Utc::now();
    let id = uuid::Uuid::now_v7().to_string();
    // Private to A: not shared, not opened, so nothing of it may show.
    zhongtai_catalog::store::entities::resource::Model {
        id: id.clone(),
        owner_division: division.into(),
        owner_department: department.into(),
        code: "a-accounts".into(),
        title: "A accounts".into(),
        layer: "base".into(),
        state: "published".into(),
        version: 1,
        created_at: now,
        updated_at: now,
        description: "A's provident-fund accounts".into(),
        fields: serde_json::json!([{
            "name": "account_id",
            "title": "account",
            "description": "",
            "field_type": "string",
            "sensitivity": "internal",
            "primary_key": true,
            "nullable": false,
            "default_masking": null
        }]),
        sharing: "not_shared".into(),
        sharing_conditions: String::new(),
        open: "closed".into(),
        update_frequency: "daily".into(),
        line_id: String::new(),
        source_table: "public.accounts".into(),
        tags: serde_json::json!(["accounts"]),
        request_id: Some(uuid::Uuid::new_v4().to_string()),
    }
    .into_active_model()
    .insert(&mesh.db("catalog").await)
    .await
    .unwrap();
    ids.push(("catalog", id));

    let id = uuid::Uuid::now_v7().to_string();
    zhongtai_certificate::issuers::entities::issuer::Model {
        id: id.clone(),
        tenant_division: division.into(),
        tenant_department: department.into(),
        name: "A issuer".into(),
        state: "active".into(),
        version: 1,
        created_at: now,
        updated_at: now,
    }
    .into_active_model()
    .insert(&mesh.db("certificate").await)
    .await
    .unwrap();
    ids.push(("certificate", id));

    let id = uuid::Uuid::now_v7().to_string();
    zhongtai_exchange::store::entities::line::Model {
        id: id.clone(),
        owner_division: division.into(),
        owner_department: department.into(),
        name: "a-line".into(),
        description: "A's line".into(),
        state: "streaming".into(),
        resource_id: None,
        version: 1,
        created_at: now,
        updated_at: now,
        source_kind: "push".into(),
        source_spec: r#"{"kind":"push","tables":[],"producer_subject":"app:x"}"#.into(),
        state_reason: String::new(),
        request_id: None,
    }
    .into_active_model()
    .insert(&mesh.db("exchange").await)
    .await
    .unwrap();
    ids.push(("exchange", id));

    let id = uuid::Uuid::now_v7().to_string();
    zhongtai_gateway::store::entities::app::Model {
        id: id.clone(),
        name: "a-app".into(),
        state: "active".into(),
        allowed_capabilities: "[]".into(),
        version: 1,
        created_at: now,
        updated_at: now,
        sponsor_division: division.into(),
        sponsor_department: department.into(),
        owner: "{}".into(),
        contact: "{}".into(),
        disabled_reason: String::new(),
        request_id: None,
    }
    .into_active_model()
    .insert(&mesh.db("gateway").await)
    .await
    .unwrap();
    ids.push(("gateway", id));
    Seeded { ids }
}

/// A table dump of each service's tenant rows, to compare before and after.
async fn snapshot(mesh: &Mesh) -> Vec<String> {
    let mut rows = Vec::new();
    for (service, table) in [
        ("approval", "service_items"),
        ("catalog", "resources"),
        ("certificate", "issuers"),
        ("exchange", "lines"),
        ("gateway", "apps"),
    ] {
        let db = mesh.db(service).await;
        let found = db
            .query_all_raw(sea_orm::Statement::from_string(
                db.get_database_backend(),
                format!("SELECT CAST(row_to_json(t) AS TEXT) AS r FROM {table} t ORDER BY id"),
            ))
            .await
            .unwrap();
        for row in found {
            rows.push(format!(
                "{service}: {}",
                row.try_get::<String>("", "r").unwrap()
            ));
        }
    }
    rows
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_rpc_of_any_service_reaches_another_tenants_rows() {
    let mesh = Mesh::start(Services::All).await;
    let seeded = seed_tenant_a(&mesh).await;
    let before = snapshot(&mesh).await;
    let pool = DescriptorPool::decode(zhongtai_contracts::FILE_DESCRIPTOR_SET).unwrap();
    // Tenant B holds every role: only tenant isolation stands in the way.
    let token_b = mesh.security.token(TENANT_B, ALL_ROLES);
    let department_a = TENANT_A.split_once('/').unwrap().1;

    let mut methods_called = 0;
    for (service, policy) in &mesh.policies {
        let row_id = &seeded.ids.iter().find(|(s, _)| s == service).unwrap().1;
        assert!(
            policy.undeclared_methods().is_empty(),
            "{service}: RPCs without an access rule: {:?}",
            policy.undeclared_methods()
        );
        for grpc_service in policy.services() {
            let descriptor = pool.get_service_by_name(grpc_service.service).unwrap();
            for method in descriptor.methods() {
                let request = aimed_at(&method.input(), row_id, TENANT_A);
                let path = format!("/{}/{}", grpc_service.service, method.name());
                let answer = call_raw(mesh.channel(service), &path, request, &token_b).await;
                methods_called += 1;
                if let Ok(bytes) = answer {
                    let response = DynamicMessage::decode(method.output(), bytes).unwrap();
                    let json = serde_json::to_string(&response).unwrap();
                    // A create echoing the name tenant B itself chose (the
                    // probe sets names to A's row id) shows nothing of A's.
                    let json = json.replace(&format!("\"name\":\"{row_id}\""), "");
                    assert!(
                        !json.contains(row_id.as_str()) && !json.contains(department_a),
                        "{path} showed tenant A's row to tenant B: {json}"
                    );
                }
            }
        }
    }
    assert!(
        methods_called > 100,
        "only {methods_called} RPCs were tried"
    );
    assert_eq!(snapshot(&mesh).await, before, "tenant A's rows changed");
    mesh.stop().await;
}

/// A request for `input` aimed at tenant A's row: every id-like string
/// field names the row, every tenant field names tenant A, idempotency keys
/// are fresh.
fn aimed_at(input: &MessageDescriptor, row_id: &str, tenant: &str) -> DynamicMessage {
    let mut message = DynamicMessage::new(input.clone());
    for field in input.fields() {
        if field.is_list() || field.is_map() {
            continue;
        }
        let name = field.name();
        match field.kind() {
            Kind::String if name == "request_id" => {
                message.set_field(&field, Value::String(uuid::Uuid::new_v4().to_string()));
            }
            Kind::String if name == "id" || name.ends_with("_id") || name == "name" => {
                message.set_field(&field, Value::String(row_id.to_string()));
            }
            Kind::Message(kind) if kind.full_name() == "zhongtai.common.v1.Tenant" => {
                let (division, department) = tenant.split_once('/').unwrap();
                let mut value = DynamicMessage::new(kind.clone());
                value.set_field_by_name("division_code", Value::String(division.into()));
                value.set_field_by_name("department", Value::String(department.into()));
                message.set_field(&field, Value::Message(value));
            }
            _ => {}
        }
    }
    message
}

/// One unary call with a dynamic request; the raw response bytes on OK.
async fn call_raw(
    channel: MeshChannel,
    path: &str,
    request: DynamicMessage,
    token: &str,
) -> Result<Bytes, Status> {
    let mut grpc = tonic::client::Grpc::new(channel);
    grpc.ready()
        .await
        .map_err(|e| Status::unavailable(e.to_string()))?;
    let path = http::uri::PathAndQuery::try_from(path).unwrap();
    let request = with_token(Bytes::from(prost::Message::encode_to_vec(&request)), token);
    let mut request = request;
    request.set_timeout(Duration::from_secs(10));
    grpc.unary(request, path, RawCodec)
        .await
        .map(|response| response.into_inner())
}

/// Passes message bytes through untouched.
#[derive(Clone, Copy, Default)]
struct RawCodec;

impl Codec for RawCodec {
    type Encode = Bytes;
    type Decode = Bytes;
    type Encoder = RawCodec;
    type Decoder = RawCodec;

    fn encoder(&mut self) -> Self::Encoder {
        RawCodec
    }

    fn decoder(&mut self) -> Self::Decoder {
        RawCodec
    }
}

impl Encoder for RawCodec {
    type Item = Bytes;
    type Error = Status;

    fn encode(&mut self, item: Bytes, dst: &mut EncodeBuf<'_>) -> Result<(), Status> {
        dst.put(item);
        Ok(())
    }
}

impl Decoder for RawCodec {
    type Item = Bytes;
    type Error = Status;

    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<Bytes>, Status> {
        Ok(Some(src.copy_to_bytes(src.remaining())))
    }
}
