//! `zhongtai resource …`: data resources of the catalog center — registered
//! and updated from YAML, with their versions and lineage.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::bail;
use clap::{Args, Subcommand};
use zhongtai_contracts::catalog::v1 as pb;
use zhongtai_contracts::common::v1::Tenant;

use super::endpoints::TargetArgs;
use super::flags::{self, PageArgs, RequestIdArg};
use super::grants::print_grants;
use super::labels;
use super::message_file::read_message;
use super::output::{print_details, print_next_page, print_proto_json, print_section, print_table};
use super::resource_view::{layer, open, sharing, show, state};
use super::rpc::{self, Answer as _};

#[derive(Subcommand)]
pub enum ResourceCommand {
    /// Register a data resource from a YAML RegisterResourceRequest
    Register(RegisterArgs),
    /// Show a resource (its current version, or a past one)
    Get(GetArgs),
    /// List resources visible to you, by title
    List(ListArgs),
    /// Change the fields named by --fields, from a YAML UpdateResourceRequest
    Update(UpdateArgs),
    /// Retire a resource: hidden from search, no longer requestable
    Retire(RetireArgs),
    /// List a resource's versions, newest first
    Versions(VersionsArgs),
    /// Where a resource's data comes from and where it goes
    Lineage(LineageArgs),
}

#[derive(Args)]
pub struct RegisterArgs {
    #[command(flatten)]
    target: TargetArgs,
    /// YAML file: `resource:` with code, title, fields, layer, sharing, … (see examples/)
    #[arg(short = 'f', long = "file")]
    file: PathBuf,
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
    /// Resource id
    id: String,
    /// A past version; default the current one
    #[arg(long, default_value_t = 0)]
    version: i64,
    /// Print the answer as proto3 JSON
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
pub struct ListArgs {
    #[command(flatten)]
    target: TargetArgs,
    /// Only resources of this owner (331100 matches every department in it)
    #[arg(long, value_parser = flags::tenant)]
    owner: Option<Tenant>,
    /// Only this layer: raw, base, theme
    #[arg(long, value_parser = flags::enum_value("zhongtai.catalog.v1.ResourceLayer"))]
    layer: Option<i32>,
    /// Include retired resources (your own)
    #[arg(long)]
    include_retired: bool,
    #[command(flatten)]
    page: PageArgs,
    /// Print the answer as proto3 JSON
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
pub struct UpdateArgs {
    #[command(flatten)]
    target: TargetArgs,
    /// Resource id
    id: String,
    /// YAML UpdateResourceRequest (the register file will do): `resource:`
    /// with the new values and, to guard against concurrent changes, the
    /// version they were based on (default: the current version)
    #[arg(short = 'f', long = "file")]
    file: PathBuf,
    /// Fields to change (comma-separated): title, description, fields,
    /// layer, sharing, sharing_conditions, open, update_frequency, line_id,
    /// source_table, tags; default the file's updateMask
    #[arg(long, value_delimiter = ',')]
    fields: Vec<String>,
    /// Why, for the version history
    #[arg(long)]
    note: Option<String>,
    /// Print the answer as proto3 JSON
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
pub struct RetireArgs {
    #[command(flatten)]
    target: TargetArgs,
    /// Resource id
    id: String,
    /// Why, for the version history
    #[arg(long)]
    reason: String,
    /// Print the answer as proto3 JSON
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
pub struct VersionsArgs {
    #[command(flatten)]
    target: TargetArgs,
    /// Resource id
    id: String,
    #[command(flatten)]
    page: PageArgs,
    /// Print the answer as proto3 JSON
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
pub struct LineageArgs {
    #[command(flatten)]
    target: TargetArgs,
    /// Resource id
    id: String,
    /// Print the answer as proto3 JSON
    #[arg(long)]
    json: bool,
}

pub async fn run(command: ResourceCommand) -> anyhow::Result<ExitCode> {
    match command {
        ResourceCommand::Register(args) => register(args).await,
        ResourceCommand::Get(args) => get(args).await,
        ResourceCommand::List(args) => list(args).await,
        ResourceCommand::Update(args) => update(args).await,
        ResourceCommand::Retire(args) => retire(args).await,
        ResourceCommand::Versions(args) => versions(args).await,
        ResourceCommand::Lineage(args) => lineage(args).await,
    }
}

async fn register(args: RegisterArgs) -> anyhow::Result<ExitCode> {
    let mut request: pb::RegisterResourceRequest = read_message(&args.file)?;
    if request.resource.is_none() {
        bail!(
            "{} holds no `resource:`; it is a RegisterResourceRequest",
            args.file.display()
        );
    }
    request.request_id = args.request_id.resolve(&request.request_id);
    let request_id = request.request_id.clone();
    let resource = rpc::catalog(&args.target)?
        .register_resource(request)
        .await
        .answer_once("register the resource", &request_id)?
        .resource
        .unwrap_or_default();
    show(&resource, args.json)
}

async fn get(args: GetArgs) -> anyhow::Result<ExitCode> {
    let resource = rpc::catalog(&args.target)?
        .get_resource(pb::GetResourceRequest {
            id: args.id,
            version: args.version,
        })
        .await
        .answer("get the resource")?
        .resource
        .unwrap_or_default();
    show(&resource, args.json)
}

async fn list(args: ListArgs) -> anyhow::Result<ExitCode> {
    let response = rpc::catalog(&args.target)?
        .list_resources(pb::ListResourcesRequest {
            page: args.page.request(),
            owner: args.owner,
            layer: args.layer.unwrap_or(0),
            include_retired: args.include_retired,
        })
        .await
        .answer("list resources")?;
    if args.json {
        print_proto_json(&response)?;
        return Ok(ExitCode::SUCCESS);
    }
    let rows: Vec<Vec<String>> = response
        .resources
        .iter()
        .map(|r| {
            vec![
                r.id.clone(),
                labels::tenant(r.owner.as_ref()),
                r.code.clone(),
                r.title.clone(),
                layer(r),
                sharing(r),
                open(r),
                r.version.to_string(),
                state(r),
            ]
        })
        .collect();
    print_table(
        &[
            "ID", "OWNER", "CODE", "TITLE", "LAYER", "SHARING", "OPEN", "VERSION", "STATE",
        ],
        &rows,
    );
    print_next_page(response.page.as_ref());
    Ok(ExitCode::SUCCESS)
}

async fn update(args: UpdateArgs) -> anyhow::Result<ExitCode> {
    let request: pb::UpdateResourceRequest = read_message(&args.file)?;
    let paths = if args.fields.is_empty() {
        request
            .update_mask
            .map(|mask| mask.paths)
            .unwrap_or_default()
    } else {
        args.fields
    };
    let update_mask = flags::field_mask::<pb::Resource>(&paths).map_err(anyhow::Error::msg)?;
    let mut resource = request.resource.unwrap_or_default();
    if !resource.id.is_empty() && resource.id != args.id {
        bail!(
            "{} updates resource {}, not {}",
            args.file.display(),
            resource.id,
            args.id
        );
    }
    resource.id = args.id;
    let mut client = rpc::catalog(&args.target)?;
    if resource.version == 0 {
        resource.version = client
            .get_resource(pb::GetResourceRequest {
                id: resource.id.clone(),
                version: 0,
            })
            .await
            .answer("read the resource's current version")?
            .resource
            .unwrap_or_default()
            .version;
    }
    let resource = client
        .update_resource(pb::UpdateResourceRequest {
            resource: Some(resource),
            update_mask: Some(update_mask),
            change_note: args.note.unwrap_or(request.change_note),
        })
        .await
        .answer("update the resource")?
        .resource
        .unwrap_or_default();
    show(&resource, args.json)
}

async fn retire(args: RetireArgs) -> anyhow::Result<ExitCode> {
    let resource = rpc::catalog(&args.target)?
        .retire_resource(pb::RetireResourceRequest {
            id: args.id,
            reason: args.reason,
        })
        .await
        .answer("retire the resource")?
        .resource
        .unwrap_or_default();
    show(&resource, args.json)
}

async fn versions(args: VersionsArgs) -> anyhow::Result<ExitCode> {
    let response = rpc::catalog(&args.target)?
        .list_resource_versions(pb::ListResourceVersionsRequest {
            page: args.page.request(),
            resource_id: args.id,
        })
        .await
        .answer("list the resource's versions")?;
    if args.json {
        print_proto_json(&response)?;
        return Ok(ExitCode::SUCCESS);
    }
    let rows: Vec<Vec<String>> = response
        .versions
        .iter()
        .map(|v| {
            vec![
                v.version.to_string(),
                labels::time(v.time.as_ref()),
                labels::actor(v.changed_by.as_ref()),
                v.changed_fields
                    .as_ref()
                    .map(|mask| labels::list(&mask.paths))
                    .unwrap_or_default(),
                labels::clip(&v.change_note, 60),
            ]
        })
        .collect();
    print_table(&["VERSION", "TIME", "BY", "CHANGED", "NOTE"], &rows);
    print_next_page(response.page.as_ref());
    Ok(ExitCode::SUCCESS)
}

async fn lineage(args: LineageArgs) -> anyhow::Result<ExitCode> {
    let response = rpc::catalog(&args.target)?
        .get_resource_lineage(pb::GetResourceLineageRequest {
            resource_id: args.id,
        })
        .await
        .answer("get the resource's lineage")?;
    if args.json {
        print_proto_json(&response)?;
        return Ok(ExitCode::SUCCESS);
    }
    let resource = response.resource.unwrap_or_default();
    let or_none = |text: &str| {
        if text.is_empty() {
            "(none)".to_string()
        } else {
            text.to_string()
        }
    };
    print_details(&[
        ("resource", format!("{} {}", resource.id, resource.title)),
        ("owner", labels::tenant(resource.owner.as_ref())),
        ("source table", or_none(&response.source_table)),
        ("fed by line", or_none(&response.line_id)),
    ]);
    print_section("Grants (and the subscriptions delivering them)");
    print_grants(&response.grants);
    Ok(ExitCode::SUCCESS)
}
