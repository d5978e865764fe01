//! `zhongtai task list`: my tasks — those assigned to me, or to a
//! department role I hold — soonest deadline first.

use std::process::ExitCode;

use clap::{Args, Subcommand};
use zhongtai_contracts::approval::v1 as pb;

use super::application_view::{applicant, task_status};
use super::endpoints::TargetArgs;
use super::flags::{self, PageArgs};
use super::labels;
use super::output::{print_next_page, print_proto_json, print_table};
use super::rpc::{self, Answer as _};

#[derive(Subcommand)]
pub enum TaskCommand {
    /// List my tasks (pending ones by default)
    List(ListArgs),
}

#[derive(Args)]
pub struct ListArgs {
    #[command(flatten)]
    target: TargetArgs,
    /// Task statuses (comma-separated): pending, approved, rejected,
    /// returned, transferred, cancelled; default pending
    #[arg(long, value_delimiter = ',',
          value_parser = flags::enum_value("zhongtai.approval.v1.TaskStatus"))]
    status: Vec<i32>,
    #[command(flatten)]
    page: PageArgs,
    /// Print the answer as proto3 JSON
    #[arg(long)]
    json: bool,
}

pub async fn run(command: TaskCommand) -> anyhow::Result<ExitCode> {
    match command {
        TaskCommand::List(args) => list(args).await,
    }
}

async fn list(args: ListArgs) -> anyhow::Result<ExitCode> {
    let response = rpc::approval(&args.target)?
        .list_my_tasks(pb::ListMyTasksRequest {
            page: args.page.request(),
            statuses: args.status,
        })
        .await
        .answer("list your tasks")?;
    if args.json {
        print_proto_json(&response)?;
        return Ok(ExitCode::SUCCESS);
    }
    let rows: Vec<Vec<String>> = response
        .tasks
        .iter()
        .map(|summary| {
            let task = summary.task.clone().unwrap_or_default();
            let application = summary.application.clone().unwrap_or_default();
            vec![
                task.id.clone(),
                task.application_id.clone(),
                application.service_item_code.clone(),
                applicant(application.applicant.as_ref()),
                task.stage_key.clone(),
                labels::assignee(task.assignee.as_ref()),
                task_status(&task),
                labels::time(task.due_time.as_ref()),
            ]
        })
        .collect();
    print_table(
        &[
            "TASK",
            "APPLICATION",
            "ITEM",
            "APPLICANT",
            "STAGE",
            "ASSIGNEE",
            "STATUS",
            "DUE",
        ],
        &rows,
    );
    print_next_page(response.page.as_ref());
    Ok(ExitCode::SUCCESS)
}
