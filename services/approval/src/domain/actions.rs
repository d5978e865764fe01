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

use super::action_request::{ActionRequest, ReturnDraft, created_task, new_task_of, task_assignee};
use super::application::{
    Acting, Application, HistoryEntry, MaterialDraft, ReturnTarget, Task, Transition,
};
use super::applications::Applications;
use super::assignee::AssigneeDraft;
use super::error::ApprovalError;
use super::ports::Saved;

/// Attempts of an action that keeps losing to concurrent changes.
const MAX_ATTEMPTS: usize = 5;

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
