//! `zhongtai certificate issue`: a signed certificate from a YAML
//! IssueCertificateRequest, or from flags with claims typed as the
//! certificate type declares them.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use prost_types::{Duration, Timestamp};
use zhongtai_contracts::certificate::v1 as pb;
use zhongtai_contracts::common::v1::{Organization, Person};

use super::super::endpoints::TargetArgs;
use super::super::flags::{self, RequestIdArg};
use super::super::message_file::read_message;
use super::super::output::print_proto_json;
use super::super::rpc::{self, Answer as _};
use super::{types, values, view};

#[derive(Args)]
#[command(group = clap::ArgGroup::new("holder").args(["org", "person"]))]
pub struct IssueArgs {
    #[command(flatten)]
    target: TargetArgs,
    /// YAML IssueCertificateRequest (see examples/issue-*.yaml); flags
    /// given as well override its values
    #[arg(short = 'f', long = "file")]
    file: Option<PathBuf>,
    /// Certificate type code
    #[arg(long = "type", required_unless_present = "file")]
    certificate_type: Option<String>,
    /// Issuer id
    #[arg(long, required_unless_present = "file")]
    issuer: Option<String>,
    /// Holder organisation: NAME:CREDITCODE
    #[arg(long, value_parser = values::organization)]
    org: Option<Organization>,
    /// Holder person: NAME:IDNUMBER, or NAME:ID-TYPE:NUMBER
    #[arg(long, value_parser = values::person)]
    person: Option<Person>,
    /// A claim, NAME=VALUE (repeatable); typed as the certificate type declares it
    #[arg(long = "claim", value_parser = values::claim_assignment)]
    claims: Vec<(String, String)>,
    /// How long it is valid, e.g. 365d (default: the type's)
    #[arg(long, value_parser = values::validity)]
    validity: Option<Duration>,
    /// Valid from this day (China Standard Time) or RFC 3339 time (default: now)
    #[arg(long, value_parser = flags::from)]
    valid_from: Option<Timestamp>,
    /// The approved application it is issued on
    #[arg(long)]
    application: Option<String>,
    #[command(flatten)]
    request_id: RequestIdArg,
    /// Print the answer as proto3 JSON
    #[arg(long)]
    json: bool,
}

pub async fn issue(args: IssueArgs) -> anyhow::Result<ExitCode> {
    let mut request: pb::IssueCertificateRequest = match &args.file {
        Some(file) => read_message(file)?,
        None => pb::IssueCertificateRequest::default(),
    };
    request.request_id = args.request_id.resolve(&request.request_id);
    if let Some(code) = args.certificate_type {
        request.certificate_type = code;
    }
    if let Some(issuer) = args.issuer {
        request.issuer_id = issuer;
    }
    if let Some(org) = args.org {
        request.holder = Some(values::organization_holder(org));
    }
    if let Some(person) = args.person {
        request.holder = Some(values::person_holder(person));
    }
    if request.holder.is_none() {
        anyhow::bail!("name the holder with --org NAME:CREDITCODE or --person NAME:IDNUMBER");
    }
    if let Some(validity) = args.validity {
        request.validity = Some(validity);
    }
    if let Some(from) = args.valid_from {
        request.valid_from_time = Some(from);
    }
    if let Some(application) = args.application {
        request.application_id = application;
    }
    if !args.claims.is_empty() {
        if request.certificate_type.is_empty() {
            anyhow::bail!("--claim needs the certificate type: give --type");
        }
        let certificate_type = types::fetch(&args.target, &request.certificate_type).await?;
        let given = values::typed_claims(&certificate_type, &args.claims)?;
        request
            .claims
            .retain(|c| !given.iter().any(|g| g.name == c.name));
        request.claims.extend(given);
    }
    let request_id = request.request_id.clone();
    let certificate = rpc::certificate(&args.target)?
        .issue_certificate(request)
        .await
        .answer_once("issue the certificate", &request_id)?
        .certificate
        .unwrap_or_default();
    if args.json {
        print_proto_json(&certificate)?;
    } else {
        view::print_certificate(&certificate);
        view::print_qr_payload(&certificate.qr_payload);
    }
    Ok(ExitCode::SUCCESS)
}
