//! How an application reads: its summary, form and materials, one row per
//! task of each stage, and its history with each action's details.

use zhongtai_contracts::approval::v1 as pb;
use zhongtai_contracts::common::v1::holder;

use super::labels;
use super::output::{print_details, print_section, print_table};
use super::processes::stage_kind;

/// Everything about an application but its history.
pub fn print_application(application: &pb::Application) {
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

/// Where an application stands after a decision: its status and stages.
pub fn print_outcome(application: &pb::Application) {
    print_details(&[
        ("id", application.id.clone()),
        ("item", application.service_item_code.clone()),
        ("status", status(application)),
        ("current stage", current_stage(application)),
        ("version", application.version.to_string()),
        ("updated", labels::time(application.update_time.as_ref())),
        (
            "completed",
            labels::time(application.complete_time.as_ref()),
        ),
    ]);
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

pub fn print_history(entries: &[pb::HistoryEntry]) {
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

/// The person or organisation applying, else (for data access) the
/// requesting tenant.
pub fn applicant(applicant: Option<&pb::Applicant>) -> String {
    let Some(applicant) = applicant else {
        return String::new();
    };
    match applicant.holder.as_ref().and_then(|h| h.holder.as_ref()) {
        Some(holder::Holder::Person(person)) => person.name.clone(),
        Some(holder::Holder::Organization(organization)) => organization.name.clone(),
        None => labels::tenant(applicant.tenant.as_ref()),
    }
}
