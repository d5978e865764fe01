//! Applications to rows and back: the document, the columns lists and the
//! timer filter on, the task and party projections, history entries.

use sea_orm::{ActiveModelTrait, ActiveValue, IntoActiveModel};
use uuid::Uuid;
use zhongtai_kit::{TenantId, TenantScope};

use super::entities::{application, application_history, application_party, application_task};
use super::write::{department, storage_failure, to_json};
use crate::domain::ApprovalError;
use crate::domain::application::{Application, HistoryEntry};
use crate::domain::assignee::TaskAssignee;

/// The rows of the tenant that handles `application`. Used only once the
/// caller reached the application through its parties (or the timer found
/// it), to read and write that one application: its assignees of other
/// tenants act on it under the domain's rules, checked before any write.
pub(super) fn handled_by(application: &Application) -> TenantScope {
    TenantScope::tenant(application.tenant.clone())
}

pub(super) fn application_row(app: &Application) -> Result<application::Model, ApprovalError> {
    Ok(application::Model {
        id: app.id.to_string(),
        tenant_division: app.tenant.division.as_str().to_string(),
        tenant_department: department(&app.tenant),
        service_item_id: app.service_item_id.to_string(),
        applicant_division: app.applicant.tenant.division.as_str().to_string(),
        applicant_department: department(&app.applicant.tenant),
        submitted_by: app.applicant.submitted_by.subject.clone(),
        request_id: app.request_id.clone(),
        origin_service: app
            .origin
            .as_ref()
            .map(|o| o.service.clone())
            .unwrap_or_default(),
        status: app.status.name().to_string(),
        document: to_json(app)?,
        version: app.version,
        remind_time: app.next_reminder(),
        due_time: app.next_escalation(),
        created_at: app.created_at,
        updated_at: app.updated_at,
    })
}

/// The columns a transition may change, for `UPDATE … SET`.
pub(super) fn changed_columns(
    app: &Application,
) -> Result<application::ActiveModel, ApprovalError> {
    let mut row = application_row(app)?.into_active_model().reset_all();
    row.id = ActiveValue::NotSet;
    row.created_at = ActiveValue::NotSet;
    row.request_id = ActiveValue::NotSet;
    row.submitted_by = ActiveValue::NotSet;
    Ok(row)
}

pub(super) fn from_row(row: application::Model) -> Result<Application, ApprovalError> {
    serde_json::from_value(row.document)
        .map_err(|e| ApprovalError::Storage(format!("application {}: bad document: {e}", row.id)))
}

/// Largest `due_order`: tasks without a deadline come last.
pub(super) const NO_DEADLINE: i64 = i64::MAX;

pub(super) fn task_rows(app: &Application) -> Vec<application_task::Model> {
    app.tasks()
        .map(|task| {
            let (division, department_name, role, user) = match &task.assignee {
                TaskAssignee::DepartmentRole(role) => (
                    role.tenant.division.as_str().to_string(),
                    department(&role.tenant),
                    role.role.as_str().to_string(),
                    String::new(),
                ),
                TaskAssignee::User(user) => {
                    (String::new(), String::new(), String::new(), user.clone())
                }
            };
            application_task::Model {
                id: task.id.to_string(),
                application_id: app.id.to_string(),
                assignee_division: division,
                assignee_department: department_name,
                assignee_role: role,
                assignee_user: user,
                stage_key: task.stage_key.clone(),
                status: task.status.name().to_string(),
                due_time: task.due_at,
                due_order: task.due_at.map_or(NO_DEADLINE, |at| at.timestamp_micros()),
                created_at: task.created_at,
            }
        })
        .collect()
}

pub(super) fn party_rows(app: &Application) -> Vec<application_party::Model> {
    let (tenants, users) = app.parties();
    let tenant_rows = tenants
        .iter()
        .map(|tenant: &TenantId| application_party::Model {
            id: format!("{}|{}", app.id, tenant.key()),
            application_id: app.id.to_string(),
            party_division: tenant.division.as_str().to_string(),
            party_department: department(tenant),
            party_subject: String::new(),
        });
    let user_rows = users.iter().map(|user| application_party::Model {
        id: format!("{}|user|{user}", app.id),
        application_id: app.id.to_string(),
        party_division: String::new(),
        party_department: String::new(),
        party_subject: user.clone(),
    });
    tenant_rows.chain(user_rows).collect()
}

pub(super) fn history_row(
    app: &Application,
    entry: &HistoryEntry,
) -> Result<application_history::Model, ApprovalError> {
    let action = serde_json::to_value(entry.action)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default();
    Ok(application_history::Model {
        application_id: app.id.to_string(),
        sequence: entry.sequence,
        tenant_division: app.tenant.division.as_str().to_string(),
        tenant_department: department(&app.tenant),
        action,
        request_id: entry.request_id.clone(),
        entry: to_json(entry)?,
        time: entry.time,
    })
}

pub(super) fn entry_from_row(
    row: application_history::Model,
) -> Result<HistoryEntry, ApprovalError> {
    serde_json::from_value(row.entry).map_err(|e| {
        ApprovalError::Storage(format!(
            "history {}#{}: bad entry: {e}",
            row.application_id, row.sequence
        ))
    })
}

/// A UUID read from a column; a bad one is corruption.
pub(super) fn uuid(value: &str) -> Result<Uuid, ApprovalError> {
    Uuid::parse_str(value).map_err(storage_failure)
}
