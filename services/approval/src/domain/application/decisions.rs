//! Deciding tasks, and how a stage decides from its tasks: SINGLE and JOINT
//! need every task approved and fall at the first rejection, ANY_OF follows
//! the first decision, N_OF_M is approved at n approvals and rejected once n
//! cannot be reached. A task created by escalation decides the stage alone:
//! whoever the overdue stage escalated to takes the decision over.

use uuid::Uuid;

use super::{
    Acting, Application, ApplicationStatus, EntryDraft, HistoryAction, StageInstance, StageStatus,
    TaskOrigin, TaskStatus, Transition, TransitionKind,
};
use crate::domain::error::ApprovalError;
use crate::domain::process::StageKind;

/// Where a stage stands after a decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StageOutcome {
    Open,
    Approved,
    Rejected,
}

impl StageInstance {
    /// What the current activation's tasks decide under the stage's rule.
    pub fn outcome(&self) -> StageOutcome {
        // Handed-on and withdrawn tasks no longer count; their successors do.
        let counted: Vec<_> = self
            .current_tasks()
            .filter(|t| !matches!(t.status, TaskStatus::Transferred | TaskStatus::Cancelled))
            .collect();
        for task in counted
            .iter()
            .filter(|t| t.origin == TaskOrigin::Escalation)
        {
            match task.status {
                TaskStatus::Approved => return StageOutcome::Approved,
                TaskStatus::Rejected => return StageOutcome::Rejected,
                _ => {}
            }
        }
        let regular: Vec<_> = counted
            .iter()
            .filter(|t| t.origin != TaskOrigin::Escalation)
            .collect();
        let approved = regular
            .iter()
            .filter(|t| t.status == TaskStatus::Approved)
            .count();
        let rejected = regular
            .iter()
            .filter(|t| t.status == TaskStatus::Rejected)
            .count();
        match self.kind {
            StageKind::Single | StageKind::Joint => {
                if rejected > 0 {
                    StageOutcome::Rejected
                } else if !regular.is_empty() && approved == regular.len() {
                    StageOutcome::Approved
                } else {
                    StageOutcome::Open
                }
            }
            StageKind::AnyOf => {
                if approved > 0 {
                    StageOutcome::Approved
                } else if rejected > 0 {
                    StageOutcome::Rejected
                } else {
                    StageOutcome::Open
                }
            }
            StageKind::NOfM => {
                let needed = self.required_approvals as usize;
                if approved >= needed {
                    StageOutcome::Approved
                } else if regular.len() - rejected < needed {
                    StageOutcome::Rejected
                } else {
                    StageOutcome::Open
                }
            }
        }
    }
}

impl Application {
    /// The caller's pending task in the active stage: the named one, or the
    /// only one it holds. Returns (stage index, task index).
    pub fn select_task(
        &self,
        acting: &Acting<'_>,
        task_id: Option<Uuid>,
    ) -> Result<(usize, usize), ApprovalError> {
        let caller = acting.caller_or_denied()?;
        let stage_index = self.active_stage_index()?;
        let stage = &self.stages[stage_index];
        let not_assignee = || ApprovalError::Denied {
            reason: "NOT_ASSIGNEE",
            target: format!("application/{}", self.id),
            message: format!(
                "{} is not an assignee of this task of application {}",
                caller.describe(),
                self.id
            ),
        };
        match task_id {
            Some(id) => {
                let task = self
                    .task(id)
                    .ok_or_else(|| ApprovalError::TaskNotFound(id.to_string()))?;
                if !task.assignee.matches(caller) {
                    return Err(not_assignee());
                }
                let position = stage.tasks.iter().position(|t| t.id == id);
                match position {
                    Some(index)
                        if task.status == TaskStatus::Pending
                            && task.activation == stage.activation =>
                    {
                        Ok((stage_index, index))
                    }
                    _ if task.status != TaskStatus::Pending => {
                        Err(ApprovalError::FailedPrecondition(format!(
                            "task {id} is already {}",
                            task.status.name()
                        )))
                    }
                    _ => Err(ApprovalError::FailedPrecondition(format!(
                        "task {id} is not in the active stage {}",
                        stage.key
                    ))),
                }
            }
            None => {
                let mine: Vec<usize> = stage
                    .tasks
                    .iter()
                    .enumerate()
                    .filter(|(_, t)| t.activation == stage.activation && t.assignee.matches(caller))
                    .map(|(i, _)| i)
                    .collect();
                if mine.is_empty() {
                    return Err(not_assignee());
                }
                let pending: Vec<usize> = mine
                    .into_iter()
                    .filter(|i| stage.tasks[*i].status == TaskStatus::Pending)
                    .collect();
                match pending.as_slice() {
                    [] => Err(ApprovalError::FailedPrecondition(format!(
                        "{} has no pending task in stage {}",
                        caller.describe(),
                        stage.key
                    ))),
                    [only] => Ok((stage_index, *only)),
                    several => Err(ApprovalError::invalid(
                        "task_id",
                        format!(
                            "you hold {} pending tasks in stage {}; name one",
                            several.len(),
                            stage.key
                        ),
                    )),
                }
            }
        }
    }

    /// Approves the caller's task; completes the stage, and the application
    /// after the last stage, when the stage's rule is met.
    pub fn approve(
        &mut self,
        acting: &Acting<'_>,
        task_id: Option<Uuid>,
        comment: &str,
    ) -> Result<Vec<Transition>, ApprovalError> {
        let (stage_index, task_index) = self.select_task(acting, task_id)?;
        let mut out = Vec::new();
        let stage = &mut self.stages[stage_index];
        let task = &mut stage.tasks[task_index];
        task.status = TaskStatus::Approved;
        task.acted_by = Some(acting.actor.clone());
        task.comment = comment.to_string();
        task.completed_at = Some(acting.now);
        let entry = EntryDraft::new(HistoryAction::Approved)
            .stage(&stage.key)
            .task(task.id)
            .comment(comment);
        self.record(TransitionKind::TaskApproved, acting, entry, &mut out);
        self.settle_stage(stage_index, acting, &mut out)?;
        Ok(out)
    }

    /// Rejects through the caller's task; the application ends REJECTED
    /// when the stage can no longer be approved.
    pub fn reject(
        &mut self,
        acting: &Acting<'_>,
        task_id: Option<Uuid>,
        comment: &str,
    ) -> Result<Vec<Transition>, ApprovalError> {
        let (stage_index, task_index) = self.select_task(acting, task_id)?;
        let mut out = Vec::new();
        let stage = &mut self.stages[stage_index];
        let task = &mut stage.tasks[task_index];
        task.status = TaskStatus::Rejected;
        task.acted_by = Some(acting.actor.clone());
        task.comment = comment.to_string();
        task.completed_at = Some(acting.now);
        let entry = EntryDraft::new(HistoryAction::Rejected)
            .stage(&stage.key)
            .task(task.id)
            .comment(comment);
        if stage.outcome() == StageOutcome::Rejected {
            stage.status = StageStatus::Rejected;
            stage.completed_at = Some(acting.now);
            stage.cancel_pending(acting.now);
            self.finish(ApplicationStatus::Rejected, acting.now);
            self.record(TransitionKind::Rejected, acting, entry, &mut out);
        } else {
            // n-of-m: n can still be reached; the stage goes on.
            self.record(TransitionKind::TaskRejected, acting, entry, &mut out);
        }
        Ok(out)
    }

    /// Completes stage `index` when its rule is met: the next stage becomes
    /// active, or the application is approved after the last one.
    fn settle_stage(
        &mut self,
        index: usize,
        acting: &Acting<'_>,
        out: &mut Vec<Transition>,
    ) -> Result<(), ApprovalError> {
        let stage = &mut self.stages[index];
        if stage.outcome() != StageOutcome::Approved {
            return Ok(());
        }
        stage.status = StageStatus::Approved;
        stage.completed_at = Some(acting.now);
        stage.cancel_pending(acting.now);
        let key = stage.key.clone();
        let next = index + 1;
        if next < self.stages.len() {
            self.activate(next, acting.now)?;
        } else {
            self.current_stage = None;
        }
        self.record(
            TransitionKind::StageCompleted,
            acting,
            EntryDraft::new(HistoryAction::StageCompleted).stage(&key),
            out,
        );
        if next >= self.stages.len() {
            self.finish(ApplicationStatus::Approved, acting.now);
            self.record(
                TransitionKind::Approved,
                acting,
                EntryDraft::new(HistoryAction::Completed),
                out,
            );
        }
        Ok(())
    }
}
