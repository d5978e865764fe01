//! `zhongtai item …`: service items of the approval center.

use std::process::ExitCode;

use clap::{Args, Subcommand};
use zhongtai_contracts::approval::v1 as pb;
use zhongtai_contracts::approval::v1::approval_service_client::ApprovalServiceClient;
use zhongtai_contracts::common::v1::{PageRequest, Tenant};

use super::endpoints::{Target, TargetArgs};
use super::output::{print_proto_json, print_table};

#[derive(Subcommand)]
pub enum ItemCommand {
    /// Create a service item
    Create(CreateArgs),
    /// Show one service item
    Get(GetArgs),
    /// List service items
    List(ListArgs),
}

#[derive(Args)]
pub struct CreateArgs {
    #[command(flatten)]
    target: TargetArgs,
    /// Owning tenant (331100/market-regulation); default: the token's tenant
    #[arg(long)]
    tenant: Option<String>,
    /// Item code, e.g. business-licence
    #[arg(long)]
    code: String,
    /// Display name
    #[arg(long)]
    name: String,
    #[arg(long, default_value = "")]
    description: String,
    /// Certificate type issued on approval
    #[arg(long, default_value = "")]
    certificate_type: String,
    /// Idempotency key; repeat it to retry safely (default: a new UUID)
    #[arg(long)]
    request_id: Option<String>,
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
pub struct GetArgs {
    #[command(flatten)]
    target: TargetArgs,
    id: String,
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
pub struct ListArgs {
    #[command(flatten)]
    target: TargetArgs,
    /// Only items of this tenant (331100 or 331100/department)
    #[arg(long)]
    tenant: Option<String>,
    #[arg(long, default_value_t = 50)]
    page_size: i32,
    #[arg(long, default_value = "")]
    page_token: String,
    #[arg(long)]
    json: bool,
}

pub async fn run(command: ItemCommand) -> anyhow::Result<ExitCode> {
    match command {
        ItemCommand::Create(args) => create(args).await,
        ItemCommand::Get(args) => get(args).await,
        ItemCommand::List(args) => list(args).await,
    }
}

fn client(
    target: &TargetArgs,
) -> anyhow::Result<ApprovalServiceClient<zhongtai_kit::ServiceChannel>> {
    Ok(ApprovalServiceClient::new(
        Target::resolve(target)?.channel("approval"),
    ))
}

fn tenant(value: &str) -> Tenant {
    let (division, department) = value.split_once('/').unwrap_or((value, ""));
    Tenant {
        division_code: division.to_string(),
        department: department.to_string(),
    }
}

async fn create(args: CreateArgs) -> anyhow::Result<ExitCode> {
    let request = pb::CreateServiceItemRequest {
        request_id: args
            .request_id
            .unwrap_or_else(|| uuid::Uuid::new_v4().to_string()),
        tenant: args.tenant.as_deref().map(tenant),
        code: args.code,
        name: args.name,
        description: args.description,
        certificate_type: args.certificate_type,
        ..Default::default()
    };
    let item = client(&args.target)?
        .create_service_item(request)
        .await?
        .into_inner()
        .item
        .unwrap_or_default();
    show(&item, args.json)
}

async fn get(args: GetArgs) -> anyhow::Result<ExitCode> {
    let item = client(&args.target)?
        .get_service_item(pb::GetServiceItemRequest { id: args.id })
        .await?
        .into_inner()
        .item
        .unwrap_or_default();
    show(&item, args.json)
}

async fn list(args: ListArgs) -> anyhow::Result<ExitCode> {
    let response = client(&args.target)?
        .list_service_items(pb::ListServiceItemsRequest {
            page: Some(PageRequest {
                page_size: args.page_size,
                page_token: args.page_token,
            }),
            tenant: args.tenant.as_deref().map(tenant),
            ..Default::default()
        })
        .await?
        .into_inner();
    if args.json {
        print_proto_json(&response)?;
    } else {
        let rows: Vec<Vec<String>> = response.items.iter().map(row).collect();
        print_table(&["ID", "TENANT", "CODE", "NAME", "VERSION", "STATE"], &rows);
        if let Some(page) = response.page.filter(|p| !p.next_page_token.is_empty()) {
            println!("next page: --page-token {}", page.next_page_token);
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn show(item: &pb::ServiceItem, json: bool) -> anyhow::Result<ExitCode> {
    if json {
        print_proto_json(item)?;
    } else {
        print_table(
            &["ID", "TENANT", "CODE", "NAME", "VERSION", "STATE"],
            &[row(item)],
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn row(item: &pb::ServiceItem) -> Vec<String> {
    let tenant = item
        .tenant
        .as_ref()
        .map(|t| {
            if t.department.is_empty() {
                t.division_code.clone()
            } else {
                format!("{}/{}", t.division_code, t.department)
            }
        })
        .unwrap_or_default();
    vec![
        item.id.clone(),
        tenant,
        item.code.clone(),
        item.name.clone(),
        item.version.to_string(),
        item.state()
            .as_str_name()
            .trim_start_matches("SERVICE_ITEM_STATE_")
            .to_string(),
    ]
}
