//! What every action on an application carries (idempotency key,
//! application, task, comment), checked at once; and the small
//! translations the actions share.

use uuid::Uuid;

use super::application::{Application, HistoryDetail, HistoryEntry, Task};
use super::assignee::{AssigneeDraft, TaskAssignee};
use super::error::ApprovalError;
use super::service_items::check_request_id;

/// Longest comment or reason.
pub const MAX_COMMENT_CHARS: usize = 2000;

/// What every action request carries.
#[derive(Debug, Clone, Default)]
pub struct ActionRequest {
    pub request_id: String,
    pub application_id: String,
    /// Empty: the caller's only pending task.
    pub task_id: String,
    pub comment: String,
}

/// Where a send-back goes, as the request says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReturnDraft {
    Unset,
    Stage(String),
    Applicant,
}

pub(super) struct Checked {
    pub application_id: Uuid,
    pub task_id: Option<Uuid>,
}

impl ActionRequest {
    /// Checks the common fields; `comment_required` for rejections and
    /// returns. `more` adds the action's own violations.
    pub(super) fn check(
        &self,
        comment_required: bool,
        more: Vec<(String, String)>,
    ) -> Result<Checked, ApprovalError> {
        let mut violations = match check_request_id(&self.request_id) {
            Err(ApprovalError::Invalid(v)) => v,
            _ => Vec::new(),
        };
        let application_id = Uuid::parse_str(&self.application_id);
        if application_id.is_err() {
            violations.push(("application_id".into(), "must be a UUID".into()));
        }
        let task_id = match self.task_id.as_str() {
            "" => Ok(None),
            id => Uuid::parse_str(id).map(Some),
        };
        if task_id.is_err() {
            violations.push(("task_id".into(), "must be a UUID or empty".into()));
        }
        if comment_required && self.comment.trim().is_empty() {
            violations.push(("comment".into(), "a reason is required".into()));
        } else if self.comment.chars().count() > MAX_COMMENT_CHARS {
            violations.push((
                "comment".into(),
                format!("must be at most {MAX_COMMENT_CHARS} characters"),
            ));
        }
        violations.extend(more);
        match (application_id, task_id) {
            (Ok(application_id), Ok(task_id)) if violations.is_empty() => Ok(Checked {
                application_id,
                task_id,
            }),
            _ => Err(ApprovalError::Invalid(violations)),
        }
    }
}

/// The assignee of an added or transferred task, or its violations.
pub(super) fn task_assignee(
    draft: &AssigneeDraft,
) -> (Option<TaskAssignee>, Vec<(String, String)>) {
    match draft.parse_task_assignee() {
        Ok(assignee) => (Some(assignee), Vec::new()),
        Err(problems) => (
            None,
            problems
                .into_iter()
                .map(|p| (format!("assignee.{}", p.field), p.message))
                .collect(),
        ),
    }
}

/// The task an earlier add-signer or transfer request created.
pub(super) fn new_task_of(
    _: &Application,
    entries: &[HistoryEntry],
) -> Result<Uuid, ApprovalError> {
    entries
        .iter()
        .find_map(|e| match &e.detail {
            Some(HistoryDetail::SignerAdded { new_task_id, .. })
            | Some(HistoryDetail::Transferred { new_task_id, .. }) => Some(*new_task_id),
            _ => None,
        })
        .ok_or_else(|| {
            ApprovalError::RequestIdReused(
                entries
                    .first()
                    .map(|e| e.request_id.clone())
                    .unwrap_or_default(),
            )
        })
}

pub(super) fn created_task(application: &Application, id: Uuid) -> Result<Task, ApprovalError> {
    application
        .task(id)
        .cloned()
        .ok_or_else(|| ApprovalError::Storage(format!("task {id} missing from its application")))
}
