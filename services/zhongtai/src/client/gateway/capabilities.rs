//! `zhongtai capability …`: capabilities the gateway opens — an external
//! HTTP route mapped to a backend gRPC method, created from a YAML (or
//! JSON) file, then published for integrators.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand};
use zhongtai_contracts::gateway::v1 as pb;

use super::values;
use crate::client::endpoints::TargetArgs;
use crate::client::flags::{PageArgs, RequestIdArg};
use crate::client::labels;
use crate::client::message_file::read_message;
use crate::client::output::{emit, print_details, print_next_page, print_proto_json, print_table};
use crate::client::rpc::{self, Answer as _};

#[derive(Subcommand)]
pub enum CapabilityCommand {
    /// Create a capability (unpublished) from a YAML or JSON zhongtai.gateway.v1.Capability
    Create(CreateArgs),
    /// Capabilities, by name and version
    List(ListArgs),
    /// Show a capability version (default: the highest published)
    Get(GetArgs),
    /// Publish a version: allowed apps may call it; it appears in the OpenAPI document
    Publish(VersionArgs),
    /// Unpublish a version: calls are refused
    Unpublish(VersionArgs),
    /// Delete an unpublished version
    Delete(VersionArgs),
}

#[derive(Args)]
pub struct CreateArgs {
    #[command(flatten)]
    target: TargetArgs,
    /// The capability, e.g. examples/gateway/certificate-verify.yaml
    #[arg(long)]
    file: PathBuf,
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
    /// Only published capabilities
    #[arg(long)]
    published: bool,
    /// Only capabilities calling this backend service
    #[arg(long)]
    backend: Option<String>,
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
    /// Capability name, e.g. certificate.verify
    #[arg(value_parser = values::capability)]
    name: String,
    /// Version (default: the highest published)
    #[arg(long)]
    version: Option<String>,
    /// Print the answer as proto3 JSON
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
pub struct VersionArgs {
    #[command(flatten)]
    target: TargetArgs,
    /// Capability name, e.g. certificate.verify
    #[arg(value_parser = values::capability)]
    name: String,
    /// Version, e.g. v1
    version: String,
    /// Print the answer as proto3 JSON
    #[arg(long)]
    json: bool,
}

pub async fn run(command: CapabilityCommand) -> anyhow::Result<ExitCode> {
    match command {
        CapabilityCommand::Create(args) => {
            let request = create_request(&args)?;
            let capability = rpc::gateway(&args.target)?
                .create_capability(request.clone())
                .await
                .answer_once("create the capability", &request.request_id)?
                .capability;
            show(&capability.unwrap_or_default(), args.json)
        }
        CapabilityCommand::List(args) => list(args).await,
        CapabilityCommand::Get(args) => {
            let capability = rpc::gateway(&args.target)?
                .get_capability(pb::GetCapabilityRequest {
                    name: args.name,
                    version: args.version.unwrap_or_default(),
                })
                .await
                .answer("get the capability")?
                .capability;
            show(&capability.unwrap_or_default(), args.json)
        }
        CapabilityCommand::Publish(args) => {
            let capability = rpc::gateway(&args.target)?
                .publish_capability(pb::PublishCapabilityRequest {
                    name: args.name,
                    version: args.version,
                })
                .await
                .answer("publish the capability")?
                .capability;
            show(&capability.unwrap_or_default(), args.json)
        }
        CapabilityCommand::Unpublish(args) => {
            let capability = rpc::gateway(&args.target)?
                .unpublish_capability(pb::UnpublishCapabilityRequest {
                    name: args.name,
                    version: args.version,
                })
                .await
                .answer("unpublish the capability")?
                .capability;
            show(&capability.unwrap_or_default(), args.json)
        }
        CapabilityCommand::Delete(args) => {
            let response = rpc::gateway(&args.target)?
                .delete_capability(pb::DeleteCapabilityRequest {
                    name: args.name.clone(),
                    version: args.version.clone(),
                })
                .await
                .answer("delete the capability")?;
            if args.json {
                print_proto_json(&response)?;
            } else {
                emit(&format!("deleted {} {}", args.name, args.version));
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// The CreateCapability request for the file, refused before sending when
/// the file does not hold a Capability.
pub fn create_request(args: &CreateArgs) -> anyhow::Result<pb::CreateCapabilityRequest> {
    let capability: pb::Capability = read_message(&args.file)?;
    Ok(pb::CreateCapabilityRequest {
        request_id: args.request_id.resolve(""),
        capability: Some(capability),
    })
}

/// The ListCapabilities request the flags describe.
pub fn list_request(args: &ListArgs) -> pb::ListCapabilitiesRequest {
    pb::ListCapabilitiesRequest {
        page: args.page.request(),
        published_only: args.published,
        backend_service: args.backend.clone().unwrap_or_default(),
    }
}

async fn list(args: ListArgs) -> anyhow::Result<ExitCode> {
    let response = rpc::gateway(&args.target)?
        .list_capabilities(list_request(&args))
        .await
        .answer("list capabilities")?;
    if args.json {
        print_proto_json(&response)?;
        return Ok(ExitCode::SUCCESS);
    }
    let rows: Vec<Vec<String>> = response
        .capabilities
        .iter()
        .map(|c| {
            vec![
                c.name.clone(),
                c.version.clone(),
                route(c),
                c.backend
                    .as_ref()
                    .map(|b| b.service.clone())
                    .unwrap_or_default(),
                priority(c),
                yes_no(c.published),
            ]
        })
        .collect();
    print_table(
        &[
            "NAME",
            "VERSION",
            "ROUTE",
            "BACKEND",
            "PRIORITY",
            "PUBLISHED",
        ],
        &rows,
    );
    print_next_page(response.page.as_ref());
    Ok(ExitCode::SUCCESS)
}

/// `POST /v1/certificates:verify`.
fn route(capability: &pb::Capability) -> String {
    match &capability.http {
        Some(http) => format!(
            "{} {}",
            labels::short(http.method().as_str_name(), "HTTP_METHOD_"),
            http.route_template
        ),
        None => String::new(),
    }
}

fn priority(capability: &pb::Capability) -> String {
    labels::short(capability.priority().as_str_name(), "CAPABILITY_PRIORITY_")
}

fn yes_no(value: bool) -> String {
    if value { "yes" } else { "no" }.to_string()
}

fn show(capability: &pb::Capability, json: bool) -> anyhow::Result<ExitCode> {
    if json {
        print_proto_json(capability)?;
        return Ok(ExitCode::SUCCESS);
    }
    let backend = capability
        .backend
        .as_ref()
        .map(|b| format!("{} {}", b.service, b.grpc_method))
        .unwrap_or_default();
    let body = capability
        .http
        .as_ref()
        .map(|h| h.body.clone())
        .unwrap_or_default();
    print_details(&[
        ("name", capability.name.clone()),
        ("version", capability.version.clone()),
        ("title", capability.title.clone()),
        ("description", labels::clip(&capability.description, 100)),
        ("route", route(capability)),
        ("body", body),
        ("backend", backend),
        ("timeout", labels::duration(capability.timeout.as_ref())),
        ("idempotent", yes_no(capability.idempotent)),
        ("priority", priority(capability)),
        ("consent required", yes_no(capability.consent_required)),
        ("published", yes_no(capability.published)),
        ("revision", capability.revision.to_string()),
        ("created", labels::time(capability.create_time.as_ref())),
        ("updated", labels::time(capability.update_time.as_ref())),
    ]);
    Ok(ExitCode::SUCCESS)
}
