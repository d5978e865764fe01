//! `zhongtai grant …` and `zhongtai accessible`: what a grantee may
//! receive from a resource — fields and masking, rows, until when — and
//! revoking it.

use std::process::ExitCode;

use clap::{Args, Subcommand};
use zhongtai_contracts::catalog::v1 as pb;
use zhongtai_contracts::common::v1::{FieldAccess, RowFilter, Tenant};

use super::endpoints::TargetArgs;
use super::flags::{self, PageArgs};
use super::labels;
use super::output::{print_details, print_next_page, print_proto_json, print_section, print_table};
use super::rpc::{self, Answer as _};

#[derive(Subcommand)]
pub enum GrantCommand {
    /// List grants you hold (or, with --as-owner, have given)
    List(ListArgs),
    /// Show one grant
    Get(GetArgs),
    /// Revoke a grant; delivery stops within seconds
    Revoke(RevokeArgs),
}

#[derive(Args)]
pub struct ListArgs {
    #[command(flatten)]
    target: TargetArgs,
    /// Grants on resources you own, instead of grants you hold
    #[arg(long)]
    as_owner: bool,
    /// Only grants on this resource id
    #[arg(long)]
    resource: Option<String>,
    /// Only these states (comma-separated): pending, approved, provisioned, revoked, expired
    #[arg(long, value_delimiter = ',',
          value_parser = flags::enum_value("zhongtai.catalog.v1.GrantState"))]
    state: Vec<i32>,
    /// Only grants to this grantee (owners and the data bureau)
    #[arg(long, value_parser = flags::tenant)]
    grantee: Option<Tenant>,
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
    /// Grant id
    id: String,
    /// Print the answer as proto3 JSON
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
pub struct RevokeArgs {
    #[command(flatten)]
    target: TargetArgs,
    /// Grant id
    id: String,
    /// Why (required)
    #[arg(long)]
    reason: String,
    /// Print the answer as proto3 JSON
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
pub struct AccessibleArgs {
    #[command(flatten)]
    target: TargetArgs,
    #[command(flatten)]
    page: PageArgs,
    /// Print the answer as proto3 JSON
    #[arg(long)]
    json: bool,
}

pub async fn run(command: GrantCommand) -> anyhow::Result<ExitCode> {
    match command {
        GrantCommand::List(args) => list(args).await,
        GrantCommand::Get(args) => get(args).await,
        GrantCommand::Revoke(args) => revoke(args).await,
    }
}

async fn list(args: ListArgs) -> anyhow::Result<ExitCode> {
    let response = rpc::catalog(&args.target)?
        .list_grants(pb::ListGrantsRequest {
            page: args.page.request(),
            resource_id: args.resource.unwrap_or_default(),
            states: args.state,
            as_owner: args.as_owner,
            grantee: args.grantee,
        })
        .await
        .answer("list grants")?;
    if args.json {
        print_proto_json(&response)?;
    } else {
        print_grants(&response.grants);
        print_next_page(response.page.as_ref());
    }
    Ok(ExitCode::SUCCESS)
}

async fn get(args: GetArgs) -> anyhow::Result<ExitCode> {
    let grant = rpc::catalog(&args.target)?
        .get_grant(pb::GetGrantRequest { id: args.id })
        .await
        .answer("get the grant")?
        .grant
        .unwrap_or_default();
    show(&grant, args.json)
}

async fn revoke(args: RevokeArgs) -> anyhow::Result<ExitCode> {
    let grant = rpc::catalog(&args.target)?
        .revoke_grant(pb::RevokeGrantRequest {
            id: args.id,
            reason: args.reason,
        })
        .await
        .answer("revoke the grant")?
        .grant
        .unwrap_or_default();
    show(&grant, args.json)
}

/// `zhongtai accessible`: exactly what the caller's tenant may use.
pub async fn accessible(args: AccessibleArgs) -> anyhow::Result<ExitCode> {
    let response = rpc::catalog(&args.target)?
        .list_accessible_resources(pb::ListAccessibleResourcesRequest {
            page: args.page.request(),
        })
        .await
        .answer("list the resources you may use")?;
    if args.json {
        print_proto_json(&response)?;
        return Ok(ExitCode::SUCCESS);
    }
    let rows: Vec<Vec<String>> = response
        .resources
        .iter()
        .map(|accessible| {
            let resource = accessible.resource.clone().unwrap_or_default();
            let until = accessible
                .grants
                .iter()
                .filter_map(|g| g.period.as_ref().and_then(|p| p.end_time))
                .max_by_key(|end| (end.seconds, end.nanos));
            vec![
                resource.id.clone(),
                resource.title.clone(),
                labels::tenant(resource.owner.as_ref()),
                labels::list(accessible.fields.iter().map(flags::field_access_spec)),
                labels::list(accessible.grants.iter().map(|g| g.id.as_str())),
                labels::time(until.as_ref()),
            ]
        })
        .collect();
    print_table(
        &["RESOURCE", "TITLE", "OWNER", "FIELDS", "GRANTS", "UNTIL"],
        &rows,
    );
    print_next_page(response.page.as_ref());
    Ok(ExitCode::SUCCESS)
}

fn state(grant: &pb::Grant) -> String {
    labels::short(grant.state().as_str_name(), "GRANT_STATE_")
}

/// Grants one per row: who receives which fields of what, until when.
pub fn print_grants(grants: &[pb::Grant]) {
    let rows: Vec<Vec<String>> = grants
        .iter()
        .map(|g| {
            vec![
                g.id.clone(),
                g.resource_id.clone(),
                labels::tenant(g.owner.as_ref()),
                labels::tenant(g.grantee.as_ref()),
                labels::clip(
                    &labels::list(g.fields.iter().map(flags::field_access_spec)),
                    60,
                ),
                state(g),
                labels::time(g.period.as_ref().and_then(|p| p.end_time.as_ref())),
                labels::list(&g.subscription_ids),
            ]
        })
        .collect();
    print_table(
        &[
            "ID",
            "RESOURCE",
            "OWNER",
            "GRANTEE",
            "FIELDS",
            "STATE",
            "UNTIL",
            "SUBSCRIPTIONS",
        ],
        &rows,
    );
}

/// Fields with their masking, one per row.
pub fn print_field_access(fields: &[FieldAccess]) {
    let rows: Vec<Vec<String>> = fields
        .iter()
        .map(|f| {
            vec![
                f.field.clone(),
                f.masking
                    .as_ref()
                    .and_then(flags::masking_spec)
                    .unwrap_or_else(|| "-".into()),
            ]
        })
        .collect();
    print_table(&["FIELD", "MASKING"], &rows);
}

/// `region_code WITHIN_DIVISION 331100 and …`; `all rows` when empty.
pub fn row_filter(filter: Option<&RowFilter>) -> String {
    let conditions = filter.map(|f| f.conditions.as_slice()).unwrap_or_default();
    if conditions.is_empty() {
        return "all rows".into();
    }
    conditions
        .iter()
        .map(|c| {
            format!(
                "{} {} {}",
                c.field,
                labels::short(c.operator().as_str_name(), "ROW_OPERATOR_"),
                c.values.join("|")
            )
        })
        .collect::<Vec<_>>()
        .join(" and ")
}

fn show(grant: &pb::Grant, json: bool) -> anyhow::Result<ExitCode> {
    if json {
        print_proto_json(grant)?;
        return Ok(ExitCode::SUCCESS);
    }
    print_details(&[
        ("id", grant.id.clone()),
        (
            "resource",
            format!("{} version {}", grant.resource_id, grant.resource_version),
        ),
        ("owner", labels::tenant(grant.owner.as_ref())),
        ("grantee", labels::tenant(grant.grantee.as_ref())),
        ("purpose", grant.purpose.clone()),
        ("period", labels::period(grant.period.as_ref())),
        ("rows", row_filter(grant.row_filter.as_ref())),
        ("state", state(grant)),
        ("subscriptions", labels::list(&grant.subscription_ids)),
        ("revoked because", grant.revoke_reason.clone()),
        ("revoked by", labels::actor(grant.revoked_by.as_ref())),
        ("access request", grant.access_request_id.clone()),
        ("application", grant.application_id.clone()),
        ("version", grant.version.to_string()),
        ("issued", labels::time(grant.create_time.as_ref())),
        ("updated", labels::time(grant.update_time.as_ref())),
    ]);
    print_section("Fields");
    print_field_access(&grant.fields);
    Ok(ExitCode::SUCCESS)
}
