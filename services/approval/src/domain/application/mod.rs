//! Applications (办件): one run of a service item's process, as a pure state
//! machine. Every transition bumps the version, appends one history entry
//! and yields a [`Transition`] carrying the application as it stands right
//! after it, from which the store writes one event.
//!
//! - [`submission`]: checking what an applicant hands in, and the first stage;
//! - [`decisions`]: approving and rejecting tasks, and how a stage decides;
//! - [`routing`]: sending back, resubmitting, recalling;
//! - [`signers`]: adding a signer and transferring a task;
//! - [`timers`]: SLA reminders and escalations.

mod checks;
mod decisions;
mod form;
mod history;
mod routing;
mod signers;
mod submission;
mod timers;
mod types;

#[cfg(test)]
mod tests;

pub use checks::{
    DEFAULT_MAX_DOCUMENT_BYTES, MAX_BINDINGS, MAX_FORM_DATA_BYTES, MAX_MATERIALS_PER_REQUEST,
};
pub use decisions::StageOutcome;
pub use history::*;
pub use routing::ReturnTarget;
pub use submission::{
    ApplicantDraft, HolderDraft, ItemSelector, MaterialDraft, OriginDraft, SubmissionDraft,
};
pub use types::*;

use chrono::{DateTime, Utc};
use uuid::Uuid;
use zhongtai_kit::{Actor, Caller, Role};

use super::assignee::TaskAssignee;
use super::error::ApprovalError;

/// Who acts, when, and under which idempotency key.
#[derive(Debug, Clone)]
pub struct Acting<'a> {
    /// The authenticated caller; `None` for the platform's own timers.
    pub caller: Option<&'a Caller>,
    pub actor: Actor,
    pub request_id: String,
    pub now: DateTime<Utc>,
}

impl<'a> Acting<'a> {
    /// `caller` acting now (at database precision).
    pub fn caller(caller: &'a Caller, request_id: &str, now: DateTime<Utc>) -> Self {
        Self {
            caller: Some(caller),
            actor: Actor::of(caller),
            request_id: request_id.to_string(),
            now,
        }
    }

    /// The platform itself, e.g. the SLA timer.
    pub fn system(subject: &str, now: DateTime<Utc>) -> Self {
        Self {
            caller: None,
            actor: Actor::system(subject),
            request_id: String::new(),
            now,
        }
    }

    fn caller_or_denied(&self) -> Result<&'a Caller, ApprovalError> {
        self.caller.ok_or_else(|| ApprovalError::Denied {
            reason: "NOT_A_CALLER",
            target: String::new(),
            message: "this action needs an authenticated caller".into(),
        })
    }
}

impl Application {
    /// Whether `caller` acts for the applicant: any operator or admin of the
    /// applicant's tenant (a department app acts for its users).
    pub fn is_applicant(&self, caller: &Caller) -> bool {
        caller.tenant == self.applicant.tenant
            && caller.has_any_role(&[Role::Operator, Role::Admin])
    }

    pub fn require_applicant(&self, caller: &Caller) -> Result<(), ApprovalError> {
        if self.is_applicant(caller) {
            return Ok(());
        }
        Err(ApprovalError::Denied {
            reason: "NOT_APPLICANT",
            target: format!("application/{}", self.id),
            message: format!(
                "{} does not act for the applicant {} (an operator or admin of it may)",
                caller.describe(),
                self.applicant.tenant
            ),
        })
    }

    /// The active stage, or FAILED_PRECONDITION saying why there is none.
    pub fn active_stage_index(&self) -> Result<usize, ApprovalError> {
        match (self.status, self.current_stage) {
            (ApplicationStatus::InProgress, Some(index)) if index < self.stages.len() => Ok(index),
            (ApplicationStatus::Returned, _) => Err(ApprovalError::FailedPrecondition(format!(
                "application {} waits for the applicant to resubmit",
                self.id
            ))),
            (status, _) => Err(ApprovalError::FailedPrecondition(format!(
                "application {} is {}",
                self.id,
                status.name()
            ))),
        }
    }

    /// Records a transition: bumps the version, appends the history entry
    /// with the next sequence, and keeps a snapshot for its event.
    fn record(
        &mut self,
        kind: TransitionKind,
        acting: &Acting<'_>,
        entry: EntryDraft,
        out: &mut Vec<Transition>,
    ) {
        self.version += 1;
        self.history_len += 1;
        self.updated_at = acting.now;
        let entry = HistoryEntry {
            sequence: self.history_len,
            application_id: self.id,
            action: entry.action,
            actor: acting.actor.clone(),
            stage_key: entry.stage_key,
            task_id: entry.task_id,
            comment: entry.comment,
            time: acting.now,
            detail: entry.detail,
            request_id: acting.request_id.clone(),
        };
        out.push(Transition {
            kind,
            entry,
            application: self.clone(),
        });
    }

    /// Activates stage `index` afresh: new tasks for its assignees (slots
    /// through the bindings), its SLA clock restarted.
    fn activate(&mut self, index: usize, now: DateTime<Utc>) -> Result<(), ApprovalError> {
        let application_id = self.id;
        let bindings = self.assignee_bindings.clone();
        let stage = self
            .stages
            .get_mut(index)
            .ok_or_else(|| ApprovalError::Storage(format!("stage {index} out of range")))?;
        stage.activation += 1;
        stage.status = StageStatus::Active;
        stage.started_at = Some(now);
        stage.completed_at = None;
        stage.reminded = false;
        stage.escalated = false;
        stage.due_at = stage.sla.as_ref().map(|sla| now + sla.duration());
        stage.remind_at = match (&stage.sla, stage.due_at) {
            (Some(sla), Some(due)) => sla.remind_before().map(|before| due - before),
            _ => None,
        };
        let mut tasks = Vec::new();
        for assignee in &stage.assignees {
            let assignee = match assignee {
                super::assignee::Assignee::DepartmentRole(role) => {
                    TaskAssignee::DepartmentRole(role.clone())
                }
                super::assignee::Assignee::User(user) => TaskAssignee::User(user.clone()),
                super::assignee::Assignee::Slot(slot) => match bindings.get(slot) {
                    Some(role) => TaskAssignee::DepartmentRole(role.clone()),
                    None => {
                        return Err(ApprovalError::FailedPrecondition(format!(
                            "slot {slot} of stage {} is not bound",
                            stage.key
                        )));
                    }
                },
            };
            tasks.push(stage.new_task(application_id, assignee, TaskOrigin::Definition, now));
        }
        stage.tasks.extend(tasks);
        self.status = ApplicationStatus::InProgress;
        self.current_stage = Some(index);
        Ok(())
    }

    /// Ends the application in `status`: nothing is active any more.
    fn finish(&mut self, status: ApplicationStatus, now: DateTime<Utc>) {
        self.status = status;
        self.current_stage = None;
        self.completed_at = Some(now);
    }
}

impl StageInstance {
    /// A pending task of the current activation.
    fn new_task(
        &self,
        application_id: Uuid,
        assignee: TaskAssignee,
        origin: TaskOrigin,
        now: DateTime<Utc>,
    ) -> Task {
        Task {
            id: Uuid::now_v7(),
            application_id,
            stage_key: self.key.clone(),
            assignee,
            status: TaskStatus::Pending,
            acted_by: None,
            comment: String::new(),
            origin,
            created_at: now,
            completed_at: None,
            due_at: self.due_at,
            activation: self.activation,
        }
    }

    /// Tasks of the current activation (earlier rounds stay as history).
    pub fn current_tasks(&self) -> impl Iterator<Item = &Task> {
        self.tasks
            .iter()
            .filter(|t| t.activation == self.activation)
    }

    /// Cancels every pending task (the stage was decided or left).
    fn cancel_pending(&mut self, now: DateTime<Utc>) {
        for task in &mut self.tasks {
            if task.status == TaskStatus::Pending {
                task.status = TaskStatus::Cancelled;
                task.completed_at = Some(now);
            }
        }
    }

    /// Whether `assignee` already holds a pending task here.
    fn has_pending(&self, assignee: &TaskAssignee) -> bool {
        self.current_tasks()
            .any(|t| t.status == TaskStatus::Pending && t.assignee == *assignee)
    }
}
