//! `zhongtai access …`: access requests (点菜) — asking for named fields of
//! a resource, masked as proposed, for a purpose and a period.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand};
use prost_types::Timestamp;
use zhongtai_contracts::catalog::v1 as pb;
use zhongtai_contracts::common::v1::{FieldAccess, Period, RowFilter, Tenant};

use super::endpoints::TargetArgs;
use super::flags::{self, PageArgs, RequestIdArg};
use super::grants::{print_field_access, row_filter};
use super::labels;
use super::message_file::read_message;
use super::output::{print_details, print_next_page, print_proto_json, print_section, print_table};
use super::rpc::{self, Answer as _};

#[derive(Subcommand)]
pub enum AccessCommand {
    /// Request access to fields of a resource (from flags or a YAML RequestAccessRequest)
    Request(RequestArgs),
    /// Show one access request
    Get(GetArgs),
    /// List access requests you made (or, with --as-owner, made on your resources)
    List(ListArgs),
    /// Withdraw a pending access request
    Withdraw(WithdrawArgs),
}

#[derive(Args)]
pub struct RequestArgs {
    #[command(flatten)]
    target: TargetArgs,
    /// YAML RequestAccessRequest; flags given as well override its values
    #[arg(short = 'f', long = "file")]
    file: Option<PathBuf>,
    /// Resource id
    #[arg(long, required_unless_present = "file")]
    resource: Option<String>,
    /// Fields with the masking you propose (comma-separated), e.g.
    /// husband_name,husband_id_number:partial-last-4; maskings: none,
    /// redact, hash, nullify, partial-last-N, partial-first-N, partial-first-N-last-M
    #[arg(long, value_delimiter = ',', value_parser = flags::field_access)]
    fields: Vec<FieldAccess>,
    /// What the data will be used for
    #[arg(long, required_unless_present = "file")]
    purpose: Option<String>,
    /// First day of use (China Standard Time) or an RFC 3339 time; default now
    #[arg(long, value_parser = flags::from)]
    from: Option<Timestamp>,
    /// Last day of use, e.g. 2027-12-31 (through that day, China Standard Time), or an RFC 3339 time
    #[arg(long, required_unless_present = "file", value_parser = flags::until)]
    until: Option<Timestamp>,
    /// Tenant receiving the data when not yours, e.g. 331100/housing-fund
    #[arg(long, value_parser = flags::tenant)]
    grantee: Option<Tenant>,
    /// YAML RowFilter: the rows requested (default all)
    #[arg(long)]
    row_filter: Option<PathBuf>,
    #[command(flatten)]
    request_id: RequestIdArg,
    /// Print the answer as proto3 JSON
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
pub struct GetArgs {
    #[command(flatten)]
    target: TargetArgs,
    /// Access request id
    id: String,
    /// Print the answer as proto3 JSON
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
pub struct ListArgs {
    #[command(flatten)]
    target: TargetArgs,
    /// Requests on resources you own, instead of requests you made
    #[arg(long)]
    as_owner: bool,
    /// Only requests for this resource id
    #[arg(long)]
    resource: Option<String>,
    /// Only these states (comma-separated): pending-approval, approved, rejected, withdrawn
    #[arg(long, value_delimiter = ',',
          value_parser = flags::enum_value("zhongtai.catalog.v1.AccessRequestState"))]
    state: Vec<i32>,
    #[command(flatten)]
    page: PageArgs,
    /// Print the answer as proto3 JSON
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
pub struct WithdrawArgs {
    #[command(flatten)]
    target: TargetArgs,
    /// Access request id
    id: String,
    /// Why
    #[arg(long)]
    reason: String,
    /// Print the answer as proto3 JSON
    #[arg(long)]
    json: bool,
}

pub async fn run(command: AccessCommand) -> anyhow::Result<ExitCode> {
    match command {
        AccessCommand::Request(args) => request(args).await,
        AccessCommand::Get(args) => get(args).await,
        AccessCommand::List(args) => list(args).await,
        AccessCommand::Withdraw(args) => withdraw(args).await,
    }
}

async fn request(args: RequestArgs) -> anyhow::Result<ExitCode> {
    let mut request: pb::RequestAccessRequest = match &args.file {
        Some(file) => read_message(file)?,
        None => pb::RequestAccessRequest::default(),
    };
    if let Some(path) = &args.row_filter {
        request.row_filter = Some(read_message::<RowFilter>(path)?);
    }
    if let Some(resource) = args.resource {
        request.resource_id = resource;
    }
    if !args.fields.is_empty() {
        request.fields = args.fields;
    }
    if request.fields.is_empty() {
        anyhow::bail!(
            "name the fields you need with --fields (e.g. --fields name,id_number:partial-last-4)"
        );
    }
    if let Some(purpose) = args.purpose {
        request.purpose = purpose;
    }
    if args.from.is_some() || args.until.is_some() {
        let period = request.period.get_or_insert_with(Period::default);
        if args.from.is_some() {
            period.start_time = args.from;
        }
        if args.until.is_some() {
            period.end_time = args.until;
        }
    }
    if let Some(grantee) = args.grantee {
        request.grantee = Some(grantee);
    }
    request.request_id = args.request_id.resolve(&request.request_id);
    let request_id = request.request_id.clone();
    let access_request = rpc::catalog(&args.target)?
        .request_access(request)
        .await
        .answer_once("request access", &request_id)?
        .access_request
        .unwrap_or_default();
    show(&access_request, args.json)
}

async fn get(args: GetArgs) -> anyhow::Result<ExitCode> {
    let access_request = rpc::catalog(&args.target)?
        .get_access_request(pb::GetAccessRequestRequest { id: args.id })
        .await
        .answer("get the access request")?
        .access_request
        .unwrap_or_default();
    show(&access_request, args.json)
}

async fn list(args: ListArgs) -> anyhow::Result<ExitCode> {
    let response = rpc::catalog(&args.target)?
        .list_access_requests(pb::ListAccessRequestsRequest {
            page: args.page.request(),
            resource_id: args.resource.unwrap_or_default(),
            states: args.state,
            as_owner: args.as_owner,
        })
        .await
        .answer("list access requests")?;
    if args.json {
        print_proto_json(&response)?;
        return Ok(ExitCode::SUCCESS);
    }
    let rows: Vec<Vec<String>> = response
        .access_requests
        .iter()
        .map(|r| {
            vec![
                r.id.clone(),
                r.resource_id.clone(),
                labels::tenant(r.requester.as_ref()),
                labels::clip(
                    &labels::list(r.fields.iter().map(flags::field_access_spec)),
                    60,
                ),
                labels::clip(&r.purpose, 30),
                state(r),
                r.application_id.clone(),
                labels::time(r.create_time.as_ref()),
            ]
        })
        .collect();
    print_table(
        &[
            "ID",
            "RESOURCE",
            "REQUESTER",
            "FIELDS",
            "PURPOSE",
            "STATE",
            "APPLICATION",
            "REQUESTED",
        ],
        &rows,
    );
    print_next_page(response.page.as_ref());
    Ok(ExitCode::SUCCESS)
}

async fn withdraw(args: WithdrawArgs) -> anyhow::Result<ExitCode> {
    let access_request = rpc::catalog(&args.target)?
        .withdraw_access_request(pb::WithdrawAccessRequestRequest {
            id: args.id,
            reason: args.reason,
        })
        .await
        .answer("withdraw the access request")?
        .access_request
        .unwrap_or_default();
    show(&access_request, args.json)
}

fn state(request: &pb::AccessRequest) -> String {
    labels::short(request.state().as_str_name(), "ACCESS_REQUEST_STATE_")
}

fn show(request: &pb::AccessRequest, json: bool) -> anyhow::Result<ExitCode> {
    if json {
        print_proto_json(request)?;
        return Ok(ExitCode::SUCCESS);
    }
    print_details(&[
        ("id", request.id.clone()),
        (
            "resource",
            format!(
                "{} version {}",
                request.resource_id, request.resource_version
            ),
        ),
        ("requester", labels::tenant(request.requester.as_ref())),
        ("grantee", labels::tenant(request.grantee.as_ref())),
        ("purpose", request.purpose.clone()),
        ("period", labels::period(request.period.as_ref())),
        ("rows", row_filter(request.row_filter.as_ref())),
        ("state", state(request)),
        ("decision", request.decision_reason.clone()),
        ("application", request.application_id.clone()),
        ("grant", request.grant_id.clone()),
        ("requested by", labels::actor(request.requested_by.as_ref())),
        ("request id", request.request_id.clone()),
        ("requested", labels::time(request.create_time.as_ref())),
        ("updated", labels::time(request.update_time.as_ref())),
    ]);
    print_section("Fields");
    print_field_access(&request.fields);
    Ok(ExitCode::SUCCESS)
}
