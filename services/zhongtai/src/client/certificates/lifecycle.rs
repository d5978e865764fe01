//! `zhongtai certificate get | list | revoke | suspend | reinstate`:
//! issued certificates, their QR codes and their status.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use zhongtai_contracts::certificate::v1 as pb;
use zhongtai_contracts::common::v1::{Organization, Person};

use super::super::endpoints::TargetArgs;
use super::super::flags::{self, PageArgs};
use super::super::output::{print_next_page, print_proto_json};
use super::super::rpc::{self, Answer as _};
use super::{values, view};

#[derive(Args)]
pub struct GetArgs {
    #[command(flatten)]
    target: TargetArgs,
    /// Certificate id
    id: String,
    /// Render its QR code as png or svg and write it to --out
    #[arg(long, value_parser = flags::enum_value("zhongtai.certificate.v1.QrImageFormat"))]
    qr: Option<i32>,
    /// Image size in pixels, 64..2048 (default 512)
    #[arg(long, requires = "qr")]
    size: Option<i32>,
    /// Where to write the QR image (default: certificate-<id>.<png|svg>)
    #[arg(long, requires = "qr")]
    out: Option<PathBuf>,
    /// Print the answer as proto3 JSON
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
#[command(group = clap::ArgGroup::new("holder").args(["org", "person"]))]
pub struct ListArgs {
    #[command(flatten)]
    target: TargetArgs,
    /// Only this certificate type
    #[arg(long = "type")]
    certificate_type: Option<String>,
    /// Only this issuer id
    #[arg(long)]
    issuer: Option<String>,
    /// Only these statuses (comma-separated): valid, suspended, revoked, expired
    #[arg(long, value_delimiter = ',',
          value_parser = flags::enum_value("zhongtai.certificate.v1.CertificateStatus"))]
    status: Vec<i32>,
    /// Only certificates of this organisation, NAME:CREDITCODE
    #[arg(long, value_parser = values::organization)]
    org: Option<Organization>,
    /// Only certificates of this person, NAME:IDNUMBER
    #[arg(long, value_parser = values::person)]
    person: Option<Person>,
    #[command(flatten)]
    page: PageArgs,
    /// Print the answer as proto3 JSON
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
pub struct StatusArgs {
    #[command(flatten)]
    target: TargetArgs,
    /// Certificate id
    id: String,
    /// Why (required)
    #[arg(long)]
    reason: String,
    /// Print the answer as proto3 JSON
    #[arg(long)]
    json: bool,
}

pub async fn get(args: GetArgs) -> anyhow::Result<ExitCode> {
    let response = rpc::certificate(&args.target)?
        .get_certificate(pb::GetCertificateRequest {
            id: args.id.clone(),
            qr_image_format: args.qr.unwrap_or(0),
            qr_image_size: args.size.unwrap_or(0),
        })
        .await
        .answer("get the certificate")?;
    if args.qr.is_some() {
        view::save_image(
            response.qr_image.as_ref(),
            args.out.as_deref(),
            &format!("certificate-{}", args.id),
        )?;
    }
    if args.json {
        print_proto_json(&response)?;
    } else {
        let certificate = response.certificate.unwrap_or_default();
        view::print_certificate(&certificate);
        if args.qr.is_none() {
            view::print_qr_payload(&certificate.qr_payload);
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn list(args: ListArgs) -> anyhow::Result<ExitCode> {
    let holder = match (args.org, args.person) {
        (Some(org), _) => Some(values::organization_holder(org)),
        (None, Some(person)) => Some(values::person_holder(person)),
        (None, None) => None,
    };
    let response = rpc::certificate(&args.target)?
        .list_certificates(pb::ListCertificatesRequest {
            page: args.page.request(),
            holder,
            certificate_type: args.certificate_type.unwrap_or_default(),
            issuer_id: args.issuer.unwrap_or_default(),
            statuses: args.status,
        })
        .await
        .answer("list certificates")?;
    if args.json {
        print_proto_json(&response)?;
    } else {
        view::print_certificates(&response.certificates);
        print_next_page(response.page.as_ref());
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn revoke(args: StatusArgs) -> anyhow::Result<ExitCode> {
    let certificate = rpc::certificate(&args.target)?
        .revoke_certificate(pb::RevokeCertificateRequest {
            id: args.id,
            reason: args.reason,
        })
        .await
        .answer("revoke the certificate")?
        .certificate
        .unwrap_or_default();
    show(&certificate, args.json)
}

pub async fn suspend(args: StatusArgs) -> anyhow::Result<ExitCode> {
    let certificate = rpc::certificate(&args.target)?
        .suspend_certificate(pb::SuspendCertificateRequest {
            id: args.id,
            reason: args.reason,
        })
        .await
        .answer("suspend the certificate")?
        .certificate
        .unwrap_or_default();
    show(&certificate, args.json)
}

pub async fn reinstate(args: StatusArgs) -> anyhow::Result<ExitCode> {
    let certificate = rpc::certificate(&args.target)?
        .reinstate_certificate(pb::ReinstateCertificateRequest {
            id: args.id,
            reason: args.reason,
        })
        .await
        .answer("reinstate the certificate")?
        .certificate
        .unwrap_or_default();
    show(&certificate, args.json)
}

fn show(certificate: &pb::Certificate, json: bool) -> anyhow::Result<ExitCode> {
    if json {
        print_proto_json(certificate)?;
    } else {
        view::print_certificate(certificate);
    }
    Ok(ExitCode::SUCCESS)
}
