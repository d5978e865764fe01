//! The values an application is made of, as stored (JSON) and as the API
//! shows them.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;
use zhongtai_kit::{Actor, TenantId};

use crate::domain::assignee::{Assignee, DepartmentRole, TaskAssignee};
use crate::domain::process::{StageKind, StageSla};
use crate::domain::service_item::{FormField, ItemKind, Material};

/// Where an application stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ApplicationStatus {
    InProgress,
    Returned,
    Approved,
    Rejected,
    Recalled,
}

impl ApplicationStatus {
    /// The stored form, also used in messages.
    pub fn name(self) -> &'static str {
        match self {
            Self::InProgress => "in_progress",
            Self::Returned => "returned",
            Self::Approved => "approved",
            Self::Rejected => "rejected",
            Self::Recalled => "recalled",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        [
            Self::InProgress,
            Self::Returned,
            Self::Approved,
            Self::Rejected,
            Self::Recalled,
        ]
        .into_iter()
        .find(|s| s.name() == name)
    }

    pub fn is_final(self) -> bool {
        matches!(self, Self::Approved | Self::Rejected | Self::Recalled)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StageStatus {
    Pending,
    Active,
    Approved,
    Rejected,
    Returned,
    Cancelled,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TaskStatus {
    Pending,
    Approved,
    Rejected,
    Returned,
    Transferred,
    Cancelled,
}

impl TaskStatus {
    /// The stored form.
    pub fn name(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Approved => "approved",
            Self::Rejected => "rejected",
            Self::Returned => "returned",
            Self::Transferred => "transferred",
            Self::Cancelled => "cancelled",
        }
    }

    /// Whether the assignee decided it (rather than handing it on).
    pub fn is_decision(self) -> bool {
        matches!(self, Self::Approved | Self::Rejected | Self::Returned)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TaskOrigin {
    Definition,
    AddedSigner,
    Transfer,
    Escalation,
}

/// One assignee's piece of work in a stage.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Task {
    pub id: Uuid,
    pub application_id: Uuid,
    pub stage_key: String,
    pub assignee: TaskAssignee,
    pub status: TaskStatus,
    pub acted_by: Option<Actor>,
    pub comment: String,
    pub origin: TaskOrigin,
    pub created_at: DateTime<Utc>,
    pub completed_at: Option<DateTime<Utc>>,
    pub due_at: Option<DateTime<Utc>>,
    /// Which activation of its stage created it.
    pub activation: u32,
}

/// A stage of one application, with the definition it runs on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StageInstance {
    pub key: String,
    pub name: String,
    pub kind: StageKind,
    pub required_approvals: u32,
    /// As the process version names them (slots unresolved).
    pub assignees: Vec<Assignee>,
    pub sla: Option<StageSla>,
    pub status: StageStatus,
    pub tasks: Vec<Task>,
    pub started_at: Option<DateTime<Utc>>,
    pub due_at: Option<DateTime<Utc>>,
    pub remind_at: Option<DateTime<Utc>>,
    pub completed_at: Option<DateTime<Utc>>,
    pub escalated: bool,
    /// Whether the reminder of the current activation fired.
    pub reminded: bool,
    /// How often the stage became active (a return activates it again).
    pub activation: u32,
}

/// A person or organisation applying.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Holder {
    Person {
        name: String,
        id_type: IdDocumentType,
        id_number: String,
    },
    Organization {
        name: String,
        unified_social_credit_code: String,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IdDocumentType {
    ResidentIdCard,
    Passport,
    MainlandTravelPermit,
    ForeignPermanentResidentCard,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Applicant {
    pub holder: Option<Holder>,
    pub submitted_by: Actor,
    pub tenant: TenantId,
    pub contact: String,
}

/// A document handed in for a material.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubmittedMaterial {
    pub material_code: String,
    pub document_uri: String,
    pub sha256: String,
    pub media_type: String,
    pub size_bytes: i64,
    pub file_name: String,
}

/// What raised an application on behalf of another service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExternalRef {
    pub service: String,
    pub kind: String,
    pub id: String,
}

/// What the item asked for when the application was submitted, so
/// resubmissions are checked against the same rules.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ItemTerms {
    pub kind: ItemKind,
    pub materials: Vec<Material>,
    pub form_fields: Vec<FormField>,
}

/// The aggregate: saved as one document, with optimistic concurrency on
/// `version`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Application {
    pub id: Uuid,
    /// The item's tenant, which handles the application.
    pub tenant: TenantId,
    pub service_item_id: Uuid,
    pub service_item_code: String,
    pub service_item_version: i64,
    pub process_definition_id: Uuid,
    pub process_version: i64,
    pub applicant: Applicant,
    pub form_data: serde_json::Map<String, serde_json::Value>,
    pub materials: Vec<SubmittedMaterial>,
    pub origin: Option<ExternalRef>,
    pub assignee_bindings: BTreeMap<String, DepartmentRole>,
    pub status: ApplicationStatus,
    pub current_stage: Option<usize>,
    pub stages: Vec<StageInstance>,
    pub certificate_type: Option<String>,
    pub request_id: String,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub completed_at: Option<DateTime<Utc>>,
    pub terms: ItemTerms,
    /// Stage that sent the application back to the applicant.
    pub returned_from: Option<usize>,
    /// Materials the applicant was asked to hand in again.
    pub requested_materials: Vec<String>,
    /// Entries in the history so far (the last sequence).
    pub history_len: i64,
}

impl Application {
    /// Every task of every stage.
    pub fn tasks(&self) -> impl Iterator<Item = &Task> {
        self.stages.iter().flat_map(|s| s.tasks.iter())
    }

    pub fn task(&self, id: Uuid) -> Option<&Task> {
        self.tasks().find(|t| t.id == id)
    }

    /// The next SLA moment still to fire: the reminder, else the deadline
    /// of the active stage; `None` when nothing is due.
    pub fn next_reminder(&self) -> Option<DateTime<Utc>> {
        let stage = self.active_stage()?;
        if stage.reminded {
            None
        } else {
            stage.remind_at
        }
    }

    /// The deadline of the active stage, until it was escalated.
    pub fn next_escalation(&self) -> Option<DateTime<Utc>> {
        let stage = self.active_stage()?;
        if stage.escalated { None } else { stage.due_at }
    }

    pub fn active_stage(&self) -> Option<&StageInstance> {
        match self.status {
            ApplicationStatus::InProgress => self.stages.get(self.current_stage?),
            _ => None,
        }
    }

    /// Tenants that take part: the handling tenant, the applicant's, and
    /// every department-role assignee's. Users take part by subject.
    pub fn parties(&self) -> (Vec<TenantId>, Vec<String>) {
        let mut tenants = vec![self.tenant.clone(), self.applicant.tenant.clone()];
        let mut users = Vec::new();
        for task in self.tasks() {
            match &task.assignee {
                TaskAssignee::DepartmentRole(role) => tenants.push(role.tenant.clone()),
                TaskAssignee::User(user) => users.push(user.clone()),
            }
        }
        let mut seen = std::collections::HashSet::new();
        tenants.retain(|t| seen.insert(t.key()));
        users.sort();
        users.dedup();
        (tenants, users)
    }
}
