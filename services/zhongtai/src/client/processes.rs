//! `zhongtai process …`: versioned process definitions of the approval
//! center, created and revised from YAML files.

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
pub enum ProcessCommand {
    /// Create a process definition from a YAML CreateProcessDefinitionRequest
    Create(CreateArgs),
    /// Publish a new version from a YAML ReviseProcessDefinitionRequest
    Revise(ReviseArgs),
    /// Show one version of a process definition (the latest by default)
    Get(GetArgs),
    /// List process definitions (latest version of each)
    List(ListArgs),
    /// List every version of one process definition, newest first
    Versions(VersionsArgs),
    /// Withdraw one version from new applications
    Deprecate(DeprecateArgs),
}

#[derive(Args)]
pub struct CreateArgs {
    #[command(flatten)]
    target: TargetArgs,
    /// YAML file: key, name, description, stages (see examples/)
    #[arg(short = 'f', long = "file")]
    file: PathBuf,
    #[command(flatten)]
    request_id: RequestIdArg,
    /// Print the answer as proto3 JSON
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
pub struct ReviseArgs {
    #[command(flatten)]
    target: TargetArgs,
    /// Definition id
    id: String,
    /// YAML file: name, description and the complete new list of stages
    #[arg(short = 'f', long = "file")]
    file: PathBuf,
    /// The version the revision is based on (refused if a newer one exists);
    /// default: the file's baseVersion
    #[arg(long)]
    base_version: Option<i64>,
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
    /// Definition id
    id: String,
    /// Version to show; default the latest
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
    /// Only this tenant's definitions (331100 or 331100/department); default the token's
    #[arg(long, value_parser = flags::tenant)]
    tenant: Option<Tenant>,
    #[command(flatten)]
    page: PageArgs,
    /// Print the answer as proto3 JSON
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
pub struct VersionsArgs {
    #[command(flatten)]
    target: TargetArgs,
    /// Definition id
    id: String,
    #[command(flatten)]
    page: PageArgs,
    /// Print the answer as proto3 JSON
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
pub struct DeprecateArgs {
    #[command(flatten)]
    target: TargetArgs,
    /// Definition id
    id: String,
    /// Version to deprecate
    #[arg(long)]
    version: i64,
    /// Why, for the record
    #[arg(long)]
    reason: String,
    /// Print the answer as proto3 JSON
    #[arg(long)]
    json: bool,
}

pub async fn run(command: ProcessCommand) -> anyhow::Result<ExitCode> {
    match command {
        ProcessCommand::Create(args) => create(args).await,
        ProcessCommand::Revise(args) => revise(args).await,
        ProcessCommand::Get(args) => get(args).await,
        ProcessCommand::List(args) => list(args).await,
        ProcessCommand::Versions(args) => versions(args).await,
        ProcessCommand::Deprecate(args) => deprecate(args).await,
    }
}

async fn create(args: CreateArgs) -> anyhow::Result<ExitCode> {
    let mut request: pb::CreateProcessDefinitionRequest = read_message(&args.file)?;
    request.request_id = args.request_id.resolve(&request.request_id);
    let request_id = request.request_id.clone();
    let definition = rpc::approval(&args.target)?
        .create_process_definition(request)
        .await
        .answer_once("create the process definition", &request_id)?
        .process_definition
        .unwrap_or_default();
    show(&definition, args.json)
}

async fn revise(args: ReviseArgs) -> anyhow::Result<ExitCode> {
    let mut request: pb::ReviseProcessDefinitionRequest = read_message(&args.file)?;
    if !request.id.is_empty() && request.id != args.id {
        bail!(
            "{} revises definition {}, not {}",
            args.file.display(),
            request.id,
            args.id
        );
    }
    request.id = args.id;
    if let Some(base) = args.base_version {
        request.base_version = base;
    }
    if request.base_version <= 0 {
        bail!(
            "give --base-version: the version your revision starts from (`zhongtai process get {}` shows the latest)",
            request.id
        );
    }
    request.request_id = args.request_id.resolve(&request.request_id);
    let request_id = request.request_id.clone();
    let definition = rpc::approval(&args.target)?
        .revise_process_definition(request)
        .await
        .answer_once("revise the process definition", &request_id)?
        .process_definition
        .unwrap_or_default();
    show(&definition, args.json)
}

async fn get(args: GetArgs) -> anyhow::Result<ExitCode> {
    let definition = rpc::approval(&args.target)?
        .get_process_definition(pb::GetProcessDefinitionRequest {
            id: args.id,
            version: args.version,
        })
        .await
        .answer("get the process definition")?
        .process_definition
        .unwrap_or_default();
    show(&definition, args.json)
}

async fn list(args: ListArgs) -> anyhow::Result<ExitCode> {
    let response = rpc::approval(&args.target)?
        .list_process_definitions(pb::ListProcessDefinitionsRequest {
            page: args.page.request(),
            tenant: args.tenant,
        })
        .await
        .answer("list process definitions")?;
    if args.json {
        print_proto_json(&response)?;
    } else {
        print_summaries(&response.process_definitions);
        print_next_page(response.page.as_ref());
    }
    Ok(ExitCode::SUCCESS)
}

async fn versions(args: VersionsArgs) -> anyhow::Result<ExitCode> {
    let response = rpc::approval(&args.target)?
        .list_process_definition_versions(pb::ListProcessDefinitionVersionsRequest {
            page: args.page.request(),
            id: args.id,
        })
        .await
        .answer("list the process definition's versions")?;
    if args.json {
        print_proto_json(&response)?;
    } else {
        let rows: Vec<Vec<String>> = response
            .process_definitions
            .iter()
            .map(|d| {
                vec![
                    d.version.to_string(),
                    state(d),
                    labels::time(d.create_time.as_ref()),
                    labels::actor(d.created_by.as_ref()),
                    d.stages.len().to_string(),
                ]
            })
            .collect();
        print_table(&["VERSION", "STATE", "CREATED", "BY", "STAGES"], &rows);
        print_next_page(response.page.as_ref());
    }
    Ok(ExitCode::SUCCESS)
}

async fn deprecate(args: DeprecateArgs) -> anyhow::Result<ExitCode> {
    let definition = rpc::approval(&args.target)?
        .deprecate_process_definition(pb::DeprecateProcessDefinitionRequest {
            id: args.id,
            version: args.version,
            reason: args.reason,
        })
        .await
        .answer("deprecate the process definition version")?
        .process_definition
        .unwrap_or_default();
    show(&definition, args.json)
}

fn state(definition: &pb::ProcessDefinition) -> String {
    labels::short(
        definition.state().as_str_name(),
        "PROCESS_DEFINITION_STATE_",
    )
}

fn print_summaries(definitions: &[pb::ProcessDefinition]) {
    let rows: Vec<Vec<String>> = definitions
        .iter()
        .map(|d| {
            vec![
                d.id.clone(),
                labels::tenant(d.tenant.as_ref()),
                d.key.clone(),
                d.name.clone(),
                d.version.to_string(),
                state(d),
                d.stages.len().to_string(),
            ]
        })
        .collect();
    print_table(
        &["ID", "TENANT", "KEY", "NAME", "VERSION", "STATE", "STAGES"],
        &rows,
    );
}

fn show(definition: &pb::ProcessDefinition, json: bool) -> anyhow::Result<ExitCode> {
    if json {
        print_proto_json(definition)?;
        return Ok(ExitCode::SUCCESS);
    }
    print_details(&[
        ("id", definition.id.clone()),
        ("tenant", labels::tenant(definition.tenant.as_ref())),
        ("key", definition.key.clone()),
        ("name", definition.name.clone()),
        ("description", labels::clip(&definition.description, 100)),
        ("version", definition.version.to_string()),
        ("state", state(definition)),
        ("created", labels::time(definition.create_time.as_ref())),
        ("created by", labels::actor(definition.created_by.as_ref())),
    ]);
    print_section("Stages");
    print_stages(&definition.stages);
    Ok(ExitCode::SUCCESS)
}

/// The stages of a definition: who decides, by which rule, within what time.
pub fn print_stages(stages: &[pb::StageDefinition]) {
    let rows: Vec<Vec<String>> = stages
        .iter()
        .enumerate()
        .map(|(index, stage)| {
            vec![
                (index + 1).to_string(),
                stage.key.clone(),
                stage.name.clone(),
                stage_kind(stage.kind(), stage.required_approvals),
                labels::list(stage.assignees.iter().map(|a| labels::assignee(Some(a)))),
                sla(stage.sla.as_ref()),
            ]
        })
        .collect();
    print_table(&["#", "KEY", "NAME", "KIND", "ASSIGNEES", "SLA"], &rows);
}

/// `JOINT`, or `N_OF_M (2)` with the approvals it needs.
pub fn stage_kind(kind: pb::StageKind, required_approvals: i32) -> String {
    let name = labels::short(kind.as_str_name(), "STAGE_KIND_");
    if kind == pb::StageKind::NOfM {
        format!("{name} ({required_approvals})")
    } else {
        name
    }
}

fn sla(sla: Option<&pb::StageSla>) -> String {
    let Some(sla) = sla else {
        return String::new();
    };
    let mut text = labels::duration(sla.duration.as_ref());
    let remind = labels::duration(sla.remind_before.as_ref());
    if !remind.is_empty() && remind != "0s" {
        text.push_str(&format!(", remind {remind} before"));
    }
    if let Some(role) = &sla.escalate_to {
        text.push_str(&format!(", then {}", labels::department_role(Some(role))));
    }
    text
}
