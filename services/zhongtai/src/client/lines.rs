//! `zhongtai line …`: lines of the exchange center (数据高铁线路) — created
//! from YAML, paused, resumed, followed live, reconciled hop by hop, traced
//! record by record, and fed by push producers.

#[cfg(test)]
mod fake_center;
mod progress;
mod push;
mod reconcile;
mod status;
mod trace;
mod view;

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::bail;
use clap::{Args, Subcommand};
use prost_reflect::{Kind, MessageDescriptor};
use prost_types::FieldMask;
use zhongtai_contracts::exchange::v1 as pb;

use super::endpoints::TargetArgs;
use super::flags::{self, PageArgs, RequestIdArg};
use super::message_file::{self, read_message};
use super::output::{print_next_page, print_proto_json};
use super::rpc::{self, Answer as _};

#[derive(Subcommand)]
pub enum LineCommand {
    /// Create a line from a YAML Line (see examples/exchange/) and start it
    Create(CreateArgs),
    /// Lines your tenant owns or subscribes to
    List(ListArgs),
    /// Show one line
    Get(IdArgs),
    /// Change the fields named by --mask, from a YAML Line
    Update(UpdateArgs),
    /// Pause a line; its source position is held
    Pause(PauseArgs),
    /// Resume a paused or failed line from its confirmed position
    Resume(IdArgs),
    /// Delete a line, dropping the replication slot and publication it created
    Delete(DeleteArgs),
    /// Live status: snapshot progress, positions, lag per subscription
    Status(status::StatusArgs),
    /// Reconcile a window: counts and checksums at every hop, and what is
    /// missing, duplicated or late (exit 1 when discrepant)
    Reconcile(reconcile::ReconcileArgs),
    /// Reports of the periodic reconciliation, newest first
    Reports(reconcile::ReportsArgs),
    /// Follow one record through every hop to every subscription
    Trace(trace::TraceArgs),
    /// Push changes from a JSON-lines file to a push line, resuming where
    /// the line left off
    Push(push::PushArgs),
    /// The highest sequence a push line has durably accepted
    Cursor(push::CursorArgs),
}

#[derive(Args)]
pub struct CreateArgs {
    #[command(flatten)]
    target: TargetArgs,
    /// YAML zhongtai.exchange.v1.Line: name, description, one source
    /// (logSource, pushSource or enclaveSource), resourceId
    #[arg(short = 'f', long = "file")]
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
    /// Only these states (comma-separated): provisioning, snapshotting,
    /// streaming, paused, failed, degraded, deleted
    #[arg(long, value_delimiter = ',',
          value_parser = flags::enum_value("zhongtai.exchange.v1.LineState"))]
    state: Vec<i32>,
    /// Only lines feeding this catalog resource id
    #[arg(long)]
    resource: Option<String>,
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
    /// Line id
    id: String,
    /// Print the answer as proto3 JSON
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
pub struct UpdateArgs {
    #[command(flatten)]
    target: TargetArgs,
    /// Line id
    id: String,
    /// YAML Line with the new values (the create file will do)
    #[arg(short = 'f', long = "file")]
    file: PathBuf,
    /// The version the change is based on, refused if the line has moved
    /// on since (default: the file's, else the current version)
    #[arg(long)]
    version: Option<i64>,
    /// Fields to change (comma-separated): description, resource_id,
    /// log_source.tables, log_source.heartbeat_interval, push_source.tables
    #[arg(long, value_delimiter = ',', required = true)]
    mask: Vec<String>,
    /// Print the answer as proto3 JSON
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
pub struct PauseArgs {
    #[command(flatten)]
    target: TargetArgs,
    /// Line id
    id: String,
    /// Why, shown as the line's state reason
    #[arg(long, default_value = "")]
    reason: String,
    /// Print the answer as proto3 JSON
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
pub struct DeleteArgs {
    #[command(flatten)]
    target: TargetArgs,
    /// Line id
    id: String,
    /// Delete even with active subscriptions (they end DELETED too)
    #[arg(long)]
    force: bool,
    /// Print the answer as proto3 JSON
    #[arg(long)]
    json: bool,
}

pub async fn run(command: LineCommand) -> anyhow::Result<ExitCode> {
    match command {
        LineCommand::Create(args) => create(args).await,
        LineCommand::List(args) => list(args).await,
        LineCommand::Get(args) => get(args).await,
        LineCommand::Update(args) => update(args).await,
        LineCommand::Pause(args) => pause(args).await,
        LineCommand::Resume(args) => resume(args).await,
        LineCommand::Delete(args) => delete(args).await,
        LineCommand::Status(args) => status::run(args).await,
        LineCommand::Reconcile(args) => reconcile::reconcile(args).await,
        LineCommand::Reports(args) => reconcile::reports(args).await,
        LineCommand::Trace(args) => trace::run(args).await,
        LineCommand::Push(args) => push::push(args).await,
        LineCommand::Cursor(args) => push::cursor(args).await,
    }
}

async fn create(args: CreateArgs) -> anyhow::Result<ExitCode> {
    let line: pb::Line = read_message(&args.file)?;
    if line.source.is_none() {
        bail!(
            "{} names no source: give one of logSource, pushSource or enclaveSource",
            args.file.display()
        );
    }
    let request_id = args.request_id.resolve("");
    let line = rpc::exchange(&args.target)?
        .create_line(pb::CreateLineRequest {
            request_id: request_id.clone(),
            line: Some(line),
        })
        .await
        .answer_once("create the line", &request_id)?
        .line
        .unwrap_or_default();
    view::show(&line, args.json)
}

async fn list(args: ListArgs) -> anyhow::Result<ExitCode> {
    let response = rpc::exchange(&args.target)?
        .list_lines(pb::ListLinesRequest {
            page: args.page.request(),
            states: args.state,
            resource_id: args.resource.unwrap_or_default(),
        })
        .await
        .answer("list lines")?;
    if args.json {
        print_proto_json(&response)?;
    } else {
        view::print_lines(&response.lines);
        print_next_page(response.page.as_ref());
    }
    Ok(ExitCode::SUCCESS)
}

async fn get(args: IdArgs) -> anyhow::Result<ExitCode> {
    let line = rpc::exchange(&args.target)?
        .get_line(pb::GetLineRequest { id: args.id })
        .await
        .answer("get the line")?
        .line
        .unwrap_or_default();
    view::show(&line, args.json)
}

async fn update(args: UpdateArgs) -> anyhow::Result<ExitCode> {
    let mut line: pb::Line = read_message(&args.file)?;
    let update_mask = mask::<pb::Line>(&args.mask).map_err(anyhow::Error::msg)?;
    if !line.id.is_empty() && line.id != args.id {
        bail!(
            "{} updates line {}, not {}",
            args.file.display(),
            line.id,
            args.id
        );
    }
    line.id = args.id;
    let mut client = rpc::exchange(&args.target)?;
    if let Some(version) = args.version {
        line.version = version;
    } else if line.version == 0 {
        line.version = client
            .get_line(pb::GetLineRequest {
                id: line.id.clone(),
            })
            .await
            .answer("read the line's current version")?
            .line
            .unwrap_or_default()
            .version;
    }
    let line = client
        .update_line(pb::UpdateLineRequest {
            line: Some(line),
            update_mask: Some(update_mask),
        })
        .await
        .answer("update the line")?
        .line
        .unwrap_or_default();
    view::show(&line, args.json)
}

async fn pause(args: PauseArgs) -> anyhow::Result<ExitCode> {
    let line = rpc::exchange(&args.target)?
        .pause_line(pb::PauseLineRequest {
            id: args.id,
            reason: args.reason,
        })
        .await
        .answer("pause the line")?
        .line
        .unwrap_or_default();
    view::show(&line, args.json)
}

async fn resume(args: IdArgs) -> anyhow::Result<ExitCode> {
    let line = rpc::exchange(&args.target)?
        .resume_line(pb::ResumeLineRequest { id: args.id })
        .await
        .answer("resume the line")?
        .line
        .unwrap_or_default();
    view::show(&line, args.json)
}

async fn delete(args: DeleteArgs) -> anyhow::Result<ExitCode> {
    let line = rpc::exchange(&args.target)?
        .delete_line(pb::DeleteLineRequest {
            id: args.id,
            force: args.force,
        })
        .await
        .answer("delete the line")?
        .line
        .unwrap_or_default();
    view::show(&line, args.json)
}

/// Field-mask paths of `M`, nested ones too (`log_source.tables`), in the
/// .proto's snake_case whichever spelling was given.
fn mask<M: prost::Name>(paths: &[String]) -> Result<FieldMask, String> {
    let descriptor = message_file::descriptor::<M>()?;
    let mut resolved: Vec<String> = Vec::new();
    for path in paths.iter().map(|p| p.trim()).filter(|p| !p.is_empty()) {
        let canonical = resolve_path(&descriptor, path)?;
        if !resolved.contains(&canonical) {
            resolved.push(canonical);
        }
    }
    if resolved.is_empty() {
        return Err("name the fields to change with --mask".into());
    }
    Ok(FieldMask { paths: resolved })
}

fn resolve_path(descriptor: &MessageDescriptor, path: &str) -> Result<String, String> {
    let mut message = descriptor.clone();
    let mut canonical = Vec::new();
    let mut parts = path.split('.').peekable();
    while let Some(part) = parts.next() {
        let field = message
            .get_field_by_name(part)
            .or_else(|| message.get_field_by_json_name(part))
            .ok_or_else(|| {
                let known: Vec<String> = message.fields().map(|f| f.name().to_string()).collect();
                format!(
                    "`{path}`: {} has no field {part}; its fields are {}",
                    message.name(),
                    known.join(", ")
                )
            })?;
        canonical.push(field.name().to_string());
        if parts.peek().is_some() {
            match field.kind() {
                Kind::Message(inner) if !field.is_list() && !field.is_map() => message = inner,
                _ => return Err(format!("`{path}`: {} has no fields inside", field.name())),
            }
        }
    }
    Ok(canonical.join("."))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_name_nested_fields_in_snake_case() {
        let paths = [
            "description".to_string(),
            "logSource.tables".into(),
            "log_source.heartbeat_interval".into(),
            "description".into(),
        ];
        assert_eq!(
            mask::<pb::Line>(&paths).unwrap().paths,
            [
                "description",
                "log_source.tables",
                "log_source.heartbeat_interval"
            ]
        );
        let unknown = mask::<pb::Line>(&["log_source.nope".into()]).unwrap_err();
        assert!(unknown.contains("LogSource has no field nope"), "{unknown}");
        let scalar = mask::<pb::Line>(&["name.x".into()]).unwrap_err();
        assert!(scalar.contains("no fields inside"), "{scalar}");
        assert!(mask::<pb::Line>(&[]).is_err());
    }
}
