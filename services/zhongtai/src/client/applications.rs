//! `zhongtai application …`: submitting applications (办件) and following
//! them — their stages, tasks and append-only history. The decisions on a
//! running application live in [`super::decisions`].

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand};
use zhongtai_contracts::approval::v1 as pb;

use super::application_view::{applicant, current_stage, print_application, print_history, status};
use super::decisions;
use super::endpoints::TargetArgs;
use super::flags::{self, PageArgs, RequestIdArg};
use super::labels;
use super::message_file::read_message;
use super::output::{print_next_page, print_proto_json, print_section, print_table};
use super::rpc::{self, Answer as _};

#[derive(Subcommand)]
pub enum ApplicationCommand {
    /// Submit an application from a YAML SubmitApplicationRequest
    Submit(SubmitArgs),
    /// Show an application with its stages, tasks and history
    Get(GetArgs),
    /// List applications visible to you, newest first
    List(ListArgs),
    /// Page through an application's history, oldest first
    History(HistoryArgs),
    /// Approve through your pending task
    Approve(decisions::ApproveArgs),
    /// Reject through your pending task (the application ends REJECTED)
    Reject(decisions::RejectArgs),
    /// Send back to an earlier stage, or to the applicant for more materials
    Return(decisions::ReturnArgs),
    /// Resubmit a returned application with the requested materials
    Resubmit(decisions::ResubmitArgs),
    /// Withdraw your application before the current stage acts on it
    Recall(decisions::RecallArgs),
    /// Add a signer to the active stage (加签)
    AddSigner(decisions::AddSignerArgs),
    /// Hand your pending task to someone else (转办)
    Transfer(decisions::TransferArgs),
}

#[derive(Args)]
pub struct SubmitArgs {
    #[command(flatten)]
    target: TargetArgs,
    /// YAML file: serviceItemKey (or serviceItemId), applicant, formData,
    /// materials, assigneeBindings (see examples/)
    #[arg(short = 'f', long = "file")]
    file: PathBuf,
    /// Service item id, instead of the one the file names
    #[arg(long)]
    item: Option<String>,
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
    /// Application id
    id: String,
    /// Print the answer as proto3 JSON
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
pub struct ListArgs {
    #[command(flatten)]
    target: TargetArgs,
    /// Only these statuses (comma-separated): in-progress, returned,
    /// approved, rejected, recalled
    #[arg(long, value_delimiter = ',',
          value_parser = flags::enum_value("zhongtai.approval.v1.ApplicationStatus"))]
    status: Vec<i32>,
    /// Only applications for this service item id
    #[arg(long)]
    item: Option<String>,
    /// Only applications submitted by this subject
    #[arg(long)]
    applicant: Option<String>,
    /// Only applications raised by this service, e.g. catalog
    #[arg(long)]
    origin: Option<String>,
    #[command(flatten)]
    page: PageArgs,
    /// Print the answer as proto3 JSON
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
pub struct HistoryArgs {
    #[command(flatten)]
    target: TargetArgs,
    /// Application id
    id: String,
    #[command(flatten)]
    page: PageArgs,
    /// Print the answer as proto3 JSON
    #[arg(long)]
    json: bool,
}

pub async fn run(command: ApplicationCommand) -> anyhow::Result<ExitCode> {
    match command {
        ApplicationCommand::Submit(args) => submit(args).await,
        ApplicationCommand::Get(args) => get(args).await,
        ApplicationCommand::List(args) => list(args).await,
        ApplicationCommand::History(args) => history(args).await,
        ApplicationCommand::Approve(args) => decisions::approve(args).await,
        ApplicationCommand::Reject(args) => decisions::reject(args).await,
        ApplicationCommand::Return(args) => decisions::send_back(args).await,
        ApplicationCommand::Resubmit(args) => decisions::resubmit(args).await,
        ApplicationCommand::Recall(args) => decisions::recall(args).await,
        ApplicationCommand::AddSigner(args) => decisions::add_signer(args).await,
        ApplicationCommand::Transfer(args) => decisions::transfer(args).await,
    }
}

async fn submit(args: SubmitArgs) -> anyhow::Result<ExitCode> {
    let mut request: pb::SubmitApplicationRequest = read_message(&args.file)?;
    if let Some(item) = args.item {
        request.service_item_id = item;
    }
    if request.service_item_id.is_empty() && request.service_item_key.is_none() {
        anyhow::bail!(
            "{} names no service item: give serviceItemKey (tenant and code) or serviceItemId, or pass --item",
            args.file.display()
        );
    }
    request.request_id = args.request_id.resolve(&request.request_id);
    let request_id = request.request_id.clone();
    let application = rpc::approval(&args.target)?
        .submit_application(request)
        .await
        .answer_once("submit the application", &request_id)?
        .application
        .unwrap_or_default();
    show(&application, args.json)
}

async fn get(args: GetArgs) -> anyhow::Result<ExitCode> {
    let response = rpc::approval(&args.target)?
        .get_application(pb::GetApplicationRequest { id: args.id })
        .await
        .answer("get the application")?;
    if args.json {
        print_proto_json(&response)?;
        return Ok(ExitCode::SUCCESS);
    }
    print_application(&response.application.unwrap_or_default());
    print_section("History");
    print_history(&response.history);
    Ok(ExitCode::SUCCESS)
}

async fn list(args: ListArgs) -> anyhow::Result<ExitCode> {
    let response = rpc::approval(&args.target)?
        .list_applications(pb::ListApplicationsRequest {
            page: args.page.request(),
            statuses: args.status,
            service_item_id: args.item.unwrap_or_default(),
            applicant_subject: args.applicant.unwrap_or_default(),
            origin_service: args.origin.unwrap_or_default(),
        })
        .await
        .answer("list applications")?;
    if args.json {
        print_proto_json(&response)?;
        return Ok(ExitCode::SUCCESS);
    }
    let rows: Vec<Vec<String>> = response
        .applications
        .iter()
        .map(|a| {
            vec![
                a.id.clone(),
                a.service_item_code.clone(),
                status(a),
                current_stage(a),
                applicant(a.applicant.as_ref()),
                labels::time(a.create_time.as_ref()),
            ]
        })
        .collect();
    print_table(
        &["ID", "ITEM", "STATUS", "STAGE", "APPLICANT", "SUBMITTED"],
        &rows,
    );
    print_next_page(response.page.as_ref());
    Ok(ExitCode::SUCCESS)
}

async fn history(args: HistoryArgs) -> anyhow::Result<ExitCode> {
    let response = rpc::approval(&args.target)?
        .list_application_history(pb::ListApplicationHistoryRequest {
            page: args.page.request(),
            application_id: args.id,
        })
        .await
        .answer("list the application's history")?;
    if args.json {
        print_proto_json(&response)?;
    } else {
        print_history(&response.entries);
        print_next_page(response.page.as_ref());
    }
    Ok(ExitCode::SUCCESS)
}

/// Prints a submitted application as `application get` does, without its
/// history.
fn show(application: &pb::Application, json: bool) -> anyhow::Result<ExitCode> {
    if json {
        print_proto_json(application)?;
    } else {
        print_application(application);
    }
    Ok(ExitCode::SUCCESS)
}
