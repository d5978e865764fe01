//! Venues (场所), scanning codes at them, and who was scanned where.

use std::process::ExitCode;

use clap::{Args, Subcommand};
use prost_types::Timestamp;
use zhongtai_contracts::certificate::v1 as pb;
use zhongtai_contracts::common::v1::Period;

use super::super::certificates::{exit_code, values, view as certificate_view};
use super::super::endpoints::TargetArgs;
use super::super::flags::{self, PageArgs, RequestIdArg};
use super::super::labels;
use super::super::output::{print_details, print_next_page, print_proto_json, print_table};
use super::super::rpc::{self, Answer as _};
use super::view;

#[derive(Subcommand)]
pub enum VenueCommand {
    /// Register a venue under your tenant
    Register(RegisterArgs),
    /// Venues of your tenant
    List(ListArgs),
    /// Show one venue
    Get(GetArgs),
    /// Who was scanned at a venue in a time window, oldest first
    Scans(VenueScansArgs),
}

#[derive(Args)]
pub struct RegisterArgs {
    #[command(flatten)]
    target: TargetArgs,
    /// Display name
    #[arg(long)]
    name: String,
    /// Street address
    #[arg(long)]
    address: String,
    /// Division the venue lies in (six digits, within your division)
    #[arg(long)]
    division: String,
    #[command(flatten)]
    request_id: RequestIdArg,
    /// Print the answer as proto3 JSON
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
pub struct ListArgs {
    #[command(flatten)]
    target: TargetArgs,
    /// Only venues in this division (and the divisions within it)
    #[arg(long)]
    division: Option<String>,
    #[command(flatten)]
    page: PageArgs,
    /// Print the answer as proto3 JSON
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
pub struct GetArgs {
    #[command(flatten)]
    target: TargetArgs,
    /// Venue id
    id: String,
    /// Print the answer as proto3 JSON
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
pub struct VenueScansArgs {
    #[command(flatten)]
    target: TargetArgs,
    /// Venue id
    id: String,
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

#[derive(Args)]
pub struct VerifyArgs {
    #[command(flatten)]
    target: TargetArgs,
    /// The code's QR payload or token, a file holding it, or - for stdin
    payload: String,
    /// Print the answer as proto3 JSON
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
pub struct ScanArgs {
    #[command(flatten)]
    target: TargetArgs,
    /// Venue id
    #[arg(long)]
    venue: String,
    /// The code's QR payload or token, a file holding it, or - for stdin
    payload: String,
    /// Scanning device id
    #[arg(long)]
    device: Option<String>,
    /// Scan id, the idempotency key: repeat it to retry (default: a new UUID)
    #[arg(long)]
    scan_id: Option<String>,
    /// When the device scanned it, RFC 3339 (default: now)
    #[arg(long, value_parser = flags::from)]
    at: Option<Timestamp>,
    /// Print the answer as proto3 JSON
    #[arg(long)]
    json: bool,
}

pub async fn run(command: VenueCommand) -> anyhow::Result<ExitCode> {
    match command {
        VenueCommand::Register(args) => register(args).await,
        VenueCommand::List(args) => list(args).await,
        VenueCommand::Get(args) => get(args).await,
        VenueCommand::Scans(args) => venue_scans(args).await,
    }
}

async fn register(args: RegisterArgs) -> anyhow::Result<ExitCode> {
    let request_id = args.request_id.resolve("");
    let venue = rpc::codes(&args.target)?
        .register_venue(pb::RegisterVenueRequest {
            request_id: request_id.clone(),
            name: args.name,
            address: args.address,
            division_code: args.division,
        })
        .await
        .answer_once("register the venue", &request_id)?
        .venue
        .unwrap_or_default();
    show(&venue, args.json)
}

async fn get(args: GetArgs) -> anyhow::Result<ExitCode> {
    let venue = rpc::codes(&args.target)?
        .get_venue(pb::GetVenueRequest { id: args.id })
        .await
        .answer("get the venue")?
        .venue
        .unwrap_or_default();
    show(&venue, args.json)
}

fn show(venue: &pb::Venue, json: bool) -> anyhow::Result<ExitCode> {
    if json {
        print_proto_json(venue)?;
    } else {
        view::print_venue(venue);
    }
    Ok(ExitCode::SUCCESS)
}

async fn list(args: ListArgs) -> anyhow::Result<ExitCode> {
    let response = rpc::codes(&args.target)?
        .list_venues(pb::ListVenuesRequest {
            page: args.page.request(),
            division_code: args.division.unwrap_or_default(),
        })
        .await
        .answer("list venues")?;
    if args.json {
        print_proto_json(&response)?;
        return Ok(ExitCode::SUCCESS);
    }
    let rows: Vec<Vec<String>> = response
        .venues
        .iter()
        .map(|v| {
            vec![
                v.id.clone(),
                v.name.clone(),
                v.address.clone(),
                v.division_code.clone(),
                labels::tenant(v.tenant.as_ref()),
            ]
        })
        .collect();
    print_table(&["ID", "NAME", "ADDRESS", "DIVISION", "TENANT"], &rows);
    print_next_page(response.page.as_ref());
    Ok(ExitCode::SUCCESS)
}

async fn venue_scans(args: VenueScansArgs) -> anyhow::Result<ExitCode> {
    let response = rpc::codes(&args.target)?
        .list_venue_scans(pb::ListVenueScansRequest {
            page: args.page.request(),
            venue_id: args.id,
            period: Some(Period {
                start_time: Some(args.from),
                end_time: Some(args.until),
            }),
        })
        .await
        .answer("list the venue's scans")?;
    if args.json {
        print_proto_json(&response)?;
    } else {
        view::print_scans(&response.scans);
        print_next_page(response.page.as_ref());
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn verify(args: VerifyArgs) -> anyhow::Result<ExitCode> {
    let payload = values::presentation(&args.payload)?;
    let response = rpc::codes(&args.target)?
        .verify_code(pb::VerifyCodeRequest { payload })
        .await
        .answer("verify the code")?;
    let result = response.result.clone().unwrap_or_default();
    if args.json {
        print_proto_json(&response)?;
    } else {
        print_details(&[
            ("outcome", certificate_view::outcome(result.outcome())),
            ("status", view::holder_status(response.holder_status())),
            ("kind", view::kind(response.code_kind())),
            ("detail", result.detail.clone()),
            ("code", result.certificate_id.clone()),
            ("holder", certificate_view::holder(result.holder.as_ref())),
            ("key", result.key_id.clone()),
            (
                "valid until",
                labels::time(result.valid_until_time.as_ref()),
            ),
            ("checked", labels::time(result.check_time.as_ref())),
        ]);
    }
    Ok(exit_code(result.outcome()))
}

pub async fn scan(args: ScanArgs) -> anyhow::Result<ExitCode> {
    let payload = values::presentation(&args.payload)?;
    let scan_id = args
        .scan_id
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    let answer = rpc::codes(&args.target)?
        .scan_code(pb::ScanCodeRequest {
            scan_id: scan_id.clone(),
            venue_id: args.venue,
            payload,
            scan_time: args.at,
            device_id: args.device.unwrap_or_default(),
        })
        .await;
    let unknown = |code| {
        matches!(
            code,
            tonic::Code::Unavailable | tonic::Code::DeadlineExceeded | tonic::Code::Unknown
        )
    };
    if let Err(status) = &answer
        && unknown(status.code())
    {
        eprintln!(
            "the scan may or may not have been recorded: retry with --scan-id {scan_id} \
             (a repeated scan id is recorded once)"
        );
    }
    let scan = answer.answer("record the scan")?.scan.unwrap_or_default();
    if args.json {
        print_proto_json(&scan)?;
    } else {
        view::print_scan(&scan);
    }
    Ok(exit_code(scan.outcome()))
}
