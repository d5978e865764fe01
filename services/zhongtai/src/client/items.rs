//! `zhongtai item …`: service items of the approval center, from flags or
//! from a YAML file with materials, form fields, process and kind.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::bail;
use clap::{Args, Subcommand};
use zhongtai_contracts::approval::v1 as pb;
use zhongtai_contracts::common::v1::Tenant;

use super::endpoints::TargetArgs;
use super::flags::{self, PageArgs, RequestIdArg};
use super::labels;
use super::message_file::read_message;
use super::output::{print_details, print_next_page, print_proto_json, print_section, print_table};
use super::rpc::{self, Answer as _};

#[derive(Subcommand)]
pub enum ItemCommand {
    /// Create a service item from flags, or from a YAML CreateServiceItemRequest
    Create(CreateArgs),
    /// Change the fields named by --fields, from a YAML UpdateServiceItemRequest
    Update(UpdateArgs),
    /// Show one service item
    Get(GetArgs),
    /// List service items
    List(ListArgs),
}

#[derive(Args)]
pub struct CreateArgs {
    #[command(flatten)]
    target: TargetArgs,
    /// YAML file with the whole item: materials, form fields, process, kind
    /// (see examples/); flags given as well override its values
    #[arg(short = 'f', long = "file")]
    file: Option<PathBuf>,
    /// Owning tenant (331100/market-regulation); default: the token's tenant
    #[arg(long, value_parser = flags::tenant)]
    tenant: Option<Tenant>,
    /// Item code, e.g. business-licence
    #[arg(long, required_unless_present = "file")]
    code: Option<String>,
    /// Display name
    #[arg(long, required_unless_present = "file")]
    name: Option<String>,
    #[arg(long)]
    description: Option<String>,
    /// Certificate type issued on approval
    #[arg(long)]
    certificate_type: Option<String>,
    /// Id of the approving process definition
    #[arg(long)]
    process: Option<String>,
    /// Pin the process to this version (default 0: the latest at submission)
    #[arg(long, requires = "process")]
    process_version: Option<i64>,
    /// public-service or data-access
    #[arg(long, value_parser = flags::enum_value("zhongtai.approval.v1.ServiceItemKind"))]
    kind: Option<i32>,
    #[command(flatten)]
    request_id: RequestIdArg,
    /// Print the answer as proto3 JSON
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
pub struct UpdateArgs {
    #[command(flatten)]
    target: TargetArgs,
    /// Item id
    id: String,
    /// YAML UpdateServiceItemRequest: `item:` with the new values and,
    /// to guard against concurrent changes, the version they were based on
    /// (default: the current version)
    #[arg(short = 'f', long = "file")]
    file: PathBuf,
    /// Fields to change (comma-separated): name, description, materials,
    /// certificate_type, process, form_fields, state; default the file's updateMask
    #[arg(long, value_delimiter = ',')]
    fields: Vec<String>,
    /// Print the answer as proto3 JSON
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
pub struct GetArgs {
    #[command(flatten)]
    target: TargetArgs,
    id: String,
    /// Print the answer as proto3 JSON
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
pub struct ListArgs {
    #[command(flatten)]
    target: TargetArgs,
    /// Only items of this tenant (331100 or 331100/department)
    #[arg(long, value_parser = flags::tenant)]
    tenant: Option<Tenant>,
    /// Only items in this state: active, suspended, retired
    #[arg(long, value_parser = flags::enum_value("zhongtai.approval.v1.ServiceItemState"))]
    state: Option<i32>,
    /// Only items of this kind: public-service, data-access
    #[arg(long, value_parser = flags::enum_value("zhongtai.approval.v1.ServiceItemKind"))]
    kind: Option<i32>,
    #[command(flatten)]
    page: PageArgs,
    /// Print the answer as proto3 JSON
    #[arg(long)]
    json: bool,
}

pub async fn run(command: ItemCommand) -> anyhow::Result<ExitCode> {
    match command {
        ItemCommand::Create(args) => create(args).await,
        ItemCommand::Update(args) => update(args).await,
        ItemCommand::Get(args) => get(args).await,
        ItemCommand::List(args) => list(args).await,
    }
}

async fn create(args: CreateArgs) -> anyhow::Result<ExitCode> {
    let mut request: pb::CreateServiceItemRequest = match &args.file {
        Some(file) => read_message(file)?,
        None => pb::CreateServiceItemRequest::default(),
    };
    request.request_id = args.request_id.resolve(&request.request_id);
    if let Some(tenant) = args.tenant {
        request.tenant = Some(tenant);
    }
    let overrides = [
        (&mut request.code, args.code),
        (&mut request.name, args.name),
        (&mut request.description, args.description),
        (&mut request.certificate_type, args.certificate_type),
    ];
    for (field, flag) in overrides {
        if let Some(value) = flag {
            *field = value;
        }
    }
    if let Some(process) = args.process {
        request.process = Some(pb::ProcessRef {
            process_definition_id: process,
            version: args.process_version.unwrap_or(0),
        });
    }
    if let Some(kind) = args.kind {
        request.kind = kind;
    }
    let request_id = request.request_id.clone();
    let item = rpc::approval(&args.target)?
        .create_service_item(request)
        .await
        .answer_once("create the service item", &request_id)?
        .item
        .unwrap_or_default();
    show(&item, args.json)
}

async fn update(args: UpdateArgs) -> anyhow::Result<ExitCode> {
    let request: pb::UpdateServiceItemRequest = read_message(&args.file)?;
    let paths = if args.fields.is_empty() {
        request
            .update_mask
            .map(|mask| mask.paths)
            .unwrap_or_default()
    } else {
        args.fields
    };
    let update_mask = flags::field_mask::<pb::ServiceItem>(&paths).map_err(anyhow::Error::msg)?;
    let mut item = request.item.unwrap_or_default();
    if !item.id.is_empty() && item.id != args.id {
        bail!(
            "{} updates item {}, not {}",
            args.file.display(),
            item.id,
            args.id
        );
    }
    item.id = args.id;
    let mut client = rpc::approval(&args.target)?;
    if item.version == 0 {
        item.version = client
            .get_service_item(pb::GetServiceItemRequest {
                id: item.id.clone(),
            })
            .await
            .answer("read the item's current version")?
            .item
            .unwrap_or_default()
            .version;
    }
    let item = client
        .update_service_item(pb::UpdateServiceItemRequest {
            item: Some(item),
            update_mask: Some(update_mask),
        })
        .await
        .answer("update the service item")?
        .item
        .unwrap_or_default();
    show(&item, args.json)
}

async fn get(args: GetArgs) -> anyhow::Result<ExitCode> {
    let item = rpc::approval(&args.target)?
        .get_service_item(pb::GetServiceItemRequest { id: args.id })
        .await
        .answer("get the service item")?
        .item
        .unwrap_or_default();
    show(&item, args.json)
}

async fn list(args: ListArgs) -> anyhow::Result<ExitCode> {
    let response = rpc::approval(&args.target)?
        .list_service_items(pb::ListServiceItemsRequest {
            page: args.page.request(),
            tenant: args.tenant,
            state: args.state.unwrap_or(0),
            kind: args.kind.unwrap_or(0),
        })
        .await
        .answer("list service items")?;
    if args.json {
        print_proto_json(&response)?;
    } else {
        let rows: Vec<Vec<String>> = response.items.iter().map(row).collect();
        print_table(
            &["ID", "TENANT", "CODE", "NAME", "KIND", "VERSION", "STATE"],
            &rows,
        );
        print_next_page(response.page.as_ref());
    }
    Ok(ExitCode::SUCCESS)
}

fn show(item: &pb::ServiceItem, json: bool) -> anyhow::Result<ExitCode> {
    if json {
        print_proto_json(item)?;
        return Ok(ExitCode::SUCCESS);
    }
    let process = item
        .process
        .as_ref()
        .map(|p| match p.version {
            0 => format!("{} (latest version)", p.process_definition_id),
            v => format!("{} version {v}", p.process_definition_id),
        })
        .unwrap_or_default();
    print_details(&[
        ("id", item.id.clone()),
        ("tenant", labels::tenant(item.tenant.as_ref())),
        ("code", item.code.clone()),
        ("name", item.name.clone()),
        ("description", labels::clip(&item.description, 100)),
        ("kind", kind(item)),
        ("state", state(item)),
        ("version", item.version.to_string()),
        ("certificate type", item.certificate_type.clone()),
        ("process", process),
        ("created", labels::time(item.create_time.as_ref())),
        ("updated", labels::time(item.update_time.as_ref())),
    ]);
    if !item.materials.is_empty() {
        print_section("Materials");
        let rows: Vec<Vec<String>> = item
            .materials
            .iter()
            .map(|m| {
                vec![
                    m.code.clone(),
                    m.name.clone(),
                    if m.required { "yes" } else { "no" }.to_string(),
                    labels::list(&m.accepted_media_types),
                ]
            })
            .collect();
        print_table(&["CODE", "NAME", "REQUIRED", "MEDIA TYPES"], &rows);
    }
    if !item.form_fields.is_empty() {
        print_section("Form fields");
        let rows: Vec<Vec<String>> = item
            .form_fields
            .iter()
            .map(|f| {
                vec![
                    f.name.clone(),
                    f.label.clone(),
                    labels::short(f.r#type().as_str_name(), "FORM_FIELD_TYPE_"),
                    if f.required { "yes" } else { "no" }.to_string(),
                ]
            })
            .collect();
        print_table(&["NAME", "LABEL", "TYPE", "REQUIRED"], &rows);
    }
    Ok(ExitCode::SUCCESS)
}

fn kind(item: &pb::ServiceItem) -> String {
    labels::short(item.kind().as_str_name(), "SERVICE_ITEM_KIND_")
}

fn state(item: &pb::ServiceItem) -> String {
    labels::short(item.state().as_str_name(), "SERVICE_ITEM_STATE_")
}

fn row(item: &pb::ServiceItem) -> Vec<String> {
    vec![
        item.id.clone(),
        labels::tenant(item.tenant.as_ref()),
        item.code.clone(),
        item.name.clone(),
        kind(item),
        item.version.to_string(),
        state(item),
    ]
}
