//! Domain values of applications and processes in their contract form, and
//! request parts into domain drafts. Translation only: no rules here.

use chrono::{DateTime, Utc};
use zhongtai_contracts::approval::v1 as pb;
use zhongtai_contracts::common::v1 as common;
use zhongtai_kit::proto::{actor_message, tenant_message, timestamp};

use super::form_data::struct_from_json;
use crate::domain::application::{
    Application, ApplicationStatus, HistoryAction, HistoryDetail, HistoryEntry, Holder,
    IdDocumentType, StageInstance, StageStatus, Task, TaskOrigin, TaskStatus,
};
use crate::domain::assignee::{
    Assignee, AssigneeDraft, DepartmentRole, DepartmentRoleDraft, TaskAssignee,
};
use crate::domain::process::StageKind;

fn time(at: Option<DateTime<Utc>>) -> Option<prost_types::Timestamp> {
    at.map(timestamp)
}

pub fn department_role_message(role: &DepartmentRole) -> pb::DepartmentRole {
    pb::DepartmentRole {
        tenant: Some(tenant_message(&role.tenant)),
        role: role.role.as_str().to_string(),
    }
}

pub fn assignee_message(assignee: &Assignee) -> pb::Assignee {
    use pb::assignee::Target;
    pb::Assignee {
        target: Some(match assignee {
            Assignee::DepartmentRole(role) => Target::DepartmentRole(department_role_message(role)),
            Assignee::Slot(slot) => Target::Slot(slot.clone()),
            Assignee::User(user) => Target::User(user.clone()),
        }),
    }
}

pub fn task_assignee_message(assignee: &TaskAssignee) -> pb::Assignee {
    use pb::assignee::Target;
    pb::Assignee {
        target: Some(match assignee {
            TaskAssignee::DepartmentRole(role) => {
                Target::DepartmentRole(department_role_message(role))
            }
            TaskAssignee::User(user) => Target::User(user.clone()),
        }),
    }
}

pub fn department_role_draft(role: &pb::DepartmentRole) -> DepartmentRoleDraft {
    DepartmentRoleDraft {
        tenant: role
            .tenant
            .as_ref()
            .map(|t| (t.division_code.clone(), t.department.clone())),
        role: role.role.clone(),
    }
}

pub fn assignee_draft(assignee: Option<&pb::Assignee>) -> AssigneeDraft {
    use pb::assignee::Target;
    match assignee.and_then(|a| a.target.as_ref()) {
        None => AssigneeDraft::Unset,
        Some(Target::DepartmentRole(role)) => {
            AssigneeDraft::DepartmentRole(department_role_draft(role))
        }
        Some(Target::Slot(slot)) => AssigneeDraft::Slot(slot.clone()),
        Some(Target::User(user)) => AssigneeDraft::User(user.clone()),
    }
}

pub fn stage_kind(kind: pb::StageKind) -> Option<StageKind> {
    match kind {
        pb::StageKind::Unspecified => None,
        pb::StageKind::Single => Some(StageKind::Single),
        pb::StageKind::Joint => Some(StageKind::Joint),
        pb::StageKind::AnyOf => Some(StageKind::AnyOf),
        pb::StageKind::NOfM => Some(StageKind::NOfM),
    }
}

pub fn stage_kind_message(kind: StageKind) -> pb::StageKind {
    match kind {
        StageKind::Single => pb::StageKind::Single,
        StageKind::Joint => pb::StageKind::Joint,
        StageKind::AnyOf => pb::StageKind::AnyOf,
        StageKind::NOfM => pb::StageKind::NOfM,
    }
}

pub fn application_status(status: pb::ApplicationStatus) -> Option<ApplicationStatus> {
    match status {
        pb::ApplicationStatus::Unspecified => None,
        pb::ApplicationStatus::InProgress => Some(ApplicationStatus::InProgress),
        pb::ApplicationStatus::Returned => Some(ApplicationStatus::Returned),
        pb::ApplicationStatus::Approved => Some(ApplicationStatus::Approved),
        pb::ApplicationStatus::Rejected => Some(ApplicationStatus::Rejected),
        pb::ApplicationStatus::Recalled => Some(ApplicationStatus::Recalled),
    }
}

fn application_status_message(status: ApplicationStatus) -> pb::ApplicationStatus {
    match status {
        ApplicationStatus::InProgress => pb::ApplicationStatus::InProgress,
        ApplicationStatus::Returned => pb::ApplicationStatus::Returned,
        ApplicationStatus::Approved => pb::ApplicationStatus::Approved,
        ApplicationStatus::Rejected => pb::ApplicationStatus::Rejected,
        ApplicationStatus::Recalled => pb::ApplicationStatus::Recalled,
    }
}

pub fn task_status(status: pb::TaskStatus) -> Option<TaskStatus> {
    match status {
        pb::TaskStatus::Unspecified => None,
        pb::TaskStatus::Pending => Some(TaskStatus::Pending),
        pb::TaskStatus::Approved => Some(TaskStatus::Approved),
        pb::TaskStatus::Rejected => Some(TaskStatus::Rejected),
        pb::TaskStatus::Returned => Some(TaskStatus::Returned),
        pb::TaskStatus::Transferred => Some(TaskStatus::Transferred),
        pb::TaskStatus::Cancelled => Some(TaskStatus::Cancelled),
    }
}

fn task_status_message(status: TaskStatus) -> pb::TaskStatus {
    match status {
        TaskStatus::Pending => pb::TaskStatus::Pending,
        TaskStatus::Approved => pb::TaskStatus::Approved,
        TaskStatus::Rejected => pb::TaskStatus::Rejected,
        TaskStatus::Returned => pb::TaskStatus::Returned,
        TaskStatus::Transferred => pb::TaskStatus::Transferred,
        TaskStatus::Cancelled => pb::TaskStatus::Cancelled,
    }
}

fn stage_status_message(status: StageStatus) -> pb::StageStatus {
    match status {
        StageStatus::Pending => pb::StageStatus::Pending,
        StageStatus::Active => pb::StageStatus::Active,
        StageStatus::Approved => pb::StageStatus::Approved,
        StageStatus::Rejected => pb::StageStatus::Rejected,
        StageStatus::Returned => pb::StageStatus::Returned,
        StageStatus::Cancelled => pb::StageStatus::Cancelled,
    }
}

pub fn id_document_type(value: common::IdDocumentType) -> Option<IdDocumentType> {
    match value {
        common::IdDocumentType::Unspecified => None,
        common::IdDocumentType::ResidentIdCard => Some(IdDocumentType::ResidentIdCard),
        common::IdDocumentType::Passport => Some(IdDocumentType::Passport),
        common::IdDocumentType::MainlandTravelPermit => Some(IdDocumentType::MainlandTravelPermit),
        common::IdDocumentType::ForeignPermanentResidentCard => {
            Some(IdDocumentType::ForeignPermanentResidentCard)
        }
    }
}

fn holder_message(holder: &Holder) -> common::Holder {
    use common::holder::Holder as Kind;
    common::Holder {
        holder: Some(match holder {
            Holder::Person {
                name,
                id_type,
                id_number,
            } => Kind::Person(common::Person {
                name: name.clone(),
                id_type: match id_type {
                    IdDocumentType::ResidentIdCard => common::IdDocumentType::ResidentIdCard,
                    IdDocumentType::Passport => common::IdDocumentType::Passport,
                    IdDocumentType::MainlandTravelPermit => {
                        common::IdDocumentType::MainlandTravelPermit
                    }
                    IdDocumentType::ForeignPermanentResidentCard => {
                        common::IdDocumentType::ForeignPermanentResidentCard
                    }
                } as i32,
                id_number: id_number.clone(),
            }),
            Holder::Organization {
                name,
                unified_social_credit_code,
            } => Kind::Organization(common::Organization {
                name: name.clone(),
                unified_social_credit_code: unified_social_credit_code.clone(),
            }),
        }),
    }
}

pub fn task_message(task: &Task) -> pb::Task {
    pb::Task {
        id: task.id.to_string(),
        application_id: task.application_id.to_string(),
        stage_key: task.stage_key.clone(),
        assignee: Some(task_assignee_message(&task.assignee)),
        status: task_status_message(task.status) as i32,
        acted_by: task.acted_by.as_ref().map(actor_message),
        comment: task.comment.clone(),
        origin: match task.origin {
            TaskOrigin::Definition => pb::TaskOrigin::Definition,
            TaskOrigin::AddedSigner => pb::TaskOrigin::AddedSigner,
            TaskOrigin::Transfer => pb::TaskOrigin::Transfer,
            TaskOrigin::Escalation => pb::TaskOrigin::Escalation,
        } as i32,
        create_time: Some(timestamp(task.created_at)),
        complete_time: time(task.completed_at),
        due_time: time(task.due_at),
    }
}

fn stage_message(stage: &StageInstance) -> pb::StageInstance {
    pb::StageInstance {
        key: stage.key.clone(),
        name: stage.name.clone(),
        kind: stage_kind_message(stage.kind) as i32,
        required_approvals: i32::try_from(stage.required_approvals).unwrap_or(i32::MAX),
        status: stage_status_message(stage.status) as i32,
        tasks: stage.tasks.iter().map(task_message).collect(),
        start_time: time(stage.started_at),
        due_time: time(stage.due_at),
        remind_time: time(stage.remind_at),
        complete_time: time(stage.completed_at),
        escalated: stage.escalated,
    }
}

pub fn application_message(app: &Application) -> pb::Application {
    pb::Application {
        id: app.id.to_string(),
        tenant: Some(tenant_message(&app.tenant)),
        service_item_id: app.service_item_id.to_string(),
        service_item_code: app.service_item_code.clone(),
        service_item_version: app.service_item_version,
        process_definition_id: app.process_definition_id.to_string(),
        process_version: app.process_version,
        applicant: Some(pb::Applicant {
            holder: app.applicant.holder.as_ref().map(holder_message),
            submitted_by: Some(actor_message(&app.applicant.submitted_by)),
            tenant: Some(tenant_message(&app.applicant.tenant)),
            contact: app.applicant.contact.clone(),
        }),
        form_data: Some(struct_from_json(&app.form_data)),
        materials: app
            .materials
            .iter()
            .map(|m| pb::SubmittedMaterial {
                material_code: m.material_code.clone(),
                document_uri: m.document_uri.clone(),
                sha256: m.sha256.clone(),
                media_type: m.media_type.clone(),
                size_bytes: m.size_bytes,
                file_name: m.file_name.clone(),
            })
            .collect(),
        origin: app.origin.as_ref().map(|o| pb::ExternalRef {
            service: o.service.clone(),
            kind: o.kind.clone(),
            id: o.id.clone(),
        }),
        assignee_bindings: app
            .assignee_bindings
            .iter()
            .map(|(slot, role)| (slot.clone(), department_role_message(role)))
            .collect(),
        status: application_status_message(app.status) as i32,
        current_stage_index: app
            .current_stage
            .and_then(|i| i32::try_from(i).ok())
            .unwrap_or(-1),
        stages: app.stages.iter().map(stage_message).collect(),
        certificate_type: app.certificate_type.clone().unwrap_or_default(),
        request_id: app.request_id.clone(),
        version: app.version,
        create_time: Some(timestamp(app.created_at)),
        update_time: Some(timestamp(app.updated_at)),
        complete_time: time(app.completed_at),
    }
}

pub fn history_entry_message(entry: &HistoryEntry) -> pb::HistoryEntry {
    use pb::history_entry::Detail;
    let detail = entry.detail.as_ref().map(|detail| match detail {
        HistoryDetail::Returned {
            stage_key,
            requested_materials,
        } => Detail::Returned(pb::ReturnDetail {
            target: Some(match stage_key {
                Some(key) => pb::return_detail::Target::StageKey(key.clone()),
                None => pb::return_detail::Target::Applicant(true),
            }),
            requested_materials: requested_materials.clone(),
        }),
        HistoryDetail::SignerAdded {
            assignee,
            new_task_id,
        } => Detail::SignerAdded(pb::SignerAddedDetail {
            assignee: Some(task_assignee_message(assignee)),
            new_task_id: new_task_id.to_string(),
        }),
        HistoryDetail::Transferred {
            from,
            to,
            new_task_id,
        } => Detail::Transferred(pb::TransferDetail {
            from: Some(task_assignee_message(from)),
            to: Some(task_assignee_message(to)),
            new_task_id: new_task_id.to_string(),
        }),
        HistoryDetail::Escalated {
            due_at,
            escalated_to,
            new_task_id,
        } => Detail::Escalated(pb::EscalationDetail {
            due_time: Some(timestamp(*due_at)),
            escalated_to: escalated_to.as_ref().map(department_role_message),
            new_task_id: new_task_id.map(|id| id.to_string()).unwrap_or_default(),
        }),
    });
    pb::HistoryEntry {
        sequence: entry.sequence,
        application_id: entry.application_id.to_string(),
        action: match entry.action {
            HistoryAction::Submitted => pb::HistoryAction::Submitted,
            HistoryAction::Approved => pb::HistoryAction::Approved,
            HistoryAction::Rejected => pb::HistoryAction::Rejected,
            HistoryAction::Returned => pb::HistoryAction::Returned,
            HistoryAction::Resubmitted => pb::HistoryAction::Resubmitted,
            HistoryAction::Recalled => pb::HistoryAction::Recalled,
            HistoryAction::SignerAdded => pb::HistoryAction::SignerAdded,
            HistoryAction::Transferred => pb::HistoryAction::Transferred,
            HistoryAction::StageCompleted => pb::HistoryAction::StageCompleted,
            HistoryAction::Reminded => pb::HistoryAction::Reminded,
            HistoryAction::Escalated => pb::HistoryAction::Escalated,
            HistoryAction::Completed => pb::HistoryAction::Completed,
        } as i32,
        actor: Some(actor_message(&entry.actor)),
        stage_key: entry.stage_key.clone(),
        task_id: entry.task_id.map(|id| id.to_string()).unwrap_or_default(),
        comment: entry.comment.clone(),
        time: Some(timestamp(entry.time)),
        detail,
    }
}

/// Microseconds of a protobuf duration, saturating; `None` when unset.
pub fn duration_micros(duration: Option<&prost_types::Duration>) -> Option<i64> {
    let duration = duration?;
    let micros = i128::from(duration.seconds) * 1_000_000 + i128::from(duration.nanos / 1_000);
    Some(i64::try_from(micros).unwrap_or(if micros < 0 { i64::MIN } else { i64::MAX }))
}

pub fn duration_message(micros: i64) -> prost_types::Duration {
    prost_types::Duration {
        seconds: micros / 1_000_000,
        nanos: ((micros % 1_000_000) * 1_000) as i32,
    }
}
