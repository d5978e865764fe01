//! `zhongtai enclave …`: your tenant's enclave (数据飞地) — the data granted to
//! it, its own tables beside that data, and backflow (数据回流) of slices on
//! to child tenants' enclaves. Only your own tenant's enclaves are visible.

mod query;
mod rows;
mod view;

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::bail;
use clap::{Args, Subcommand};
use zhongtai_contracts::common::v1::RowFilter;
use zhongtai_contracts::exchange::v1 as pb;

use super::endpoints::TargetArgs;
use super::exchange::numbers::grouped;
use super::exchange::values::cell;
use super::flags::{PageArgs, RequestIdArg};
use super::message_file::read_message;
use super::output::{emit, print_details, print_next_page, print_proto_json, print_table};
use super::rpc::{self, Answer as _, Enclaves};

#[derive(Subcommand)]
pub enum EnclaveCommand {
    /// Create your tenant's enclave
    Create(CreateArgs),
    /// Your tenant's enclaves
    List(ListArgs),
    /// Show an enclave: its tables and backflow rules
    Get(IdArgs),
    /// Tables of your own data in an enclave
    #[command(subcommand)]
    Table(TableCommand),
    /// Upsert or delete rows of a local table, from YAML, in one transaction
    Write(WriteArgs),
    /// Read rows of any table of your enclave, filtered, in key order
    Query(QueryArgs),
    /// Rules passing slices of a table on to child tenants' enclaves
    #[command(subcommand)]
    Backflow(BackflowCommand),
}

#[derive(Subcommand)]
pub enum TableCommand {
    /// Create a local table from a YAML CreateEnclaveTableRequest (name, columns, keyColumns)
    Create(TableCreateArgs),
}

#[derive(Subcommand)]
pub enum BackflowCommand {
    /// Add a rule from a YAML BackflowRule; a line and a subscription carry it
    Add(BackflowAddArgs),
    /// Remove a rule; delivery to the child stops
    Remove(BackflowRemoveArgs),
}

#[derive(Args)]
pub struct CreateArgs {
    #[command(flatten)]
    target: TargetArgs,
    /// Display name, e.g. 丽水市数据飞地
    name: String,
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
    #[command(flatten)]
    page: PageArgs,
    /// Print the answer as proto3 JSON
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
pub struct IdArgs {
    #[command(flatten)]
    target: TargetArgs,
    /// Enclave id
    id: String,
    /// Print the answer as proto3 JSON
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
pub struct TableCreateArgs {
    #[command(flatten)]
    target: TargetArgs,
    /// Enclave id
    id: String,
    /// YAML CreateEnclaveTableRequest: name, columns (name, type, nullable), keyColumns
    #[arg(short = 'f', long = "file")]
    file: PathBuf,
    /// Print the answer as proto3 JSON
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
pub struct WriteArgs {
    #[command(flatten)]
    target: TargetArgs,
    /// Enclave id
    id: String,
    /// Local table name
    table: String,
    /// YAML with `upserts:` and/or `deletes:`, lists of {column: value} rows
    /// (at most 10,000 rows)
    #[arg(short = 'f', long = "file")]
    file: PathBuf,
    #[command(flatten)]
    request_id: RequestIdArg,
    /// Print the answer as proto3 JSON
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
pub struct QueryArgs {
    #[command(flatten)]
    target: TargetArgs,
    /// Enclave id
    id: String,
    /// Table name
    table: String,
    /// A condition "field OP value", OP one of =, !=, in, >=, <, prefix,
    /// within (repeatable; every one must hold)
    #[arg(long = "where", value_name = "CONDITION", value_parser = query::condition)]
    conditions: Vec<zhongtai_contracts::common::v1::RowCondition>,
    /// Columns to show (comma-separated; default all)
    #[arg(long, value_delimiter = ',')]
    columns: Vec<String>,
    #[command(flatten)]
    page: PageArgs,
    /// Print the answer as proto3 JSON
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
pub struct BackflowAddArgs {
    #[command(flatten)]
    target: TargetArgs,
    /// Source enclave id (yours)
    id: String,
    /// YAML BackflowRule: sourceTable, targetTenant, targetEnclaveId,
    /// targetTable, rowFilter, fields
    #[arg(short = 'f', long = "file")]
    file: PathBuf,
    #[command(flatten)]
    request_id: RequestIdArg,
    /// Print the answer as proto3 JSON
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
pub struct BackflowRemoveArgs {
    #[command(flatten)]
    target: TargetArgs,
    /// Source enclave id
    id: String,
    /// Rule id
    rule_id: String,
    /// Print the answer as proto3 JSON
    #[arg(long)]
    json: bool,
}

pub async fn run(command: EnclaveCommand) -> anyhow::Result<ExitCode> {
    match command {
        EnclaveCommand::Create(args) => create(args).await,
        EnclaveCommand::List(args) => list(args).await,
        EnclaveCommand::Get(args) => {
            let enclave = get_enclave(&mut rpc::enclaves(&args.target)?, &args.id).await?;
            view::show(&enclave, args.json)
        }
        EnclaveCommand::Table(TableCommand::Create(args)) => create_table(args).await,
        EnclaveCommand::Write(args) => write(args).await,
        EnclaveCommand::Query(args) => query(args).await,
        EnclaveCommand::Backflow(BackflowCommand::Add(args)) => add_rule(args).await,
        EnclaveCommand::Backflow(BackflowCommand::Remove(args)) => remove_rule(args).await,
    }
}

async fn get_enclave(client: &mut Enclaves, id: &str) -> anyhow::Result<pb::Enclave> {
    Ok(client
        .get_enclave(pb::GetEnclaveRequest { id: id.to_string() })
        .await
        .answer("get the enclave")?
        .enclave
        .unwrap_or_default())
}

async fn create(args: CreateArgs) -> anyhow::Result<ExitCode> {
    let request_id = args.request_id.resolve("");
    let enclave = rpc::enclaves(&args.target)?
        .create_enclave(pb::CreateEnclaveRequest {
            request_id: request_id.clone(),
            name: args.name,
        })
        .await
        .answer_once("create the enclave", &request_id)?
        .enclave
        .unwrap_or_default();
    view::show(&enclave, args.json)
}

async fn list(args: ListArgs) -> anyhow::Result<ExitCode> {
    let response = rpc::enclaves(&args.target)?
        .list_enclaves(pb::ListEnclavesRequest {
            page: args.page.request(),
        })
        .await
        .answer("list enclaves")?;
    if args.json {
        print_proto_json(&response)?;
    } else {
        view::print_enclaves(&response.enclaves);
        print_next_page(response.page.as_ref());
    }
    Ok(ExitCode::SUCCESS)
}

async fn create_table(args: TableCreateArgs) -> anyhow::Result<ExitCode> {
    let mut request: pb::CreateEnclaveTableRequest = read_message(&args.file)?;
    if !request.enclave_id.is_empty() && request.enclave_id != args.id {
        bail!(
            "{} is for enclave {}, not {}",
            args.file.display(),
            request.enclave_id,
            args.id
        );
    }
    request.enclave_id = args.id;
    let table = rpc::enclaves(&args.target)?
        .create_enclave_table(request)
        .await
        .answer("create the enclave table")?
        .table
        .unwrap_or_default();
    view::show_table(&table, args.json)
}

async fn write(args: WriteArgs) -> anyhow::Result<ExitCode> {
    let mut client = rpc::enclaves(&args.target)?;
    let enclave = get_enclave(&mut client, &args.id).await?;
    let Some(table) = enclave.tables.iter().find(|t| t.name == args.table) else {
        let names: Vec<&str> = enclave.tables.iter().map(|t| t.name.as_str()).collect();
        bail!(
            "enclave {} has no table {}; its tables are: {}",
            args.id,
            args.table,
            if names.is_empty() {
                "(none)".to_string()
            } else {
                names.join(", ")
            }
        );
    };
    let rows = rows::read(&args.file, table)?;
    let request_id = args.request_id.resolve(&rows.request_id);
    let response = client
        .write_enclave_rows(pb::WriteEnclaveRowsRequest {
            request_id: request_id.clone(),
            enclave_id: args.id,
            table: args.table,
            upserts: rows.upserts,
            deletes: rows.deletes,
        })
        .await
        .answer_once("write the rows", &request_id)?;
    if args.json {
        print_proto_json(&response)?;
    } else {
        print_details(&[
            ("upserted", grouped(response.upserted_count)),
            ("deleted", grouped(response.deleted_count)),
        ]);
    }
    Ok(ExitCode::SUCCESS)
}

async fn query(args: QueryArgs) -> anyhow::Result<ExitCode> {
    if args.conditions.len() > query::MAX_CONDITIONS {
        bail!("at most {} --where conditions", query::MAX_CONDITIONS);
    }
    let row_filter = if args.conditions.is_empty() {
        None
    } else {
        Some(RowFilter {
            conditions: args.conditions,
        })
    };
    let response = rpc::enclaves(&args.target)?
        .query_enclave_rows(pb::QueryEnclaveRowsRequest {
            page: args.page.request(),
            enclave_id: args.id,
            table: args.table,
            row_filter,
            columns: args.columns.iter().map(|c| c.trim().to_string()).collect(),
        })
        .await
        .answer("query the enclave")?;
    if args.json {
        print_proto_json(&response)?;
        return Ok(ExitCode::SUCCESS);
    }
    print_rows(&response.rows, &args.columns);
    print_next_page(response.page.as_ref());
    Ok(ExitCode::SUCCESS)
}

/// Rows under their column names: those asked for, else those of the rows
/// in the order they come.
fn print_rows(rows: &[pb::EnclaveRow], asked: &[String]) {
    let mut headers: Vec<String> = asked.iter().map(|c| c.trim().to_string()).collect();
    if headers.is_empty() {
        for row in rows {
            for column in &row.columns {
                if !headers.contains(&column.name) {
                    headers.push(column.name.clone());
                }
            }
        }
    }
    let cells: Vec<Vec<String>> = rows
        .iter()
        .map(|row| {
            headers
                .iter()
                .map(|name| {
                    row.columns
                        .iter()
                        .find(|c| &c.name == name)
                        .map(cell)
                        .unwrap_or_default()
                })
                .collect()
        })
        .collect();
    let upper: Vec<String> = headers.iter().map(|h| h.to_uppercase()).collect();
    let header_refs: Vec<&str> = upper.iter().map(String::as_str).collect();
    print_table(&header_refs, &cells);
    if !rows.is_empty() {
        emit(&format!("{} rows", grouped(rows.len() as i64)));
    }
}

async fn add_rule(args: BackflowAddArgs) -> anyhow::Result<ExitCode> {
    let rule: pb::BackflowRule = read_message(&args.file)?;
    if rule.source_table.is_empty()
        || rule.target_tenant.is_none()
        || rule.target_enclave_id.is_empty()
    {
        bail!(
            "{} must name at least sourceTable, targetTenant and targetEnclaveId",
            args.file.display()
        );
    }
    let request_id = args.request_id.resolve("");
    let rule = rpc::enclaves(&args.target)?
        .add_backflow_rule(pb::AddBackflowRuleRequest {
            request_id: request_id.clone(),
            enclave_id: args.id,
            rule: Some(rule),
        })
        .await
        .answer_once("add the backflow rule", &request_id)?
        .rule
        .unwrap_or_default();
    view::show_rule(&rule, args.json)
}

async fn remove_rule(args: BackflowRemoveArgs) -> anyhow::Result<ExitCode> {
    let enclave = rpc::enclaves(&args.target)?
        .remove_backflow_rule(pb::RemoveBackflowRuleRequest {
            enclave_id: args.id,
            rule_id: args.rule_id,
        })
        .await
        .answer("remove the backflow rule")?
        .enclave
        .unwrap_or_default();
    view::show(&enclave, args.json)
}

/// Upserts and deletes a rows file holds for `table`, as `enclave write`
/// reads it.
#[cfg(test)]
pub fn parse_rows(text: &str, table: &pb::EnclaveTable) -> Result<(usize, usize), String> {
    rows::parse(text, table).map(|rows| (rows.upserts.len(), rows.deletes.len()))
}
