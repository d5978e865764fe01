//! Decisions on a running application: approve, reject, send back,
//! resubmit, recall, add a signer, transfer a task. Each is idempotent on
//! its request id and prints the application as it stands afterwards.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::bail;
use clap::{ArgGroup, Args};
use zhongtai_contracts::approval::v1 as pb;

use super::application_view::print_outcome;
use super::endpoints::TargetArgs;
use super::flags::{self, RequestIdArg};
use super::message_file::read_message;
use super::output::{emit, print_proto_json};
use super::rpc::{self, Answer as _};

/// Prints the application after a decision: its status and stages.
fn show(application: &pb::Application, json: bool) -> anyhow::Result<ExitCode> {
    if json {
        print_proto_json(application)?;
    } else {
        print_outcome(application);
    }
    Ok(ExitCode::SUCCESS)
}

#[derive(Args)]
pub struct ApproveArgs {
    #[command(flatten)]
    target: TargetArgs,
    /// Application id
    id: String,
    /// Your task; default your only pending task in the active stage
    #[arg(long)]
    task: Option<String>,
    /// Approval opinion
    #[arg(long, default_value = "")]
    comment: String,
    #[command(flatten)]
    request_id: RequestIdArg,
    /// Print the answer as proto3 JSON
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
pub struct RejectArgs {
    #[command(flatten)]
    target: TargetArgs,
    /// Application id
    id: String,
    /// Your task; default your only pending task in the active stage
    #[arg(long)]
    task: Option<String>,
    /// Why (required)
    #[arg(long, alias = "reason")]
    comment: String,
    #[command(flatten)]
    request_id: RequestIdArg,
    /// Print the answer as proto3 JSON
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
#[command(group(ArgGroup::new("destination").required(true).args(["to_stage", "to_applicant"])))]
pub struct ReturnArgs {
    #[command(flatten)]
    target: TargetArgs,
    /// Application id
    id: String,
    /// Your task; default your only pending task in the active stage
    #[arg(long)]
    task: Option<String>,
    /// Why (required)
    #[arg(long, alias = "reason")]
    comment: String,
    /// Send back to this earlier stage
    #[arg(long)]
    to_stage: Option<String>,
    /// Send back to the applicant for more materials
    #[arg(long)]
    to_applicant: bool,
    /// With --to-applicant: codes of the materials to hand in again (comma-separated)
    #[arg(long, value_delimiter = ',', requires = "to_applicant")]
    materials: Vec<String>,
    #[command(flatten)]
    request_id: RequestIdArg,
    /// Print the answer as proto3 JSON
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
pub struct ResubmitArgs {
    #[command(flatten)]
    target: TargetArgs,
    /// Application id
    id: String,
    /// YAML ResubmitApplicationRequest: formData and the materials handed in again
    #[arg(short = 'f', long = "file")]
    file: Option<PathBuf>,
    /// Note to the approvers
    #[arg(long)]
    comment: Option<String>,
    #[command(flatten)]
    request_id: RequestIdArg,
    /// Print the answer as proto3 JSON
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
pub struct RecallArgs {
    #[command(flatten)]
    target: TargetArgs,
    /// Application id
    id: String,
    /// Why
    #[arg(long, alias = "reason", default_value = "")]
    comment: String,
    #[command(flatten)]
    request_id: RequestIdArg,
    /// Print the answer as proto3 JSON
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
pub struct AddSignerArgs {
    #[command(flatten)]
    target: TargetArgs,
    /// Application id
    id: String,
    /// Who must also sign: 331100/fire-safety/approver or user:<subject>
    #[arg(long, value_parser = flags::assignee)]
    assignee: pb::Assignee,
    /// Why
    #[arg(long, default_value = "")]
    comment: String,
    #[command(flatten)]
    request_id: RequestIdArg,
    /// Print the answer as proto3 JSON
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
pub struct TransferArgs {
    #[command(flatten)]
    target: TargetArgs,
    /// Application id
    id: String,
    /// Your pending task
    #[arg(long)]
    task: String,
    /// The new assignee: 331100/fire-safety/approver or user:<subject>
    #[arg(long, value_parser = flags::assignee)]
    assignee: pb::Assignee,
    /// Why
    #[arg(long, default_value = "")]
    comment: String,
    #[command(flatten)]
    request_id: RequestIdArg,
    /// Print the answer as proto3 JSON
    #[arg(long)]
    json: bool,
}

pub async fn approve(args: ApproveArgs) -> anyhow::Result<ExitCode> {
    let request_id = args.request_id.resolve("");
    let application = rpc::approval(&args.target)?
        .approve_application(pb::ApproveApplicationRequest {
            request_id: request_id.clone(),
            application_id: args.id,
            task_id: args.task.unwrap_or_default(),
            comment: args.comment,
        })
        .await
        .answer_once("approve the application", &request_id)?
        .application
        .unwrap_or_default();
    show(&application, args.json)
}

pub async fn reject(args: RejectArgs) -> anyhow::Result<ExitCode> {
    let request_id = args.request_id.resolve("");
    let application = rpc::approval(&args.target)?
        .reject_application(pb::RejectApplicationRequest {
            request_id: request_id.clone(),
            application_id: args.id,
            task_id: args.task.unwrap_or_default(),
            comment: args.comment,
        })
        .await
        .answer_once("reject the application", &request_id)?
        .application
        .unwrap_or_default();
    show(&application, args.json)
}

pub async fn send_back(args: ReturnArgs) -> anyhow::Result<ExitCode> {
    let target = match (args.to_stage, args.to_applicant) {
        (Some(stage), false) => pb::return_application_request::Target::StageKey(stage),
        (None, true) => pb::return_application_request::Target::Applicant(true),
        _ => bail!("give exactly one of --to-stage KEY and --to-applicant"),
    };
    let request_id = args.request_id.resolve("");
    let application = rpc::approval(&args.target)?
        .return_application(pb::ReturnApplicationRequest {
            request_id: request_id.clone(),
            application_id: args.id,
            task_id: args.task.unwrap_or_default(),
            comment: args.comment,
            target: Some(target),
            requested_materials: args.materials,
        })
        .await
        .answer_once("send the application back", &request_id)?
        .application
        .unwrap_or_default();
    show(&application, args.json)
}

pub async fn resubmit(args: ResubmitArgs) -> anyhow::Result<ExitCode> {
    let mut request: pb::ResubmitApplicationRequest = match &args.file {
        Some(file) => read_message(file)?,
        None => pb::ResubmitApplicationRequest::default(),
    };
    if !request.application_id.is_empty() && request.application_id != args.id {
        bail!(
            "the file resubmits application {}, not {}",
            request.application_id,
            args.id
        );
    }
    request.application_id = args.id;
    if let Some(comment) = args.comment {
        request.comment = comment;
    }
    request.request_id = args.request_id.resolve(&request.request_id);
    let request_id = request.request_id.clone();
    let application = rpc::approval(&args.target)?
        .resubmit_application(request)
        .await
        .answer_once("resubmit the application", &request_id)?
        .application
        .unwrap_or_default();
    show(&application, args.json)
}

pub async fn recall(args: RecallArgs) -> anyhow::Result<ExitCode> {
    let request_id = args.request_id.resolve("");
    let application = rpc::approval(&args.target)?
        .recall_application(pb::RecallApplicationRequest {
            request_id: request_id.clone(),
            application_id: args.id,
            comment: args.comment,
        })
        .await
        .answer_once("recall the application", &request_id)?
        .application
        .unwrap_or_default();
    show(&application, args.json)
}

pub async fn add_signer(args: AddSignerArgs) -> anyhow::Result<ExitCode> {
    let request_id = args.request_id.resolve("");
    let response = rpc::approval(&args.target)?
        .add_signer(pb::AddSignerRequest {
            request_id: request_id.clone(),
            application_id: args.id,
            assignee: Some(args.assignee),
            comment: args.comment,
        })
        .await
        .answer_once("add the signer", &request_id)?;
    show_with_new_task(
        &response,
        response.task.as_ref(),
        response.application.as_ref(),
        args.json,
    )
}

pub async fn transfer(args: TransferArgs) -> anyhow::Result<ExitCode> {
    let request_id = args.request_id.resolve("");
    let response = rpc::approval(&args.target)?
        .transfer_task(pb::TransferTaskRequest {
            request_id: request_id.clone(),
            application_id: args.id,
            task_id: args.task,
            assignee: Some(args.assignee),
            comment: args.comment,
        })
        .await
        .answer_once("transfer the task", &request_id)?;
    show_with_new_task(
        &response,
        response.task.as_ref(),
        response.application.as_ref(),
        args.json,
    )
}

/// A response that created a task: the whole response as JSON, or the new
/// task's id above the application.
fn show_with_new_task<M: prost::Message + prost::Name>(
    response: &M,
    task: Option<&pb::Task>,
    application: Option<&pb::Application>,
    json: bool,
) -> anyhow::Result<ExitCode> {
    if json {
        print_proto_json(response)?;
        return Ok(ExitCode::SUCCESS);
    }
    if let Some(task) = task {
        emit(&format!("new task {}", task.id));
    }
    show(&application.cloned().unwrap_or_default(), false)
}
