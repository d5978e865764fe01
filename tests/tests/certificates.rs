//! The certificate center across the real mesh (PostgreSQL, etcd discovery
//! over mutual TLS, RabbitMQ), with each party calling under its own token:
//! - S2 steps 3–5: an approved business-licence application makes the
//!   certificate center issue the licence — once, however often the event is
//!   delivered —; a bank verifies it online (valid, tampered, revoked),
//!   directly and as an integrator app through the gateway, with HTTP/JSON
//!   requests signed by the Python example client; an
//!   offline verifier holding only the published trust list still catches
//!   tampering and expiry; PyJWT, knowing nothing of this project but the
//!   published JWKS, verifies the same token.
//! - S3: a home-service platform reads a nanny's certificates only once the
//!   custodian, the platform and the nanny have each unlocked the consent.
//! - S5: a holder's code, a parent's family codes, a printable offline code,
//!   scanned at a venue and listed for tracing.

#![allow(clippy::unwrap_used)] // helpers outside #[test] fns may panic: they are test code

mod support;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use prost::Message;
use prost_types::value::Kind;
use prost_types::{Struct, Value};
use zhongtai_contracts::approval::v1 as approval;
use zhongtai_contracts::approval::v1::approval_service_client::ApprovalServiceClient;
use zhongtai_contracts::certificate::v1 as pb;
use zhongtai_contracts::certificate::v1::certificate_service_client::CertificateServiceClient;
use zhongtai_contracts::common::v1::{Holder, Organization, Tenant, holder};
use zhongtai_contracts::events::v1::CertificateIssued;
use zhongtai_credential::{Outcome, PublicKey, TrustListDocument};
use zhongtai_kit::Role;
use zhongtai_mesh::MeshChannel;

use support::gateway::{
    SignedClient, certificate_verify, open, python_call, register_app, until_configured,
};
use support::{Mesh, Services, count, with_token};

const PLATFORM: &str = "330000/big-data-bureau";

const MARKET_REGULATION: &str = "331100/market-regulation";
const BANK: &str = "331100/agricultural-bank";
/// The gateway route of `certificate.verify`.
const VERIFY_ROUTE: &str = "/v1/certificates:verify";
const EVENT_WAIT: Duration = Duration::from_secs(30);
const COMPANY: &str = "丽水青瓷有限公司";

fn tenant(key: &str) -> Tenant {
    let (division, department) = key.split_once('/').unwrap();
    Tenant {
        division_code: division.into(),
        department: department.into(),
    }
}

fn request_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

fn certificates(mesh: &Mesh) -> CertificateServiceClient<MeshChannel> {
    CertificateServiceClient::new(mesh.channel("certificate"))
}

fn approvals(mesh: &Mesh) -> ApprovalServiceClient<MeshChannel> {
    ApprovalServiceClient::new(mesh.channel("approval"))
}

fn claim(name: &str, kind: pb::ClaimType, required: bool) -> pb::ClaimDefinition {
    pb::ClaimDefinition {
        name: name.into(),
        title: name.into(),
        r#type: kind as i32,
        required,
        include_in_code: false,
    }
}

/// The platform defines the licence type; market regulation becomes its
/// issuer.
async fn set_up_issuer(mesh: &Mesh) -> pb::Issuer {
    let admin = mesh.security.token(PLATFORM, &[Role::Admin]);
    certificates(mesh)
        .create_certificate_type(with_token(
            pb::CreateCertificateTypeRequest {
                request_id: request_id(),
                certificate_type: Some(pb::CertificateType {
                    code: "business-licence".into(),
                    name: "营业执照".into(),
                    description: "企业法人营业执照".into(),
                    claims: vec![
                        claim("company_name", pb::ClaimType::String, true),
                        claim("registered_capital", pb::ClaimType::Decimal, false),
                    ],
                    holder_kind: pb::HolderKind::Organization as i32,
                    default_validity: Some(prost_types::Duration {
                        seconds: 20 * 365 * 86_400,
                        nanos: 0,
                    }),
                    ..Default::default()
                }),
            },
            &admin,
        ))
        .await
        .unwrap();
    certificates(mesh)
        .create_issuer(with_token(
            pb::CreateIssuerRequest {
                request_id: request_id(),
                tenant: Some(tenant(MARKET_REGULATION)),
                name: "丽水市市场监督管理局".into(),
                certificate_types: vec!["business-licence".into()],
            },
            &admin,
        ))
        .await
        .unwrap()
        .into_inner()
        .issuer
        .unwrap()
}

/// A one-stage licence item of market regulation; an application for the
/// company submitted and approved. Returns the application id.
async fn approve_an_application(mesh: &Mesh) -> String {
    let operator = mesh.security.token(MARKET_REGULATION, &[Role::Operator]);
    let process = approvals(mesh)
        .create_process_definition(with_token(
            approval::CreateProcessDefinitionRequest {
                request_id: request_id(),
                key: "business-licence-approval".into(),
                name: "营业执照审批".into(),
                stages: vec![approval::StageDefinition {
                    key: "review".into(),
                    name: "审查".into(),
                    kind: approval::StageKind::Single as i32,
                    assignees: vec![approval::Assignee {
                        target: Some(approval::assignee::Target::DepartmentRole(
                            approval::DepartmentRole {
                                tenant: Some(tenant(MARKET_REGULATION)),
                                role: "approver".into(),
                            },
                        )),
                    }],
                    ..Default::default()
                }],
                ..Default::default()
            },
            &operator,
        ))
        .await
        .unwrap()
        .into_inner()
        .process_definition
        .unwrap();
    let item = approvals(mesh)
        .create_service_item(with_token(
            approval::CreateServiceItemRequest {
                request_id: request_id(),
                code: "business-licence".into(),
                name: "营业执照设立登记".into(),
                certificate_type: "business-licence".into(),
                process: Some(approval::ProcessRef {
                    process_definition_id: process.id,
                    version: 0,
                }),
                form_fields: vec![approval::FormField {
                    name: "company_name".into(),
                    label: "企业名称".into(),
                    r#type: approval::FormFieldType::Text as i32,
                    required: true,
                    ..Default::default()
                }],
                ..Default::default()
            },
            &operator,
        ))
        .await
        .unwrap()
        .into_inner()
        .item
        .unwrap();
    let application = approvals(mesh)
        .submit_application(with_token(
            approval::SubmitApplicationRequest {
                request_id: request_id(),
                service_item_id: item.id,
                applicant: Some(approval::Applicant {
                    holder: Some(Holder {
                        holder: Some(holder::Holder::Organization(Organization {
                            name: COMPANY.into(),
                            unified_social_credit_code: "91331100MA2A0B1C2D".into(),
                        })),
                    }),
                    ..Default::default()
                }),
                form_data: Some(Struct {
                    fields: [(
                        "company_name".to_string(),
                        Value {
                            kind: Some(Kind::StringValue(COMPANY.into())),
                        },
                    )]
                    .into(),
                }),
                ..Default::default()
            },
            &operator,
        ))
        .await
        .unwrap()
        .into_inner()
        .application
        .unwrap();
    let approver = mesh.security.token(MARKET_REGULATION, &[Role::Approver]);
    let approved = approvals(mesh)
        .approve_application(with_token(
            approval::ApproveApplicationRequest {
                request_id: request_id(),
                application_id: application.id.clone(),
                comment: "同意".into(),
                ..Default::default()
            },
            &approver,
        ))
        .await
        .unwrap()
        .into_inner()
        .application
        .unwrap();
    assert_eq!(approved.status(), approval::ApplicationStatus::Approved);
    application.id
}

async fn verify_online(mesh: &Mesh, token: &str, presentation: &str) -> pb::VerificationResult {
    certificates(mesh)
        .verify_certificate(with_token(
            pb::VerifyCertificateRequest {
                presentation: Some(pb::verify_certificate_request::Presentation::Token(
                    presentation.into(),
                )),
                include_claims: true,
            },
            token,
        ))
        .await
        .unwrap()
        .into_inner()
        .result
        .unwrap()
}

/// Flips one character in the middle of the payload part.
fn tampered(token: &str) -> String {
    let (header, rest) = token.split_once('.').unwrap();
    let (payload, signature) = rest.split_once('.').unwrap();
    let mut bytes = payload.as_bytes().to_vec();
    let middle = bytes.len() / 2;
    bytes[middle] = if bytes[middle] == b'A' { b'B' } else { b'A' };
    format!("{header}.{}.{signature}", String::from_utf8(bytes).unwrap())
}

/// PyJWT with only the JWKS: `Ok(payload)` or `Err(reason)`.
fn pyjwt_verify(jwks: &str, token: &str) -> Result<serde_json::Value, String> {
    let script =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../libs/credential/tests/verify_with_pyjwt.py");
    let output = Command::new(zhongtai_scenarios::python())
        .arg(script)
        .arg(jwks)
        .arg(token)
        .output()
        .unwrap();
    match output.status.code() {
        Some(0) => Ok(serde_json::from_slice(&output.stdout).unwrap()),
        Some(3) => Err(String::from_utf8_lossy(&output.stderr).into_owned()),
        _ => panic!(
            "the PyJWT check could not run: {}",
            String::from_utf8_lossy(&output.stderr)
        ),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_approved_licence_is_issued_once_and_verifies_online_offline_and_with_pyjwt() {
    let mesh = Mesh::start(Services::All).await;
    let mut observer = mesh
        .observe(&["approval.application.approved", "certificate.certificate.*"])
        .await;
    let issuer = set_up_issuer(&mesh).await;

    // Step 3: the approval event makes the certificate center issue.
    let application_id = approve_an_application(&mesh).await;
    let approved = observer
        .expect("approval.application.approved", &application_id, EVENT_WAIT)
        .await;
    let db = mesh.db("certificate").await;
    let issued = zhongtai_testkit::eventually(EVENT_WAIT, "the licence is issued", || async {
        let n = count(&db, "certificates").await;
        (n > 0).then_some(n)
    })
    .await;
    assert_eq!(issued, 1);
    let operator = mesh.security.token(MARKET_REGULATION, &[Role::Operator]);
    let listed = certificates(&mesh)
        .list_certificates(with_token(
            pb::ListCertificatesRequest {
                certificate_type: "business-licence".into(),
                ..Default::default()
            },
            &operator,
        ))
        .await
        .unwrap()
        .into_inner()
        .certificates;
    let licence = listed.into_iter().next().unwrap();
    assert_eq!(licence.application_id, application_id);
    assert_eq!(licence.issuer_id, issuer.id);
    assert_eq!(licence.status(), pb::CertificateStatus::Valid);
    let announced = observer
        .expect("certificate.certificate.issued", &licence.id, EVENT_WAIT)
        .await;
    let event = CertificateIssued::decode(announced.payload.unwrap().value.as_slice()).unwrap();
    assert_eq!(event.certificate.unwrap().token, licence.token);

    // The same approval delivered again issues nothing more.
    mesh.publish_again(&approved).await;
    mesh.publish_again(&approved).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(count(&db, "certificates").await, 1, "issued exactly once");
    assert_eq!(
        observer
            .seen()
            .iter()
            .filter(|e| e.r#type == "certificate.certificate.issued")
            .count(),
        1
    );

    // Step 4: a bank verifies online — valid, then a tampered copy.
    let bank = mesh.security.token(BANK, &[Role::Viewer]);
    let valid = verify_online(&mesh, &bank, &licence.token).await;
    assert_eq!(valid.outcome(), pb::VerificationOutcome::Valid, "{valid:?}");
    assert!(valid.status_checked);
    assert_eq!(valid.certificate_id, licence.id);
    let forged = verify_online(&mesh, &bank, &tampered(&licence.token)).await;
    assert_eq!(
        forged.outcome(),
        pb::VerificationOutcome::SignatureInvalid,
        "{forged:?}"
    );

    // The same through the gateway: the bank is an integrator app calling
    // over HTTP/JSON with requests signed by the Python example client.
    let front = mesh.gateway_front_door.unwrap();
    open(&mesh, certificate_verify()).await;
    let bank_app = register_app(&mesh, "agricultural-bank", BANK, &["certificate.verify"]).await;
    let probe = serde_json::json!({"token": "probe"}).to_string();
    until_configured(
        &SignedClient::new(front, &bank_app),
        "POST",
        VERIFY_ROUTE,
        probe.as_bytes(),
    )
    .await;
    let verify_over_http = |token: &str| {
        let reply = python_call(
            front,
            &bank_app,
            "POST",
            VERIFY_ROUTE,
            Some(&serde_json::json!({"token": token})),
            &[],
        );
        assert_eq!(reply.status, 200, "{reply:?}");
        reply.body["result"]["outcome"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    };
    assert_eq!(
        verify_over_http(&licence.token),
        "VERIFICATION_OUTCOME_VALID"
    );
    assert_eq!(
        verify_over_http(&tampered(&licence.token)),
        "VERIFICATION_OUTCOME_SIGNATURE_INVALID"
    );

    let via_qr = certificates(&mesh)
        .verify_certificate(with_token(
            pb::VerifyCertificateRequest {
                presentation: Some(pb::verify_certificate_request::Presentation::QrPayload(
                    licence.qr_payload.clone(),
                )),
                include_claims: false,
            },
            &bank,
        ))
        .await
        .unwrap()
        .into_inner()
        .result
        .unwrap();
    assert_eq!(via_qr.outcome(), pb::VerificationOutcome::Valid);

    // The published trust list, fetched without any token.
    let published = certificates(&mesh)
        .get_trust_list(pb::GetTrustListRequest::default())
        .await
        .unwrap()
        .into_inner();
    let anchor_key = published
        .trust_list
        .as_ref()
        .map(|_| ())
        .and_then(|()| pinned_anchor(&published));
    let anchor = anchor_key.unwrap();

    // Step 5: PyJWT verifies with only the JWKS, and refuses the forgery.
    let payload = pyjwt_verify(&published.jwks, &licence.token).unwrap();
    assert_eq!(payload["jti"], licence.id.as_str());
    assert_eq!(payload["claims"]["company_name"], COMPANY);
    assert!(pyjwt_verify(&published.jwks, &tampered(&licence.token)).is_err());

    // Revoked: online verifiers see it at once.
    let revoked = certificates(&mesh)
        .revoke_certificate(with_token(
            pb::RevokeCertificateRequest {
                id: licence.id.clone(),
                reason: "吊销营业执照".into(),
            },
            &operator,
        ))
        .await
        .unwrap()
        .into_inner()
        .certificate
        .unwrap();
    assert_eq!(revoked.status(), pb::CertificateStatus::Revoked);
    let after = verify_online(&mesh, &bank, &licence.token).await;
    assert_eq!(
        after.outcome(),
        pb::VerificationOutcome::Revoked,
        "{after:?}"
    );
    assert_eq!(
        verify_over_http(&licence.token),
        "VERIFICATION_OUTCOME_REVOKED"
    );

    // Offline, with only the trust list: the signature and the validity
    // window are checked (revocation needs the status list or a call).
    let document = TrustListDocument::open(
        &published.signed_trust_list,
        &[(published.anchor_key_id.clone(), anchor)],
    )
    .unwrap();
    let store = document.to_store().unwrap();
    let now = chrono::Utc::now();
    let offline = zhongtai_credential::verify_certificate(&licence.token, &store, now).unwrap();
    assert_eq!(offline.outcome, Outcome::Valid);
    let offline_forged =
        zhongtai_credential::verify_certificate(&tampered(&licence.token), &store, now).unwrap();
    assert_eq!(offline_forged.outcome, Outcome::SignatureInvalid);
    let in_thirty_years = now + chrono::Duration::days(30 * 365);
    let offline_late =
        zhongtai_credential::verify_certificate(&licence.token, &store, in_thirty_years).unwrap();
    assert_eq!(offline_late.outcome, Outcome::Expired);
    mesh.stop().await;
}

/// The anchor key verifiers pin out of band: here, read from the JWKS by the
/// anchor key id the response names.
fn pinned_anchor(published: &pb::GetTrustListResponse) -> Option<PublicKey> {
    let jwks: serde_json::Value = serde_json::from_str(&published.jwks).ok()?;
    jwks["keys"]
        .as_array()?
        .iter()
        .find(|key| key["kid"] == published.anchor_key_id.as_str())
        .and_then(|key| key["x"].as_str())
        .and_then(|x| PublicKey::from_base64url(x).ok())
}

const HUMAN_RESOURCES: &str = "331100/human-resources";
const HEALTH: &str = "331100/health";
const HOME_SERVICE_APP: &str = "331100/home-service-platform";
const NANNY_ID: &str = "331102199001012345";

fn person(name: &str, id_number: &str) -> Holder {
    Holder {
        holder: Some(holder::Holder::Person(
            zhongtai_contracts::common::v1::Person {
                name: name.into(),
                id_type: zhongtai_contracts::common::v1::IdDocumentType::ResidentIdCard as i32,
                id_number: id_number.into(),
            },
        )),
    }
}

fn string_claim(name: &str, value: &str) -> pb::Claim {
    pb::Claim {
        name: name.into(),
        value: Some(pb::claim::Value::StringValue(value.into())),
    }
}

/// A person certificate type whose claims are all required strings; the
/// first is carried in presentation codes.
async fn create_person_type(mesh: &Mesh, code: &str, claims: &[&str]) {
    let admin = mesh.security.token(PLATFORM, &[Role::Admin]);
    let definitions = claims
        .iter()
        .enumerate()
        .map(|(i, name)| pb::ClaimDefinition {
            include_in_code: i == 0,
            ..claim(name, pb::ClaimType::String, true)
        })
        .collect();
    certificates(mesh)
        .create_certificate_type(with_token(
            pb::CreateCertificateTypeRequest {
                request_id: request_id(),
                certificate_type: Some(pb::CertificateType {
                    code: code.into(),
                    name: code.into(),
                    description: code.into(),
                    claims: definitions,
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
}

async fn create_issuer_of(mesh: &Mesh, department: &str, types: &[&str]) -> String {
    let admin = mesh.security.token(PLATFORM, &[Role::Admin]);
    certificates(mesh)
        .create_issuer(with_token(
            pb::CreateIssuerRequest {
                request_id: request_id(),
                tenant: Some(tenant(department)),
                name: department.into(),
                certificate_types: types.iter().map(|t| t.to_string()).collect(),
            },
            &admin,
        ))
        .await
        .unwrap()
        .into_inner()
        .issuer
        .unwrap()
        .id
}

async fn issue_to(
    mesh: &Mesh,
    department: &str,
    issuer_id: &str,
    certificate_type: &str,
    holder: Holder,
    claims: Vec<pb::Claim>,
) -> pb::Certificate {
    let operator = mesh.security.token(department, &[Role::Operator]);
    certificates(mesh)
        .issue_certificate(with_token(
            pb::IssueCertificateRequest {
                request_id: request_id(),
                certificate_type: certificate_type.into(),
                issuer_id: issuer_id.into(),
                holder: Some(holder),
                claims,
                ..Default::default()
            },
            &operator,
        ))
        .await
        .unwrap()
        .into_inner()
        .certificate
        .unwrap()
}

fn citizen_token(mesh: &Mesh, id_number: &str) -> String {
    mesh.security.token_of(
        &format!("person:resident-id-card:{id_number}"),
        "331100",
        &[Role::Viewer],
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_nannys_records_are_read_only_after_all_three_unlock() {
    use zhongtai_contracts::certificate::v1::consent_service_client::ConsentServiceClient;
    let mesh = Mesh::start(Services::All).await;
    create_person_type(
        &mesh,
        "qualification-certificate",
        &["qualification", "level"],
    )
    .await;
    create_person_type(
        &mesh,
        "health-certificate",
        &["occupation", "examined_on_text"],
    )
    .await;
    let issuer = create_issuer_of(
        &mesh,
        HUMAN_RESOURCES,
        &["qualification-certificate", "health-certificate"],
    )
    .await;
    let nanny = person("李秀英", NANNY_ID);
    issue_to(
        &mesh,
        HUMAN_RESOURCES,
        &issuer,
        "qualification-certificate",
        nanny.clone(),
        vec![
            string_claim("qualification", "育婴员"),
            string_claim("level", "高级"),
        ],
    )
    .await;
    issue_to(
        &mesh,
        HUMAN_RESOURCES,
        &issuer,
        "health-certificate",
        nanny.clone(),
        vec![
            string_claim("occupation", "家政服务"),
            string_claim("examined_on_text", "2026-11-20"),
        ],
    )
    .await;

    // Step 1: the home-service platform's app asks, for 30 days, 3 reads.
    let app = mesh
        .security
        .token_of("app:home-service", HOME_SERVICE_APP, &[Role::Operator]);
    let consents = ConsentServiceClient::new(mesh.channel("certificate"));
    let now = chrono::Utc::now();
    let consent = consents
        .clone()
        .request_consent(with_token(
            pb::RequestConsentRequest {
                request_id: request_id(),
                app_id: "home-service".into(),
                requester_name: "丽水好阿姨家政平台".into(),
                holder: Some(nanny),
                custodian: Some(tenant(HUMAN_RESOURCES)),
                certificate_types: vec![
                    "qualification-certificate".into(),
                    "health-certificate".into(),
                ],
                claims: Vec::new(),
                purpose: "hiring check".into(),
                period: Some(zhongtai_contracts::common::v1::Period {
                    start_time: Some(zhongtai_kit::proto::timestamp(now)),
                    end_time: Some(zhongtai_kit::proto::timestamp(
                        now + chrono::Duration::days(30),
                    )),
                }),
                read_limit: 3,
            },
            &app,
        ))
        .await
        .unwrap()
        .into_inner()
        .consent
        .unwrap();
    assert_eq!(consent.state(), pb::ConsentState::Pending);

    let read = || {
        let request = with_token(
            pb::ReadConsentedDataRequest {
                request_id: request_id(),
                consent_id: consent.id.clone(),
            },
            &app,
        );
        let mut consents = consents.clone();
        async move { consents.read_consented_data(request).await }
    };
    let unlock = |party: pb::ConsentParty, token: String| {
        let request = with_token(
            pb::UnlockConsentRequest {
                id: consent.id.clone(),
                party: party as i32,
            },
            &token,
        );
        let mut consents = consents.clone();
        async move {
            consents
                .unlock_consent(request)
                .await
                .unwrap()
                .into_inner()
                .consent
                .unwrap()
        }
    };

    // Step 2: with any party missing, reads are refused.
    let refused = read().await.unwrap_err();
    assert_eq!(refused.code(), tonic::Code::PermissionDenied, "{refused:?}");
    unlock(
        pb::ConsentParty::Custodian,
        mesh.security.token(HUMAN_RESOURCES, &[Role::Admin]),
    )
    .await;
    unlock(
        pb::ConsentParty::Platform,
        mesh.security.token(PLATFORM, &[Role::Admin]),
    )
    .await;
    let refused = read().await.unwrap_err();
    assert_eq!(refused.code(), tonic::Code::PermissionDenied, "{refused:?}");
    // Nobody else can unlock for the nanny.
    let stranger = consents
        .clone()
        .unlock_consent(with_token(
            pb::UnlockConsentRequest {
                id: consent.id.clone(),
                party: pb::ConsentParty::Holder as i32,
            },
            &citizen_token(&mesh, "331102199202023456"),
        ))
        .await
        .unwrap_err();
    assert_eq!(stranger.code(), tonic::Code::PermissionDenied);
    let active = unlock(pb::ConsentParty::Holder, citizen_token(&mesh, NANNY_ID)).await;
    assert_eq!(active.state(), pb::ConsentState::Active);

    // Step 3: reads succeed, are counted; the nanny revokes; refused at once.
    let data = read().await.unwrap().into_inner();
    assert_eq!(data.certificates.len(), 2);
    assert_eq!(data.reads_remaining, 2);
    assert!(
        data.certificates
            .iter()
            .any(|c| c.claims.iter().any(|claim| claim.name == "qualification"))
    );
    consents
        .clone()
        .revoke_consent(with_token(
            pb::RevokeConsentRequest {
                id: consent.id.clone(),
                party: pb::ConsentParty::Holder as i32,
                reason: "已另择平台".into(),
            },
            &citizen_token(&mesh, NANNY_ID),
        ))
        .await
        .unwrap();
    let refused = read().await.unwrap_err();
    assert_eq!(refused.code(), tonic::Code::PermissionDenied, "{refused:?}");

    let usage = consents
        .clone()
        .list_consent_usage(with_token(
            pb::ListConsentUsageRequest {
                consent_id: consent.id.clone(),
                ..Default::default()
            },
            &citizen_token(&mesh, NANNY_ID),
        ))
        .await
        .unwrap()
        .into_inner()
        .usages;
    let outcomes: Vec<_> = usage.iter().map(|u| u.outcome()).collect();
    assert_eq!(
        outcomes
            .iter()
            .filter(|o| **o == pb::ConsentUsageOutcome::Allowed)
            .count(),
        1
    );
    assert_eq!(usage.len(), 4, "every attempt is logged: {outcomes:?}");
    mesh.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn codes_are_shown_for_a_family_and_a_printout_and_scans_are_listed() {
    use zhongtai_contracts::certificate::v1::code_service_client::CodeServiceClient;
    let mesh = Mesh::start(Services::All).await;
    create_person_type(
        &mesh,
        "health-certificate",
        &["occupation", "examined_on_text"],
    )
    .await;
    create_person_type(
        &mesh,
        "birth-medical-certificate",
        &["birth_place", "mother_id_number"],
    )
    .await;
    let issuer = create_issuer_of(
        &mesh,
        HEALTH,
        &["health-certificate", "birth-medical-certificate"],
    )
    .await;
    let parent_id = "331102198805056789";
    issue_to(
        &mesh,
        HEALTH,
        &issuer,
        "health-certificate",
        person("王芳", parent_id),
        vec![
            string_claim("occupation", "教师"),
            string_claim("examined_on_text", "2026-10-01"),
        ],
    )
    .await;
    let mut births = Vec::new();
    for (name, id) in [
        ("王小明", "331102201601011234"),
        ("王小红", "331102201903031236"),
    ] {
        births.push(
            issue_to(
                &mesh,
                HEALTH,
                &issuer,
                "birth-medical-certificate",
                person(name, id),
                vec![
                    string_claim("birth_place", "丽水市中心医院"),
                    string_claim("mother_id_number", parent_id),
                ],
            )
            .await,
        );
    }

    // Step 1: the parent's own code, two family codes, a printed code.
    let parent = citizen_token(&mesh, parent_id);
    let mut codes = CodeServiceClient::new(mesh.channel("certificate"));
    let own = codes
        .show_code(with_token(pb::ShowCodeRequest::default(), &parent))
        .await
        .unwrap()
        .into_inner()
        .code
        .unwrap();
    assert_eq!(own.kind(), pb::CodeKind::Personal);
    for (birth, (name, id)) in births.iter().zip([
        ("王小明", "331102201601011234"),
        ("王小红", "331102201903031236"),
    ]) {
        codes
            .link_dependant(with_token(
                pb::LinkDependantRequest {
                    request_id: request_id(),
                    dependant: Some(zhongtai_contracts::common::v1::Person {
                        name: name.into(),
                        id_type: zhongtai_contracts::common::v1::IdDocumentType::ResidentIdCard
                            as i32,
                        id_number: id.into(),
                    }),
                    relationship: pb::Relationship::Parent as i32,
                    evidence_certificate_id: birth.id.clone(),
                },
                &parent,
            ))
            .await
            .unwrap();
    }
    let family = codes
        .show_family_codes(with_token(pb::ShowFamilyCodesRequest::default(), &parent))
        .await
        .unwrap()
        .into_inner()
        .codes;
    assert_eq!(family.len(), 2);
    assert!(family.iter().all(|c| c.kind() == pb::CodeKind::Family));
    let clerk = mesh.security.token(HEALTH, &[Role::Operator]);
    let printed = codes
        .issue_offline_code(with_token(
            pb::IssueOfflineCodeRequest {
                request_id: request_id(),
                holder: Some(zhongtai_contracts::common::v1::Person {
                    name: "王芳".into(),
                    id_type: zhongtai_contracts::common::v1::IdDocumentType::ResidentIdCard as i32,
                    id_number: parent_id.into(),
                }),
                validity: Some(prost_types::Duration {
                    seconds: 90 * 86_400,
                    nanos: 0,
                }),
                ..Default::default()
            },
            &clerk,
        ))
        .await
        .unwrap()
        .into_inner()
        .code
        .unwrap();
    assert_eq!(printed.kind(), pb::CodeKind::Offline);
    assert!(
        printed
            .qr_image
            .as_ref()
            .is_some_and(|image| image.data.starts_with(b"\x89PNG"))
    );

    // Step 2: a venue scans all four; each is verified and recorded.
    let venue_staff = mesh
        .security
        .token("331100/culture-tourism", &[Role::Operator]);
    let venue = codes
        .register_venue(with_token(
            pb::RegisterVenueRequest {
                request_id: request_id(),
                name: "丽水市博物馆".into(),
                address: "丽水市莲都区".into(),
                division_code: "331100".into(),
            },
            &venue_staff,
        ))
        .await
        .unwrap()
        .into_inner()
        .venue
        .unwrap();
    let started = chrono::Utc::now() - chrono::Duration::seconds(5);
    for code in std::iter::once(&own)
        .chain(&family)
        .chain(std::iter::once(&printed))
    {
        let scan = codes
            .scan_code(with_token(
                pb::ScanCodeRequest {
                    scan_id: uuid::Uuid::new_v4().to_string(),
                    venue_id: venue.id.clone(),
                    payload: code.qr_payload.clone(),
                    device_id: "gate-1".into(),
                    ..Default::default()
                },
                &venue_staff,
            ))
            .await
            .unwrap()
            .into_inner()
            .scan
            .unwrap();
        assert_eq!(scan.outcome(), pb::VerificationOutcome::Valid, "{scan:?}");
    }
    let venue_admin = mesh
        .security
        .token("331100/culture-tourism", &[Role::Admin]);
    let scans = codes
        .list_venue_scans(with_token(
            pb::ListVenueScansRequest {
                venue_id: venue.id.clone(),
                period: Some(zhongtai_contracts::common::v1::Period {
                    start_time: Some(zhongtai_kit::proto::timestamp(started)),
                    end_time: Some(zhongtai_kit::proto::timestamp(
                        chrono::Utc::now() + chrono::Duration::seconds(5),
                    )),
                }),
                ..Default::default()
            },
            &venue_admin,
        ))
        .await
        .unwrap()
        .into_inner()
        .scans;
    assert_eq!(scans.len(), 4);
    let kinds: Vec<_> = scans.iter().map(|s| s.code_kind()).collect();
    assert_eq!(
        kinds.iter().filter(|k| **k == pb::CodeKind::Family).count(),
        2,
        "{kinds:?}"
    );
    mesh.stop().await;
}

/// S3 through the gateway: the home-service platform is an integrator app;
/// it asks for the consent and reads under it with signed HTTP/JSON calls,
/// and the consent's state and read limit apply to those calls.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_integrator_reads_consented_records_through_the_gateway_within_the_consent() {
    use support::gateway::Opening;
    use zhongtai_contracts::certificate::v1::consent_service_client::ConsentServiceClient;
    use zhongtai_contracts::gateway::v1 as gw;
    let mesh = Mesh::start(Services::All).await;
    create_person_type(
        &mesh,
        "health-certificate",
        &["occupation", "examined_on_text"],
    )
    .await;
    let issuer = create_issuer_of(&mesh, HUMAN_RESOURCES, &["health-certificate"]).await;
    let nanny = person("李秀英", NANNY_ID);
    issue_to(
        &mesh,
        HUMAN_RESOURCES,
        &issuer,
        "health-certificate",
        nanny.clone(),
        vec![
            string_claim("occupation", "家政服务"),
            string_claim("examined_on_text", "2026-11-20"),
        ],
    )
    .await;

    let front = mesh.gateway_front_door.unwrap();
    for opening in [
        Opening {
            name: "consent.request",
            method: gw::HttpMethod::Post,
            route: "/v1/consents",
            body: "*",
            service: "certificate",
            grpc_method: "/zhongtai.certificate.v1.ConsentService/RequestConsent",
            idempotent: true,
            priority: gw::CapabilityPriority::Normal,
            consent_required: false,
        },
        Opening {
            name: "consent.read",
            method: gw::HttpMethod::Post,
            route: "/v1/consents/{consent_id}:read",
            body: "*",
            service: "certificate",
            grpc_method: "/zhongtai.certificate.v1.ConsentService/ReadConsentedData",
            idempotent: true,
            priority: gw::CapabilityPriority::Normal,
            consent_required: true,
        },
    ] {
        open(&mesh, opening).await;
    }
    let platform_app = register_app(
        &mesh,
        "home-service-platform",
        HOME_SERVICE_APP,
        &["consent.request", "consent.read"],
    )
    .await;
    let client = SignedClient::new(front, &platform_app);

    // The app asks for 30 days and 2 reads, through the gateway.
    let now = chrono::Utc::now();
    let ask = zhongtai_contracts::json::to_json(&pb::RequestConsentRequest {
        request_id: request_id(),
        app_id: platform_app.app_id.clone(),
        requester_name: "丽水好阿姨家政平台".into(),
        holder: Some(nanny),
        custodian: Some(tenant(HUMAN_RESOURCES)),
        certificate_types: vec!["health-certificate".into()],
        claims: Vec::new(),
        purpose: "hiring check".into(),
        period: Some(zhongtai_contracts::common::v1::Period {
            start_time: Some(zhongtai_kit::proto::timestamp(now)),
            end_time: Some(zhongtai_kit::proto::timestamp(
                now + chrono::Duration::days(30),
            )),
        }),
        read_limit: 2,
    })
    .unwrap()
    .to_string();
    let asked = until_configured(&client, "POST", "/v1/consents", ask.as_bytes()).await;
    assert_eq!(asked.status, 200, "{asked:?}");
    let consent_id = asked.body["consent"]["id"].as_str().unwrap().to_string();
    let read_path = format!("/v1/consents/{consent_id}:read");
    let read = || {
        let body = serde_json::json!({ "requestId": request_id() }).to_string();
        let client = client.clone();
        let path = read_path.clone();
        async move { client.call("POST", &path, body.as_bytes()).await }
    };

    // Locked: the gateway refuses before the certificate center is asked.
    let locked = read().await;
    assert_eq!(
        (locked.status, locked.reason()),
        (403, "CONSENT_REFUSED"),
        "{locked:?}"
    );

    let consents = ConsentServiceClient::new(mesh.channel("certificate"));
    for (party, token) in [
        (
            pb::ConsentParty::Custodian,
            mesh.security.token(HUMAN_RESOURCES, &[Role::Admin]),
        ),
        (
            pb::ConsentParty::Platform,
            mesh.security.token(PLATFORM, &[Role::Admin]),
        ),
        (pb::ConsentParty::Holder, citizen_token(&mesh, NANNY_ID)),
    ] {
        consents
            .clone()
            .unlock_consent(with_token(
                pb::UnlockConsentRequest {
                    id: consent_id.clone(),
                    party: party as i32,
                },
                &token,
            ))
            .await
            .unwrap();
    }

    // Two reads within the limit, then refused by the consent's limit.
    let first = read().await;
    assert_eq!(first.status, 200, "{first:?}");
    assert_eq!(first.body["readsRemaining"], "1", "{first:?}");
    assert_eq!(
        first.body["certificates"].as_array().map(Vec::len),
        Some(1),
        "{first:?}"
    );
    let second = read().await;
    assert_eq!(second.status, 200, "{second:?}");
    let third = read().await;
    assert_eq!(
        (third.status, third.reason()),
        (403, "CONSENT_REFUSED"),
        "{third:?}"
    );
    let message = third.body["error"]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("reads") || message.contains("exhausted"),
        "{message}"
    );
    mesh.stop().await;
}
