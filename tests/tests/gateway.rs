//! The capability gateway against the real platform (PostgreSQL, etcd
//! discovery over mutual TLS, RabbitMQ): integrators' apps call
//! capabilities with signed HTTP/JSON requests; every authentication
//! failure and every bad request is refused with its own documented reason
//! and nothing is forwarded; limits are shared by two gateway instances;
//! configuration changes apply to running instances; an idempotent
//! capability keeps working while a backend instance is killed under load.

#![allow(clippy::unwrap_used)] // helpers outside #[test] fns may panic: they are test code

mod support;

use std::time::Duration;

use serde_json::json;
use zhongtai_contracts::gateway::v1 as gw;
use zhongtai_scenarios::Process;
use zhongtai_testkit::eventually;

use support::gateway::{
    AppCredential, Opening, Reply, SignedClient, admin, certificate_verify, grpc_call, open,
    platform_admin, register_app, until_configured,
};
use support::{Mesh, Services, with_token};

const BANK_SPONSOR: &str = "331100/market-regulation";
const VERIFY: &str = "/v1/certificates:verify";

/// A well-formed certificate token signed by a key nobody trusts: the
/// certificate center answers it (outcome UNTRUSTED_KEY).
fn not_a_token() -> Vec<u8> {
    let token = format!(
        "eyJhbGciOiJFZERTQSIsInR5cCI6Inp0LWNlcnQrand0Iiwia2lkIjoidW5rbm93biJ9.eyJqdGkiOiJ4In0.{}",
        "A".repeat(86)
    );
    json!({ "token": token }).to_string().into_bytes()
}

/// The app's audit records (every page), once `n` of them are written.
/// The app's audit records once `complete` holds for them: audit is written
/// in batches off the hot path, so a test waits for what it is about to check.
async fn audit_until(
    mesh: &Mesh,
    app: &AppCredential,
    complete: impl Fn(&[gw::AuditRecord]) -> bool,
) -> Vec<gw::AuditRecord> {
    let token = platform_admin(mesh);
    let complete = &complete;
    eventually(Duration::from_secs(10), "audit records written", || {
        let token = token.clone();
        async move {
            let mut records = Vec::new();
            let mut page_token = String::new();
            loop {
                let page = admin(mesh)
                    .list_audit_records(with_token(
                        gw::ListAuditRecordsRequest {
                            app_id: app.app_id.clone(),
                            page: Some(zhongtai_contracts::common::v1::PageRequest {
                                page_size: 500,
                                page_token: page_token.clone(),
                            }),
                            ..Default::default()
                        },
                        &token,
                    ))
                    .await
                    .unwrap()
                    .into_inner();
                records.extend(page.records);
                page_token = page.page.map(|p| p.next_page_token).unwrap_or_default();
                if page_token.is_empty() {
                    break;
                }
            }
            complete(&records).then_some(records)
        }
    })
    .await
}

async fn audit_of(mesh: &Mesh, app: &AppCredential, n: usize) -> Vec<gw::AuditRecord> {
    audit_until(mesh, app, |records| records.len() >= n).await
}

fn outcome_count(records: &[gw::AuditRecord], outcome: gw::CallOutcome) -> usize {
    records.iter().filter(|r| r.outcome() == outcome).count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn each_authentication_failure_has_its_own_answer_and_nothing_is_forwarded() {
    let mesh = Mesh::start(Services::All).await;
    let front = mesh.gateway_front_door.unwrap();
    open(&mesh, certificate_verify()).await;
    let bank = register_app(&mesh, "bank", BANK_SPONSOR, &["certificate.verify"]).await;
    let map = register_app(&mesh, "map-app", BANK_SPONSOR, &["catalog.search"]).await;
    let client = SignedClient::new(front, &bank);
    let first = until_configured(&client, "POST", VERIFY, &not_a_token()).await;
    assert_eq!(first.status, 200, "{first:?}");

    let mut refused: Vec<(&str, Reply, u16, &str)> = Vec::new();
    let now = chrono::Utc::now().timestamp();
    refused.push((
        "tampered body",
        client
            .call_signed_as(
                "POST",
                VERIFY,
                &not_a_token(),
                now,
                "nonce-tampered-0001",
                Some(br#"{"token":"other"}"#),
            )
            .await,
        401,
        "SIGNATURE_INVALID",
    ));
    let stranger = AppCredential {
        app_key: "ztk_00000000000000000000000000000000".into(),
        ..bank.clone()
    };
    refused.push((
        "unknown key",
        SignedClient::new(front, &stranger)
            .call("POST", VERIFY, &not_a_token())
            .await,
        401,
        "APP_KEY_UNKNOWN",
    ));
    refused.push((
        "clock skew",
        client
            .call_signed_as(
                "POST",
                VERIFY,
                &not_a_token(),
                now - 3600,
                "nonce-skewed-00001",
                None,
            )
            .await,
        401,
        "TIMESTAMP_SKEWED",
    ));
    let once = client
        .call_signed_as(
            "POST",
            VERIFY,
            &not_a_token(),
            now,
            "nonce-replayed-0001",
            None,
        )
        .await;
    assert_eq!(once.status, 200, "{once:?}");
    refused.push((
        "replayed nonce",
        client
            .call_signed_as(
                "POST",
                VERIFY,
                &not_a_token(),
                now,
                "nonce-replayed-0001",
                None,
            )
            .await,
        401,
        "NONCE_REPLAYED",
    ));
    refused.push((
        "capability not allowed",
        // The map app's own configuration may reach the gateway after the
        // bank's.
        until_configured(
            &SignedClient::new(front, &map),
            "POST",
            VERIFY,
            &not_a_token(),
        )
        .await,
        403,
        "CAPABILITY_NOT_ALLOWED",
    ));
    let unsigned = http::Request::builder()
        .method("POST")
        .uri(format!("http://{front}{VERIFY}"))
        .header("content-type", "application/json")
        .body(http_body_util::Full::new(bytes::Bytes::from(not_a_token())))
        .unwrap();
    refused.push((
        "unsigned",
        client.send(unsigned).await,
        401,
        "SIGNATURE_MISSING",
    ));

    admin(&mesh)
        .disable_app(with_token(
            gw::DisableAppRequest {
                id: bank.app_id.clone(),
                reason: "contract ended".into(),
            },
            &platform_admin(&mesh),
        ))
        .await
        .unwrap();
    let disabled = eventually(
        Duration::from_secs(5),
        "the disabled app is refused",
        || async {
            let reply = client.call("POST", VERIFY, &not_a_token()).await;
            (reply.status == 403).then_some(reply)
        },
    )
    .await;
    refused.push(("disabled app", disabled, 403, "APP_DISABLED"));

    for (case, reply, status, reason) in &refused {
        assert_eq!(reply.status, *status, "{case}: {reply:?}");
        assert_eq!(reply.reason(), *reason, "{case}: {reply:?}");
        let message = reply.body["error"]["message"].as_str().unwrap_or_default();
        assert!(!message.is_empty(), "{case}: no message in {reply:?}");
    }

    // Each refusal is audited as such; what was forwarded was well signed
    // by the enabled app and answered.
    let audited_reasons = [
        "SIGNATURE_INVALID",
        "TIMESTAMP_SKEWED",
        "NONCE_REPLAYED",
        "APP_DISABLED",
    ];
    let records = audit_until(&mesh, &bank, |records| {
        audited_reasons
            .iter()
            .all(|reason| records.iter().any(|r| r.error_reason == *reason))
    })
    .await;
    for reason in audited_reasons {
        let record = records
            .iter()
            .find(|r| r.error_reason == reason)
            .unwrap_or_else(|| panic!("no {reason} record in {records:#?}"));
        assert_ne!(record.outcome(), gw::CallOutcome::Forwarded, "{record:?}");
    }
    let forwarded: Vec<_> = records
        .iter()
        .filter(|r| r.outcome() == gw::CallOutcome::Forwarded)
        .collect();
    assert!(forwarded.len() >= 2, "{records:#?}");
    assert!(
        forwarded
            .iter()
            .all(|r| r.http_status == 200 && r.error_reason.is_empty()),
        "{forwarded:#?}"
    );
    let map_records = audit_of(&mesh, &map, 1).await;
    assert_eq!(outcome_count(&map_records, gw::CallOutcome::Forwarded), 0);
    assert_eq!(map_records[0].error_reason, "CAPABILITY_NOT_ALLOWED");
    mesh.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn bad_requests_are_refused_with_a_helpful_message_and_nothing_is_forwarded() {
    let mesh = Mesh::start(Services::All).await;
    let front = mesh.gateway_front_door.unwrap();
    open(&mesh, certificate_verify()).await;
    let bank = register_app(&mesh, "bank", BANK_SPONSOR, &["certificate.verify"]).await;
    let client = SignedClient::new(front, &bank);
    until_configured(&client, "POST", VERIFY, &not_a_token()).await;

    let oversize = format!(r#"{{"token": "{}"}}"#, "x".repeat(2 * 1024 * 1024));
    let cases: [(&str, &[u8], u16, &str, &str); 5] = [
        (
            "malformed JSON",
            br#"{"token": "#,
            400,
            "REQUEST_INVALID",
            "",
        ),
        (
            "wrong type",
            br#"{"token": 5}"#,
            400,
            "REQUEST_INVALID",
            "token",
        ),
        (
            "unknown field",
            br#"{"tokn": "x"}"#,
            400,
            "REQUEST_INVALID",
            "tokn",
        ),
        ("not an object", br#"["token"]"#, 400, "REQUEST_INVALID", ""),
        (
            "oversize body",
            oversize.as_bytes(),
            413,
            "BODY_TOO_LARGE",
            "bytes",
        ),
    ];
    let cases_count = cases.len();
    for (case, body, status, reason, mentions) in cases {
        let reply = client.call("POST", VERIFY, body).await;
        assert_eq!(reply.status, status, "{case}: {reply:?}");
        assert_eq!(reply.reason(), reason, "{case}: {reply:?}");
        let message = reply.body["error"]["message"].as_str().unwrap_or_default();
        assert!(
            message.contains(mentions),
            "{case}: {message:?} should mention {mentions:?}"
        );
    }
    let records = audit_until(&mesh, &bank, |records| {
        outcome_count(records, gw::CallOutcome::RejectedInvalid) >= cases_count
    })
    .await;
    assert_eq!(
        outcome_count(&records, gw::CallOutcome::RejectedInvalid),
        cases_count
    );
    assert_eq!(
        outcome_count(&records, gw::CallOutcome::Forwarded),
        1,
        "only the first call"
    );
    mesh.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn quotas_and_rate_limits_are_counted_across_two_gateway_instances() {
    let mut mesh = Mesh::start(Services::All).await;
    let first = mesh.gateway_front_door.unwrap();
    let second = mesh.add_gateway_instance().await;
    let bank = register_app(&mesh, "bank", BANK_SPONSOR, &["certificate.verify"]).await;
    let checker = register_app(&mesh, "checker", BANK_SPONSOR, &["certificate.verify"]).await;
    let token = platform_admin(&mesh);
    for (app, policy) in [
        (
            &bank,
            gw::Policy {
                quotas: vec![gw::Quota {
                    window: gw::QuotaWindow::Day as i32,
                    limit: 5,
                }],
                ..Default::default()
            },
        ),
        (
            &checker,
            gw::Policy {
                rate_limit: Some(gw::RateLimit {
                    requests: 3,
                    period: Some(prost_types::Duration {
                        seconds: 3600,
                        nanos: 0,
                    }),
                    burst: 3,
                }),
                ..Default::default()
            },
        ),
    ] {
        admin(&mesh)
            .set_policy(with_token(
                gw::SetPolicyRequest {
                    policy: Some(gw::Policy {
                        app_id: app.app_id.clone(),
                        capability: "certificate.verify".into(),
                        ..policy
                    }),
                },
                &token,
            ))
            .await
            .unwrap();
    }
    // Opened after the policies, so its first call on either instance is
    // already limited.
    open(&mesh, certificate_verify()).await;
    let bank_first = SignedClient::new(first, &bank);
    let bank_second = bank_first.via(second);
    // Configuration reaches both instances; the probes count, so wait with
    // the other app's calls (two of its three).
    for client in [
        &SignedClient::new(first, &checker),
        &SignedClient::new(second, &checker),
    ] {
        let reply = until_configured(client, "POST", VERIFY, &not_a_token()).await;
        assert_eq!(reply.status, 200, "{reply:?}");
    }

    let mut statuses = Vec::new();
    let mut remaining = Vec::new();
    for i in 0..8 {
        let client = if i % 2 == 0 {
            &bank_first
        } else {
            &bank_second
        };
        let reply = client.call("POST", VERIFY, &not_a_token()).await;
        statuses.push(reply.status);
        if reply.status == 200 {
            remaining.push(reply.headers["x-zt-quota-day-remaining"].clone());
        } else {
            assert_eq!(reply.reason(), "QUOTA_EXCEEDED", "{reply:?}");
            assert!(reply.headers.contains_key("retry-after"), "{reply:?}");
        }
    }
    assert_eq!(statuses, [200, 200, 200, 200, 200, 429, 429, 429]);
    assert_eq!(remaining, ["4", "3", "2", "1", "0"]);

    // The caller sees its standing at the usage endpoint; the admin too.
    let usage = bank_second.call("GET", "/gateway/v1/usage", b"").await;
    assert_eq!(usage.status, 200, "{usage:?}");
    assert_eq!(usage.body["usages"][0]["used"], 5, "{usage:?}");
    assert_eq!(usage.body["usages"][0]["remaining"], 0, "{usage:?}");
    let standing = admin(&mesh)
        .get_usage(with_token(
            gw::GetUsageRequest {
                app_id: bank.app_id.clone(),
                capability: String::new(),
            },
            &token,
        ))
        .await
        .unwrap()
        .into_inner()
        .usages;
    assert_eq!((standing[0].used, standing[0].remaining), (5, 0));

    // The rate limit (3, two used by the probes) is shared too.
    let one_more = SignedClient::new(first, &checker)
        .call("POST", VERIFY, &not_a_token())
        .await;
    assert_eq!(one_more.status, 200, "{one_more:?}");
    for front in [first, second] {
        let limited = SignedClient::new(front, &checker)
            .call("POST", VERIFY, &not_a_token())
            .await;
        assert_eq!(limited.status, 429, "{limited:?}");
        assert_eq!(limited.reason(), "RATE_LIMITED");
        assert_eq!(limited.headers["x-ratelimit-remaining"], "0", "{limited:?}");
    }
    mesh.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn configuration_changes_reach_a_running_gateway_without_restart() {
    let mesh = Mesh::start(Services::All).await;
    let front = mesh.gateway_front_door.unwrap();
    let bank = register_app(&mesh, "bank", BANK_SPONSOR, &["certificate.verify"]).await;
    let client = SignedClient::new(front, &bank);
    let token = platform_admin(&mesh);

    // Not opened yet.
    let unknown = client.call("POST", VERIFY, &not_a_token()).await;
    assert_eq!(unknown.status, 404, "{unknown:?}");
    assert_eq!(unknown.reason(), "CAPABILITY_NOT_FOUND");

    open(&mesh, certificate_verify()).await;
    let served = until_configured(&client, "POST", VERIFY, &not_a_token()).await;
    assert_eq!(served.status, 200, "{served:?}");

    // A policy set now applies to the next calls.
    admin(&mesh)
        .set_policy(with_token(
            gw::SetPolicyRequest {
                policy: Some(gw::Policy {
                    app_id: bank.app_id.clone(),
                    capability: "*".into(),
                    quotas: vec![gw::Quota {
                        window: gw::QuotaWindow::Month as i32,
                        limit: 1000,
                    }],
                    ..Default::default()
                }),
            },
            &token,
        ))
        .await
        .unwrap();
    eventually(Duration::from_secs(5), "the new policy applies", || async {
        let reply = client.call("POST", VERIFY, &not_a_token()).await;
        reply
            .headers
            .contains_key("x-zt-quota-month-remaining")
            .then_some(())
    })
    .await;

    // Unpublishing closes the route; publishing again opens it.
    admin(&mesh)
        .unpublish_capability(with_token(
            gw::UnpublishCapabilityRequest {
                name: "certificate.verify".into(),
                version: "v1".into(),
            },
            &token,
        ))
        .await
        .unwrap();
    eventually(
        Duration::from_secs(5),
        "the unpublished route closes",
        || async {
            let reply = client.call("POST", VERIFY, &not_a_token()).await;
            (reply.status == 404).then_some(())
        },
    )
    .await;
    admin(&mesh)
        .publish_capability(with_token(
            gw::PublishCapabilityRequest {
                name: "certificate.verify".into(),
                version: "v1".into(),
            },
            &token,
        ))
        .await
        .unwrap();
    until_configured(&client, "POST", VERIFY, &not_a_token()).await;

    // A revoked credential stops working; a rotated one is replaced.
    let rotated = admin(&mesh)
        .rotate_credential(with_token(
            gw::RotateCredentialRequest {
                app_key: bank.app_key.clone(),
                grace_period: Some(prost_types::Duration {
                    seconds: 0,
                    nanos: 0,
                }),
            },
            &token,
        ))
        .await
        .unwrap()
        .into_inner();
    let replacement = AppCredential {
        app_key: rotated.credential.unwrap().app_key,
        secret: rotated.secret,
        ..bank.clone()
    };
    let new_client = SignedClient::new(front, &replacement);
    let after = until_configured(&new_client, "POST", VERIFY, &not_a_token()).await;
    assert_eq!(after.status, 200, "{after:?}");
    let old = eventually(
        Duration::from_secs(5),
        "the old key stops working",
        || async {
            let reply = client.call("POST", VERIFY, &not_a_token()).await;
            (reply.status == 401).then_some(reply)
        },
    )
    .await;
    assert!(
        matches!(old.reason(), "APP_KEY_UNKNOWN" | "CREDENTIAL_EXPIRED"),
        "{old:?}"
    );

    // The OpenAPI document lists what is open.
    let document = client
        .send(
            http::Request::builder()
                .uri(format!("http://{front}/gateway/v1/openapi.json"))
                .body(http_body_util::Full::new(bytes::Bytes::new()))
                .unwrap(),
        )
        .await;
    assert_eq!(document.status, 200);
    assert!(
        document.body["paths"].get(VERIFY).is_some(),
        "{:?}",
        document.body
    );
    mesh.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn grpc_clients_call_the_same_capability_through_the_front_door() {
    use prost::Message as _;
    use tonic_types::StatusExt as _;
    use zhongtai_contracts::certificate::v1 as certificate;
    const METHOD: &str = "/zhongtai.certificate.v1.CertificateService/VerifyCertificate";

    let mesh = Mesh::start(Services::All).await;
    let front = mesh.gateway_front_door.unwrap();
    open(&mesh, certificate_verify()).await;
    let bank = register_app(&mesh, "bank", BANK_SPONSOR, &["certificate.verify"]).await;
    until_configured(
        &SignedClient::new(front, &bank),
        "POST",
        VERIFY,
        &not_a_token(),
    )
    .await;

    let token: serde_json::Value = serde_json::from_slice(&not_a_token()).unwrap();
    let request = certificate::VerifyCertificateRequest {
        presentation: Some(
            certificate::verify_certificate_request::Presentation::Token(
                token["token"].as_str().unwrap().to_string(),
            ),
        ),
        include_claims: false,
    }
    .encode_to_vec();
    let answered = grpc_call(front, &bank, METHOD, &request, true).await;
    assert_eq!(
        answered.status.code(),
        tonic::Code::Ok,
        "{:?}",
        answered.status
    );
    let response = certificate::VerifyCertificateResponse::decode(answered.message).unwrap();
    assert_eq!(
        response.result.unwrap().outcome(),
        certificate::VerificationOutcome::UntrustedKey
    );

    let unsigned = grpc_call(front, &bank, METHOD, &request, false).await;
    assert_eq!(unsigned.status.code(), tonic::Code::Unauthenticated);
    assert_eq!(
        unsigned
            .status
            .get_details_error_info()
            .map(|info| info.reason),
        Some("SIGNATURE_MISSING".to_string())
    );
    let unopened = grpc_call(
        front,
        &bank,
        "/zhongtai.certificate.v1.CertificateService/RevokeCertificate",
        &[],
        true,
    )
    .await;
    assert_eq!(
        unopened.status.code(),
        tonic::Code::Unimplemented,
        "{:?}",
        unopened.status
    );
    mesh.stop().await;
}

/// `zhongtai serve approval`, registered in the mesh's etcd.
fn approval_instance(mesh: &Mesh, name: &str) -> Process {
    let mut envs = mesh.security.serve_env("approval");
    envs.extend([
        ("DATABASE_URL", mesh.database_url("approval")),
        ("ETCD_ENDPOINTS", mesh.etcd_endpoint()),
        ("AMQP_URL", zhongtai_testkit::amqp_url()),
        ("ZHONGTAI_EVENTS__EXCHANGE", mesh.events.exchange.clone()),
        (
            "ZHONGTAI_EVENTS__QUEUE_PREFIX",
            mesh.events.queue_prefix.clone(),
        ),
        ("ZHONGTAI_SERVER__LISTEN", "127.0.0.1:0".into()),
        ("ZHONGTAI_SERVER__METRICS_LISTEN", "127.0.0.1:0".into()),
        ("ZHONGTAI_MESH__LEASE_TTL_SECS", "5".into()),
    ]);
    let mut process = Process::spawn(name, &["serve", "approval"], &envs);
    process.wait_for_output("registered in discovery", Duration::from_secs(60));
    process
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_idempotent_capability_keeps_answering_while_a_backend_instance_is_killed() {
    let mesh = Mesh::start(Services::All).await;
    let front = mesh.gateway_front_door.unwrap();
    let mut doomed = approval_instance(&mesh, "approval-doomed");
    let _survivor = approval_instance(&mesh, "approval-survivor");
    open(
        &mesh,
        Opening {
            name: "approval.items",
            method: gw::HttpMethod::Get,
            route: "/v1/service-items",
            body: "",
            service: "approval",
            grpc_method: "/zhongtai.approval.v1.ApprovalService/ListServiceItems",
            idempotent: true,
            priority: gw::CapabilityPriority::Normal,
            consent_required: false,
        },
    )
    .await;
    let portal = register_app(&mesh, "portal", BANK_SPONSOR, &["approval.items"]).await;
    let client = SignedClient::new(front, &portal);
    let ready = until_configured(&client, "GET", "/v1/service-items?page.pageSize=5", b"").await;
    assert_eq!(ready.status, 200, "{ready:?}");

    let load = (0..4)
        .map(|_| {
            let client = client.clone();
            tokio::spawn(async move {
                let mut failures = Vec::new();
                for _ in 0..150 {
                    let reply = client
                        .call("GET", "/v1/service-items?page.pageSize=5", b"")
                        .await;
                    if reply.status != 200 {
                        failures.push(reply);
                    }
                }
                failures
            })
        })
        .collect::<Vec<_>>();
    tokio::time::sleep(Duration::from_millis(500)).await;
    doomed.kill();
    let mut failures = Vec::new();
    for worker in load {
        failures.extend(worker.await.unwrap());
    }
    assert!(
        failures.is_empty(),
        "{} failed calls, e.g. {:?}",
        failures.len(),
        failures.first()
    );
    let records = audit_of(&mesh, &portal, 601).await;
    let instances: std::collections::BTreeSet<_> =
        records.iter().map(|r| r.backend_instance.clone()).collect();
    assert!(
        instances.len() >= 2,
        "calls were spread over instances: {instances:?}"
    );
    mesh.stop().await;
}
