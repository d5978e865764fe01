//! The gateway commands' flags as a user types them, and the requests they
//! become.

use std::io::Write as _;

use clap::{Parser, Subcommand};
use zhongtai_contracts::gateway::v1 as pb;

use super::apps::{self, AppCommand};
use super::capabilities::{self, CapabilityCommand};
use super::credentials::{self, CredentialCommand};
use super::observe::{self, GatewayCommand};
use super::policies::{self, PolicyCommand};

const APP: &str = "0195f3a0-1c2d-7000-8000-00000000000a";

#[derive(Parser)]
#[command(name = "zhongtai")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    #[command(subcommand)]
    App(AppCommand),
    #[command(subcommand)]
    Capability(CapabilityCommand),
    #[command(subcommand)]
    Policy(PolicyCommand),
    #[command(subcommand)]
    Gateway(GatewayCommand),
}

fn parse(line: &[&str]) -> Result<Command, String> {
    let mut argv = vec!["zhongtai"];
    argv.extend_from_slice(line);
    // A local endpoints file is never read while parsing.
    Cli::try_parse_from(argv)
        .map(|cli| cli.command)
        .map_err(|e| e.to_string())
}

#[test]
fn register_sends_every_flag() {
    let Ok(Command::App(AppCommand::Register(args))) = parse(&[
        "app",
        "register",
        "--name",
        "浙商银行手机银行",
        "--sponsor",
        "331100/big-data",
        "--owner",
        "浙商银行股份有限公司",
        "--owner-code",
        "91330000761336668H",
        "--contact-email",
        "open@czbank.example",
        "--allow",
        "certificate.verify",
        "--allow",
        "certificate.get",
        "--request-id",
        "r-1",
    ]) else {
        panic!("register did not parse");
    };
    let request = apps::register_request(&args);
    assert_eq!(request.request_id, "r-1");
    assert_eq!(request.name, "浙商银行手机银行");
    let sponsor = request.sponsor.unwrap();
    assert_eq!(
        (sponsor.division_code.as_str(), sponsor.department.as_str()),
        ("331100", "big-data")
    );
    assert_eq!(
        request.owner.unwrap().unified_social_credit_code,
        "91330000761336668H"
    );
    let contact = request.contact.unwrap();
    assert_eq!(
        (contact.name.as_str(), contact.email.as_str()),
        ("", "open@czbank.example")
    );
    assert_eq!(
        request.allowed_capabilities,
        ["certificate.verify", "certificate.get"]
    );
}

#[test]
fn register_refuses_bad_values_before_sending() {
    let base = [
        "app",
        "register",
        "--name",
        "x",
        "--allow",
        "certificate.verify",
    ];
    let with = |extra: &[&'static str]| {
        let mut line = base.to_vec();
        line.extend_from_slice(extra);
        parse(&line).err().unwrap_or_default()
    };
    assert!(with(&[]).contains("--sponsor"), "sponsor is required");
    assert!(with(&["--sponsor", "3311/big-data"]).contains("6 digits"));
    let no_allow = parse(&["app", "register", "--name", "x", "--sponsor", "331100"]);
    assert!(no_allow.err().unwrap_or_default().contains("--allow"));
    let bad_name = with(&["--sponsor", "331100", "--allow", "Certificate.Verify"]);
    assert!(bad_name.contains("capability name"), "{bad_name}");
    // No owner or contact flags: none is sent.
    let Ok(Command::App(AppCommand::Register(args))) =
        parse(&[&base[..], &["--sponsor", "331100"]].concat())
    else {
        panic!("register did not parse");
    };
    let request = apps::register_request(&args);
    assert!(request.owner.is_none() && request.contact.is_none());
    assert!(!request.request_id.is_empty(), "a fresh idempotency key");
}

#[test]
fn update_masks_only_what_was_given() {
    let Ok(Command::App(AppCommand::Update(args))) = parse(&[
        "app",
        "update",
        APP,
        "--version",
        "3",
        "--allow",
        "certificate.get",
    ]) else {
        panic!("update did not parse");
    };
    let request = apps::update_request(&args).unwrap();
    assert_eq!(request.update_mask.unwrap().paths, ["allowed_capabilities"]);
    let app = request.app.unwrap();
    assert_eq!((app.id.as_str(), app.version), (APP, 3));

    let Ok(Command::App(AppCommand::Update(nothing))) =
        parse(&["app", "update", APP, "--version", "3"])
    else {
        panic!("update did not parse");
    };
    let error = apps::update_request(&nothing).unwrap_err().to_string();
    assert!(error.contains("--name"), "{error}");
    assert!(parse(&["app", "update", "bank", "--version", "3"]).is_err());
    assert!(
        parse(&["app", "update", APP, "--name", "x"]).is_err(),
        "version required"
    );
}

#[test]
fn disable_needs_a_reason_and_list_takes_a_state() {
    assert!(parse(&["app", "disable", APP]).is_err());
    let Ok(Command::App(AppCommand::Disable(args))) =
        parse(&["app", "disable", APP, "--reason", "contract ended"])
    else {
        panic!("disable did not parse");
    };
    assert_eq!(apps::disable_request(&args).reason, "contract ended");

    let Ok(Command::App(AppCommand::List(args))) = parse(&["app", "list", "--state", "disabled"])
    else {
        panic!("list did not parse");
    };
    assert_eq!(
        apps::list_request(&args).state,
        pb::AppState::Disabled as i32
    );
    assert!(parse(&["app", "list", "--state", "paused"]).is_err());
}

#[test]
fn credentials_take_durations() {
    let Ok(Command::App(AppCommand::Credential(CredentialCommand::Issue(args)))) =
        parse(&["app", "credential", "issue", APP, "--validity", "90d"])
    else {
        panic!("issue did not parse");
    };
    let request = credentials::issue_request(&args);
    assert_eq!(request.app_id, APP);
    assert_eq!(request.validity.unwrap().seconds, 90 * 86_400);

    let Ok(Command::App(AppCommand::Credential(CredentialCommand::Issue(forever)))) =
        parse(&["app", "credential", "issue", APP])
    else {
        panic!("issue did not parse");
    };
    assert!(credentials::issue_request(&forever).validity.is_none());

    let Ok(Command::App(AppCommand::Credential(CredentialCommand::Rotate(args)))) = parse(&[
        "app",
        "credential",
        "rotate",
        "ztk_0123456789abcdef0123456789abcdef",
        "--grace",
        "24h",
    ]) else {
        panic!("rotate did not parse");
    };
    let request = credentials::rotate_request(&args);
    assert_eq!(request.grace_period.unwrap().seconds, 86_400);
    assert!(parse(&["app", "credential", "rotate", "ztk_x", "--grace", "1 day"]).is_err());
    assert!(parse(&["app", "credential", "issue", APP, "--validity", "90"]).is_err());
}

#[test]
fn policies_carry_rates_quotas_and_caps() {
    let Ok(Command::Policy(PolicyCommand::Set(args))) = parse(&[
        "policy",
        "set",
        "--app",
        APP,
        "--capability",
        "*",
        "--rate",
        "100/1s",
        "--burst",
        "20",
        "--day",
        "10000",
        "--month",
        "200000",
        "--concurrency",
        "8",
    ]) else {
        panic!("policy set did not parse");
    };
    let policy = policies::set_request(&args).policy.unwrap();
    assert_eq!(policy.capability, "*");
    let rate = policy.rate_limit.unwrap();
    assert_eq!(
        (rate.requests, rate.period.unwrap().seconds, rate.burst),
        (100, 1, 20)
    );
    assert_eq!(
        policy
            .quotas
            .iter()
            .map(|q| (q.window(), q.limit))
            .collect::<Vec<_>>(),
        [
            (pb::QuotaWindow::Day, 10_000),
            (pb::QuotaWindow::Month, 200_000)
        ]
    );
    assert_eq!((policy.max_concurrency, policy.version), (8, 0));
    assert_eq!(policies::rate(&policy), "100/1s (burst 20)");

    let Ok(Command::Policy(PolicyCommand::Set(day_only))) = parse(&[
        "policy",
        "set",
        "--app",
        APP,
        "--capability",
        "certificate.verify",
        "--day",
        "5",
    ]) else {
        panic!("policy set did not parse");
    };
    let policy = policies::set_request(&day_only).policy.unwrap();
    assert!(policy.rate_limit.is_none());
    assert_eq!(policy.quotas.len(), 1);

    let set = ["policy", "set", "--app", APP, "--capability", "*"];
    for (extra, expected) in [
        // --burst without --rate: clap names the missing flag.
        (&["--burst", "5"][..], "--rate <RATE>"),
        (&["--rate", "100/2h"][..], "1s..1h"),
        (&["--rate", "0/1s"][..], "whole number >= 1"),
        (&["--day", "0"][..], "whole number >= 1"),
        (&["--concurrency", "0"][..], "0 is not in 1.."),
    ] {
        let error = parse(&[&set[..], extra].concat()).err().unwrap_or_default();
        assert!(error.contains(expected), "{extra:?}: {error}");
    }
    assert!(parse(&["policy", "set", "--app", APP, "--capability", "Cert"]).is_err());
    assert!(parse(&["policy", "get", "--app", "bank", "--capability", "*"]).is_err());
}

#[test]
fn audit_filters_become_the_request() {
    let Ok(Command::Gateway(GatewayCommand::Audit(args))) = parse(&[
        "gateway",
        "audit",
        "--app",
        APP,
        "--capability",
        "certificate.verify",
        "--outcome",
        "shed,rejected-limit",
        "--outcome",
        "BACKEND_FAILED",
        "--from",
        "2026-12-01",
        "--limit",
        "20",
    ]) else {
        panic!("audit did not parse");
    };
    let request = observe::audit_request(&args);
    assert_eq!(
        request.outcomes,
        [
            pb::CallOutcome::Shed as i32,
            pb::CallOutcome::RejectedLimit as i32,
            pb::CallOutcome::BackendFailed as i32
        ]
    );
    assert_eq!(request.page.unwrap().page_size, 20);
    let period = request.period.unwrap();
    // 2026-12-01 00:00 in UTC+8.
    assert_eq!(period.start_time.unwrap().seconds, 1_796_054_400);
    assert!(period.end_time.is_none());
    assert!(parse(&["gateway", "audit", "--outcome", "lost"]).is_err());
    assert!(parse(&["gateway", "audit", "--limit", "0"]).is_err());

    let Ok(Command::Gateway(GatewayCommand::Audit(plain))) = parse(&["gateway", "audit"]) else {
        panic!("audit did not parse");
    };
    assert!(observe::audit_request(&plain).period.is_none());
}

#[test]
fn openapi_asks_for_the_format() {
    let Ok(Command::Gateway(GatewayCommand::Openapi(args))) =
        parse(&["gateway", "openapi", "--app", APP, "--yaml"])
    else {
        panic!("openapi did not parse");
    };
    let request = observe::openapi_request(&args);
    assert_eq!(request.format(), pb::OpenApiFormat::Yaml);
    assert_eq!(request.app_id, APP);
}

#[test]
fn audit_rows_read_like_the_call() {
    let record = pb::AuditRecord {
        capability: "certificate.verify".into(),
        capability_version: "v1".into(),
        protocol: pb::CallProtocol::HttpJson as i32,
        http_method: "POST".into(),
        path: "/v1/certificates:verify".into(),
        http_status: 429,
        outcome: pb::CallOutcome::RejectedLimit as i32,
        error_reason: "QUOTA_EXCEEDED".into(),
        latency: Some(prost_types::Duration {
            seconds: 0,
            nanos: 1_200_000,
        }),
        ..Default::default()
    };
    let row = observe::audit_row(&record);
    assert_eq!(row[2], "certificate.verify v1");
    assert_eq!(row[3], "POST /v1/certificates:verify");
    assert_eq!(row[4], "REJECTED_LIMIT");
    assert_eq!(row[5], "429");
    assert_eq!(row[6], "1.2ms");
    assert_eq!(row[7], "QUOTA_EXCEEDED");
}

fn capability_file(text: &str) -> tempfile_path::TempFile {
    tempfile_path::TempFile::with(text)
}

/// A file in the system's temporary folder, removed when dropped.
mod tempfile_path {
    use super::*;

    pub struct TempFile(pub std::path::PathBuf);

    impl TempFile {
        pub fn with(text: &str) -> Self {
            let path =
                std::env::temp_dir().join(format!("zt-capability-{}.yaml", uuid::Uuid::new_v4()));
            let mut file = std::fs::File::create(&path).unwrap();
            file.write_all(text.as_bytes()).unwrap();
            Self(path)
        }
    }

    impl Drop for TempFile {
        fn drop(&mut self) {
            let _ = std::fs::remove_file(&self.0);
        }
    }
}

fn create_from(path: &std::path::Path) -> anyhow::Result<pb::CreateCapabilityRequest> {
    let path = path.to_string_lossy().to_string();
    let Ok(Command::Capability(CapabilityCommand::Create(args))) = parse(&[
        "capability",
        "create",
        "--file",
        &path,
        "--request-id",
        "c-1",
    ]) else {
        panic!("create did not parse");
    };
    capabilities::create_request(&args)
}

#[test]
fn the_example_capabilities_are_valid_requests() {
    let examples = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/gateway");
    let verify = create_from(&examples.join("certificate-verify.yaml")).unwrap();
    assert_eq!(verify.request_id, "c-1");
    let capability = verify.capability.unwrap();
    assert_eq!(
        (capability.name.as_str(), capability.version.as_str()),
        ("certificate.verify", "v1")
    );
    let http = capability.http.clone().unwrap();
    assert_eq!(http.method(), pb::HttpMethod::Post);
    assert_eq!(http.route_template, "/v1/certificates:verify");
    assert_eq!(http.body, "*");
    let backend = capability.backend.clone().unwrap();
    assert_eq!(backend.service, "certificate");
    assert_eq!(
        backend.grpc_method,
        "/zhongtai.certificate.v1.CertificateService/VerifyCertificate"
    );
    assert!(capability.idempotent);
    assert_eq!(capability.priority(), pb::CapabilityPriority::Critical);
    assert_eq!(capability.timeout.unwrap().seconds, 2);

    let get = create_from(&examples.join("certificate-get.yaml"))
        .unwrap()
        .capability
        .unwrap();
    assert_eq!(get.http.clone().unwrap().method(), pb::HttpMethod::Get);
    assert_eq!(get.priority(), pb::CapabilityPriority::Normal);

    let consent = create_from(&examples.join("consent-read.yaml"))
        .unwrap()
        .capability
        .unwrap();
    assert!(consent.consent_required);
    assert_eq!(
        consent.http.unwrap().route_template,
        "/v1/consents/{consent_id}:read"
    );
}

#[test]
fn a_bad_capability_file_is_refused_with_its_field() {
    let file = capability_file("name: certificate.verify\nhttp:\n  method: FETCH\n");
    let error = format!("{:#}", create_from(&file.0).unwrap_err());
    assert!(error.contains("http.method"), "{error}");
    assert!(error.contains("HTTP_METHOD_POST"), "{error}");
    let unknown = capability_file("name: certificate.verify\nroute: /v1/x\n");
    let error = format!("{:#}", create_from(&unknown.0).unwrap_err());
    assert!(
        error.contains("route") && error.contains("unknown field"),
        "{error}"
    );
}
