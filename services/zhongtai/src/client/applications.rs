//! `zhongtai application …`: submitting applications (办件) and following
//! them — their stages, tasks and append-only history. The decisions on a
//! running application live in [`super::decisions`].

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand};
use zhongtai_contracts::approval::v1 as pb;
use zhongtai_contracts::common::v1::holder;

use super::decisions;
use super::endpoints::TargetArgs;
use super::flags::{self, PageArgs, RequestIdArg};
use super::labels;
use super::message_file::read_message;
use super::output::{print_details, print_next_page, print_proto_json, print_section, print_table};
use super::processes::stage_kind;
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
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
pub struct GetArgs {
    #[command(flatten)]
    target: TargetArgs,
    /// Application id
    id: String,
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

/// Prints an application as `application get` does, without its history.
pub fn show(application: &pb::Application, json: bool) -> anyhow::Result<ExitCode> {
    if json {
        print_proto_json(application)?;
    } else {
        print_application(application);
    }
    Ok(ExitCode::SUCCESS)
}

fn print_application(application: &pb::Application) {
    let origin = application
        .origin
        .as_ref()
        .map(|o| format!("{} {} {}", o.service, o.kind, o.id))
        .unwrap_or_default();
    let bindings = labels::list(
        application
            .assignee_bindings
            .iter()
            .map(|(slot, role)| format!("{slot} = {}", labels::department_role(Some(role)))),
    );
    print_details(&[
        ("id", application.id.clone()),
        (
            "item",
            format!(
                "{} ({})",
                application.service_item_code, application.service_item_id
            ),
        ),
        ("tenant", labels::tenant(application.tenant.as_ref())),
        ("status", status(application)),
        ("current stage", current_stage(application)),
        ("applicant", applicant(application.applicant.as_ref())),
        (
            "submitted by",
            labels::actor(
                application
                    .applicant
                    .as_ref()
                    .and_then(|a| a.submitted_by.as_ref()),
            ),
        ),
        ("origin", origin),
        ("bindings", bindings),
        (
            "process",
            format!(
                "{} version {}",
                application.process_definition_id, application.process_version
            ),
        ),
        ("certificate type", application.certificate_type.clone()),
        ("version", application.version.to_string()),
        ("request id", application.request_id.clone()),
        ("submitted", labels::time(application.create_time.as_ref())),
        ("updated", labels::time(application.update_time.as_ref())),
        (
            "completed",
            labels::time(application.complete_time.as_ref()),
        ),
    ]);
    if let Some(form) = application
        .form_data
        .as_ref()
        .filter(|f| !f.fields.is_empty())
    {
        print_section("Form");
        let pairs: Vec<(&str, String)> = form
            .fields
            .iter()
            .map(|(name, value)| (name.as_str(), labels::clip(&labels::value(value), 100)))
            .collect();
        print_details(&pairs);
    }
    if !application.materials.is_empty() {
        print_section("Materials");
        let rows: Vec<Vec<String>> = application
            .materials
            .iter()
            .map(|m| {
                vec![
                    m.material_code.clone(),
                    m.file_name.clone(),
                    m.media_type.clone(),
                    m.size_bytes.to_string(),
                    m.document_uri.clone(),
                ]
            })
            .collect();
        print_table(&["MATERIAL", "FILE", "TYPE", "BYTES", "DOCUMENT"], &rows);
    }
    print_section("Stages");
    print_stage_tasks(&application.stages);
}

/// One row per task, grouped by stage in process order.
fn print_stage_tasks(stages: &[pb::StageInstance]) {
    let mut rows = Vec::new();
    for stage in stages {
        let stage_cells = [
            stage.key.clone(),
            stage_kind(stage.kind(), stage.required_approvals),
            labels::short(stage.status().as_str_name(), "STAGE_STATUS_"),
            labels::time(stage.due_time.as_ref())
                + if stage.escalated { " (escalated)" } else { "" },
        ];
        if stage.tasks.is_empty() {
            let mut row = stage_cells.to_vec();
            row.extend(std::iter::repeat_n(String::new(), 4));
            rows.push(row);
        }
        for task in &stage.tasks {
            let mut row = stage_cells.to_vec();
            row.extend([
                task.id.clone(),
                labels::assignee(task.assignee.as_ref()),
                task_status(task),
                labels::actor(task.acted_by.as_ref()),
            ]);
            rows.push(row);
        }
    }
    print_table(
        &[
            "STAGE",
            "KIND",
            "STAGE STATUS",
            "DUE",
            "TASK",
            "ASSIGNEE",
            "TASK STATUS",
            "ACTED BY",
        ],
        &rows,
    );
}

fn print_history(entries: &[pb::HistoryEntry]) {
    let rows: Vec<Vec<String>> = entries
        .iter()
        .map(|entry| {
            let mut note = detail(entry);
            if !entry.comment.is_empty() {
                if !note.is_empty() {
                    note.push_str("; ");
                }
                note.push_str(&entry.comment);
            }
            vec![
                entry.sequence.to_string(),
                labels::time(entry.time.as_ref()),
                labels::short(entry.action().as_str_name(), "HISTORY_ACTION_"),
                labels::actor(entry.actor.as_ref()),
                entry.stage_key.clone(),
                labels::clip(&note, 80),
            ]
        })
        .collect();
    print_table(&["#", "TIME", "ACTION", "BY", "STAGE", "DETAIL"], &rows);
}

fn detail(entry: &pb::HistoryEntry) -> String {
    use pb::history_entry::Detail;
    match &entry.detail {
        Some(Detail::Returned(returned)) => match &returned.target {
            Some(pb::return_detail::Target::StageKey(stage)) => format!("back to stage {stage}"),
            Some(pb::return_detail::Target::Applicant(_))
                if returned.requested_materials.is_empty() =>
            {
                "back to the applicant".into()
            }
            Some(pb::return_detail::Target::Applicant(_)) => format!(
                "back to the applicant for {}",
                labels::list(&returned.requested_materials)
            ),
            None => String::new(),
        },
        Some(Detail::SignerAdded(added)) => {
            format!("added {}", labels::assignee(added.assignee.as_ref()))
        }
        Some(Detail::Transferred(transfer)) => format!(
            "{} → {}",
            labels::assignee(transfer.from.as_ref()),
            labels::assignee(transfer.to.as_ref())
        ),
        Some(Detail::Escalated(escalation)) => {
            let to = labels::department_role(escalation.escalated_to.as_ref());
            if to.is_empty() {
                format!(
                    "overdue since {}",
                    labels::time(escalation.due_time.as_ref())
                )
            } else {
                format!("overdue, escalated to {to}")
            }
        }
        None => String::new(),
    }
}

pub fn status(application: &pb::Application) -> String {
    labels::short(application.status().as_str_name(), "APPLICATION_STATUS_")
}

pub fn task_status(task: &pb::Task) -> String {
    labels::short(task.status().as_str_name(), "TASK_STATUS_")
}

/// Key of the active stage; empty once finished or while with the applicant.
pub fn current_stage(application: &pb::Application) -> String {
    usize::try_from(application.current_stage_index)
        .ok()
        .and_then(|index| application.stages.get(index))
        .map(|stage| stage.key.clone())
        .unwrap_or_default()
}

/// The person or organisation applying, else their tenant.
pub fn applicant(applicant: Option<&pb::Applicant>) -> String {
    let Some(applicant) = applicant else {
        return String::new();
    };
    let holder = match applicant.holder.as_ref().and_then(|h| h.holder.as_ref()) {
        Some(holder::Holder::Person(person)) => person.name.clone(),
        Some(holder::Holder::Organization(organization)) => organization.name.clone(),
        None => String::new(),
    };
    let tenant = labels::tenant(applicant.tenant.as_ref());
    match (holder.is_empty(), tenant.is_empty()) {
        (false, false) => format!("{holder} ({tenant})"),
        (false, true) => holder,
        (true, _) => tenant,
    }
}
