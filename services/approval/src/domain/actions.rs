//! Acting on running applications: approve, reject, send back, resubmit,
//! recall, add a signer, transfer a task.
//!
//! Each action reads the application, applies the state machine and saves
//! it with a version check. A concurrent change makes the save lose; the
//! action is then tried again on the fresh state (a few times), because the
//! rules decide again on what is stored — two assignees of a joint stage
//! approving at once both succeed. Each action is idempotent on its request
//! id: a repeat by the same actor returns the application as it is.

use chrono::{SubsecRound, Utc};
use uuid::Uuid;
use zhongtai_kit::{Caller, audit_trail};

use super::application::{
    Acting, Application, HistoryDetail, HistoryEntry, MaterialDraft, ReturnTarget, Task, Transition,
};
use super::applications::Applications;
use super::assignee::AssigneeDraft;
use super::error::ApprovalError;
use super::ports::Saved;
use super::service_items::check_request_id;

/// Attempts of an action that keeps losing to concurrent changes.
const MAX_ATTEMPTS: usize = 5;
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

struct Checked {
    application_id: Uuid,
    task_id: Option<Uuid>,
}

impl ActionRequest {
    /// Checks the common fields; `comment_required` for rejections and
    /// returns. `more` adds the action's own violations.
    fn check(
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

type Step<'s, T> = dyn Fn(&mut Application, &Acting<'_>) -> Result<(Vec<Transition>, T), ApprovalError>
    + Send
    + Sync
    + 's;
type Repeat<'s, T> =
    dyn Fn(&Application, &[HistoryEntry]) -> Result<T, ApprovalError> + Send + Sync + 's;

impl Applications {
    pub async fn approve(
        &self,
        caller: &Caller,
        request: &ActionRequest,
    ) -> Result<Application, ApprovalError> {
        let checked = request.check(false, Vec::new())?;
        let step = |app: &mut Application, acting: &Acting<'_>| {
            Ok((app.approve(acting, checked.task_id, &request.comment)?, ()))
        };
        self.act(
            caller,
            request,
            checked.application_id,
            "approve",
            &step,
            &|_, _| Ok(()),
        )
        .await
        .map(|(app, ())| app)
    }

    pub async fn reject(
        &self,
        caller: &Caller,
        request: &ActionRequest,
    ) -> Result<Application, ApprovalError> {
        let checked = request.check(true, Vec::new())?;
        let step = |app: &mut Application, acting: &Acting<'_>| {
            Ok((app.reject(acting, checked.task_id, &request.comment)?, ()))
        };
        self.act(
            caller,
            request,
            checked.application_id,
            "reject",
            &step,
            &|_, _| Ok(()),
        )
        .await
        .map(|(app, ())| app)
    }

    /// Sends the application back to an earlier stage or the applicant.
    pub async fn send_back(
        &self,
        caller: &Caller,
        request: &ActionRequest,
        target: &ReturnDraft,
        requested_materials: &[String],
    ) -> Result<Application, ApprovalError> {
        let mut more = Vec::new();
        let target = match target {
            ReturnDraft::Unset => {
                more.push(("target".into(), "set stage_key or applicant".into()));
                None
            }
            ReturnDraft::Stage(_) if !requested_materials.is_empty() => {
                more.push((
                    "requested_materials".into(),
                    "only a return to the applicant requests materials".into(),
                ));
                None
            }
            ReturnDraft::Stage(key) => Some(ReturnTarget::Stage(key.clone())),
            ReturnDraft::Applicant => Some(ReturnTarget::Applicant {
                requested_materials: requested_materials.to_vec(),
            }),
        };
        let checked = request.check(true, more)?;
        let Some(target) = target else {
            return Err(ApprovalError::Storage("unchecked return target".into()));
        };
        let step = |app: &mut Application, acting: &Acting<'_>| {
            Ok((
                app.send_back(acting, checked.task_id, &request.comment, &target)?,
                (),
            ))
        };
        self.act(
            caller,
            request,
            checked.application_id,
            "return",
            &step,
            &|_, _| Ok(()),
        )
        .await
        .map(|(app, ())| app)
    }

    /// The applicant hands a returned application in again.
    pub async fn resubmit(
        &self,
        caller: &Caller,
        request: &ActionRequest,
        form_data: Option<serde_json::Map<String, serde_json::Value>>,
        materials: &[MaterialDraft],
    ) -> Result<Application, ApprovalError> {
        let checked = request.check(false, Vec::new())?;
        let step = |app: &mut Application, acting: &Acting<'_>| {
            Ok((
                app.resubmit(acting, form_data.clone(), materials, &request.comment)?,
                (),
            ))
        };
        self.act(
            caller,
            request,
            checked.application_id,
            "resubmit",
            &step,
            &|_, _| Ok(()),
        )
        .await
        .map(|(app, ())| app)
    }

    /// The applicant withdraws the application.
    pub async fn recall(
        &self,
        caller: &Caller,
        request: &ActionRequest,
    ) -> Result<Application, ApprovalError> {
        let checked = request.check(false, Vec::new())?;
        let step = |app: &mut Application, acting: &Acting<'_>| {
            Ok((app.recall(acting, &request.comment)?, ()))
        };
        self.act(
            caller,
            request,
            checked.application_id,
            "recall",
            &step,
            &|_, _| Ok(()),
        )
        .await
        .map(|(app, ())| app)
    }

    /// Adds a signer to the active stage; returns the new task too.
    pub async fn add_signer(
        &self,
        caller: &Caller,
        request: &ActionRequest,
        assignee: &AssigneeDraft,
    ) -> Result<(Application, Task), ApprovalError> {
        let (assignee, more) = task_assignee(assignee);
        let checked = request.check(false, more)?;
        let Some(assignee) = assignee else {
            return Err(ApprovalError::Storage("unchecked assignee".into()));
        };
        let step = |app: &mut Application, acting: &Acting<'_>| {
            let (transitions, task_id) =
                app.add_signer(acting, assignee.clone(), &request.comment)?;
            Ok((transitions, task_id))
        };
        let (app, task_id) = self
            .act(
                caller,
                request,
                checked.application_id,
                "add_signer",
                &step,
                &new_task_of,
            )
            .await?;
        let task = created_task(&app, task_id)?;
        Ok((app, task))
    }

    /// Hands the caller's task to someone else; returns the new task too.
    pub async fn transfer(
        &self,
        caller: &Caller,
        request: &ActionRequest,
        assignee: &AssigneeDraft,
    ) -> Result<(Application, Task), ApprovalError> {
        let (assignee, more) = task_assignee(assignee);
        let checked = request.check(false, more)?;
        let Some(assignee) = assignee else {
            return Err(ApprovalError::Storage("unchecked assignee".into()));
        };
        let step = |app: &mut Application, acting: &Acting<'_>| {
            app.transfer(acting, checked.task_id, assignee.clone(), &request.comment)
        };
        let (app, task_id) = self
            .act(
                caller,
                request,
                checked.application_id,
                "transfer",
                &step,
                &new_task_of,
            )
            .await?;
        let task = created_task(&app, task_id)?;
        Ok((app, task))
    }

    /// Reads, applies `step`, saves; again on a lost race. A request id the
    /// caller already used on this application answers from `repeat`.
    async fn act<T>(
        &self,
        caller: &Caller,
        request: &ActionRequest,
        id: Uuid,
        action: &str,
        step: &Step<'_, T>,
        repeat: &Repeat<'_, T>,
    ) -> Result<(Application, T), ApprovalError> {
        for attempt in 1..=MAX_ATTEMPTS {
            let current = self
                .visible(caller, "application_id", &request.application_id)
                .await?;
            let earlier: Vec<HistoryEntry> = self
                .repository
                .entries_of_request(&current, &request.request_id)
                .await?
                .into_iter()
                .filter(|e| {
                    e.actor.subject == caller.subject
                        && e.actor.tenant.as_ref() == Some(&caller.tenant)
                })
                .collect();
            if !earlier.is_empty() {
                let value = repeat(&current, &earlier)?;
                return Ok((current, value));
            }
            let mut next = current.clone();
            let acting = Acting::caller(caller, &request.request_id, Utc::now().trunc_subsecs(6));
            let (transitions, value) = step(&mut next, &acting)?;
            let audit = audit_trail::allowed(
                caller,
                &format!("approval.application.{action}"),
                format!("application/{id}"),
            );
            match self
                .repository
                .save(&next, current.version, &transitions, &audit)
                .await?
            {
                Saved::Saved => {
                    tracing::info!(
                        application = %id,
                        action,
                        status = next.status.name(),
                        version = next.version,
                        "application changed"
                    );
                    return Ok((next, value));
                }
                Saved::Conflict => {
                    tracing::debug!(application = %id, action, attempt, "lost a race; trying again");
                }
            }
        }
        Err(ApprovalError::VersionConflict {
            kind: "application",
            id: id.to_string(),
        })
    }
}

/// The assignee of an added or transferred task, or its violations.
fn task_assignee(
    draft: &AssigneeDraft,
) -> (Option<super::assignee::TaskAssignee>, Vec<(String, String)>) {
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
fn new_task_of(_: &Application, entries: &[HistoryEntry]) -> Result<Uuid, ApprovalError> {
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

fn created_task(application: &Application, id: Uuid) -> Result<Task, ApprovalError> {
    application
        .task(id)
        .cloned()
        .ok_or_else(|| ApprovalError::Storage(format!("task {id} missing from its application")))
}
