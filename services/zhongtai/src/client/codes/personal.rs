//! A holder's own code and scans, and the offline codes a service counter
//! prints for people without a phone.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use prost_types::{Duration, Timestamp};
use zhongtai_contracts::certificate::v1 as pb;
use zhongtai_contracts::common::v1::Period;

use super::super::certificates::{values, view as certificate_view};
use super::super::endpoints::TargetArgs;
use super::super::flags::{self, PageArgs, RequestIdArg};
use super::super::labels;
use super::super::output::{print_details, print_next_page, print_proto_json};
use super::super::rpc::{self, Answer as _};
use super::view;

#[derive(Args)]
pub struct ShowArgs {
    #[command(flatten)]
    target: TargetArgs,
    /// Render the code as png or svg and write it to --out
    #[arg(long, value_parser = flags::enum_value("zhongtai.certificate.v1.QrImageFormat"))]
    qr: Option<i32>,
    /// Image size in pixels, 64..2048 (default 512)
    #[arg(long, requires = "qr")]
    size: Option<i32>,
    /// Where to write the QR image (default: code-<id>.<png|svg>)
    #[arg(long, requires = "qr")]
    out: Option<PathBuf>,
    /// Print the answer as proto3 JSON
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
pub struct OfflineArgs {
    #[command(flatten)]
    target: TargetArgs,
    /// The person's name as on their identity document
    #[arg(long)]
    name: String,
    /// Their identity document number
    #[arg(long)]
    id_number: String,
    /// resident-id-card, passport, mainland-travel-permit or foreign-permanent-resident-card
    #[arg(long, default_value = "resident-id-card")]
    id_type: String,
    /// How long it verifies, 1d..366d
    #[arg(long, value_parser = values::validity)]
    validity: Duration,
    /// Write the printable image here (.png, or .svg for SVG)
    #[arg(long)]
    out: Option<PathBuf>,
    /// Image size in pixels, 64..2048 (default 1024, print quality)
    #[arg(long)]
    size: Option<i32>,
    #[command(flatten)]
    request_id: RequestIdArg,
    /// Print the answer as proto3 JSON
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
pub struct RevokeOfflineArgs {
    #[command(flatten)]
    target: TargetArgs,
    /// Offline code id
    id: String,
    /// Why, e.g. lost
    #[arg(long)]
    reason: String,
    /// Print the answer as proto3 JSON
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
pub struct ScansArgs {
    #[command(flatten)]
    target: TargetArgs,
    /// From this day (China Standard Time) or RFC 3339 time
    #[arg(long, value_parser = flags::from)]
    from: Timestamp,
    /// Through this day (China Standard Time), or until this RFC 3339 time
    #[arg(long, value_parser = flags::until)]
    until: Timestamp,
    #[command(flatten)]
    page: PageArgs,
    /// Print the answer as proto3 JSON
    #[arg(long)]
    json: bool,
}

pub async fn show(args: ShowArgs) -> anyhow::Result<ExitCode> {
    let response = rpc::codes(&args.target)?
        .show_code(pb::ShowCodeRequest {
            qr_image_format: args.qr.unwrap_or(0),
            qr_image_size: args.size.unwrap_or(0),
        })
        .await
        .answer("show your code")?;
    let code = response.code.clone().unwrap_or_default();
    if args.qr.is_some() {
        certificate_view::save_image(
            code.qr_image.as_ref(),
            args.out.as_deref(),
            &format!("code-{}", code.id),
        )?;
    }
    if args.json {
        print_proto_json(&response)?;
    } else {
        view::print_code(&code);
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn offline(args: OfflineArgs) -> anyhow::Result<ExitCode> {
    let holder = values::person_of(&args.name, &args.id_number, &args.id_type)
        .map_err(anyhow::Error::msg)?;
    let format = match args.out.as_ref().and_then(|p| p.extension()) {
        Some(ext) if ext.eq_ignore_ascii_case("svg") => pb::QrImageFormat::Svg,
        _ => pb::QrImageFormat::Png,
    };
    let request_id = args.request_id.resolve("");
    let code = rpc::codes(&args.target)?
        .issue_offline_code(pb::IssueOfflineCodeRequest {
            request_id: request_id.clone(),
            holder: Some(holder),
            validity: Some(args.validity),
            qr_image_format: format as i32,
            qr_image_size: args.size.unwrap_or(0),
        })
        .await
        .answer_once("issue the offline code", &request_id)?
        .code
        .unwrap_or_default();
    if let Some(out) = &args.out {
        certificate_view::save_image(code.qr_image.as_ref(), Some(out), "")?;
    }
    if args.json {
        print_proto_json(&code)?;
    } else {
        view::print_code(&code);
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn revoke_offline(args: RevokeOfflineArgs) -> anyhow::Result<ExitCode> {
    let response = rpc::codes(&args.target)?
        .revoke_offline_code(pb::RevokeOfflineCodeRequest {
            id: args.id.clone(),
            reason: args.reason,
        })
        .await
        .answer("revoke the offline code")?;
    if args.json {
        print_proto_json(&response)?;
    } else {
        print_details(&[
            ("code", args.id),
            ("revoked", labels::time(response.revoke_time.as_ref())),
        ]);
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn scans(args: ScansArgs) -> anyhow::Result<ExitCode> {
    let response = rpc::codes(&args.target)?
        .list_holder_scans(pb::ListHolderScansRequest {
            page: args.page.request(),
            holder: None,
            period: Some(Period {
                start_time: Some(args.from),
                end_time: Some(args.until),
            }),
        })
        .await
        .answer("list your scans")?;
    if args.json {
        print_proto_json(&response)?;
    } else {
        view::print_scans(&response.scans);
        print_next_page(response.page.as_ref());
    }
    Ok(ExitCode::SUCCESS)
}
