//! Changing who signs a running stage: adding a signer (加签), who must also
//! decide under the stage's rule, and handing a task to someone else (转办).

use uuid::Uuid;
use zhongtai_kit::Role;

use super::{
    Acting, Application, EntryDraft, HistoryAction, HistoryDetail, TaskOrigin, TaskStatus,
    Transition, TransitionKind,
};
use crate::domain::assignee::TaskAssignee;
use crate::domain::error::ApprovalError;

/// Most tasks one activation of a stage may collect.
pub const MAX_TASKS_PER_STAGE: usize = 200;

impl Application {
    /// Adds a task for `assignee` to the active stage. The caller holds a
    /// pending task there, or administers the handling tenant. Returns the
    /// transitions and the new task's id.
    pub fn add_signer(
        &mut self,
        acting: &Acting<'_>,
        assignee: TaskAssignee,
        comment: &str,
    ) -> Result<(Vec<Transition>, Uuid), ApprovalError> {
        let caller = acting.caller_or_denied()?;
        let stage_index = self.active_stage_index()?;
        let stage = &self.stages[stage_index];
        let holds_task = stage
            .current_tasks()
            .any(|t| t.status == TaskStatus::Pending && t.assignee.matches(caller));
        let administers = caller.tenant == self.tenant && caller.has_role(Role::Admin);
        if !holds_task && !administers {
            return Err(ApprovalError::Denied {
                reason: "NOT_ASSIGNEE",
                target: format!("application/{}", self.id),
                message: format!(
                    "{} holds no pending task in stage {} and does not administer {}",
                    caller.describe(),
                    stage.key,
                    self.tenant
                ),
            });
        }
        self.make_room(stage_index, &assignee)?;
        let stage = &mut self.stages[stage_index];
        let task = stage.new_task(
            self.id,
            assignee.clone(),
            TaskOrigin::AddedSigner,
            acting.now,
        );
        let new_task_id = task.id;
        stage.tasks.push(task);
        let entry = EntryDraft::new(HistoryAction::SignerAdded)
            .stage(&stage.key.clone())
            .task(new_task_id)
            .comment(comment)
            .detail(HistoryDetail::SignerAdded {
                assignee,
                new_task_id,
            });
        let mut out = Vec::new();
        self.record(TransitionKind::SignerAdded, acting, entry, &mut out);
        Ok((out, new_task_id))
    }

    /// Hands the caller's pending task to `assignee`: the task becomes
    /// TRANSFERRED and a new one replaces it. Returns the new task's id.
    pub fn transfer(
        &mut self,
        acting: &Acting<'_>,
        task_id: Option<Uuid>,
        assignee: TaskAssignee,
        comment: &str,
    ) -> Result<(Vec<Transition>, Uuid), ApprovalError> {
        let (stage_index, task_index) = self.select_task(acting, task_id)?;
        let from = self.stages[stage_index].tasks[task_index].assignee.clone();
        if from == assignee {
            return Err(ApprovalError::invalid(
                "assignee",
                "is the task's current assignee",
            ));
        }
        self.make_room(stage_index, &assignee)?;
        let stage = &mut self.stages[stage_index];
        let origin_task = &mut stage.tasks[task_index];
        origin_task.status = TaskStatus::Transferred;
        origin_task.acted_by = Some(acting.actor.clone());
        origin_task.comment = comment.to_string();
        origin_task.completed_at = Some(acting.now);
        let old_task_id = origin_task.id;
        let mut task = stage.new_task(self.id, assignee.clone(), TaskOrigin::Transfer, acting.now);
        // The successor answers for the same round as the task it replaces.
        task.activation = stage.tasks[task_index].activation;
        let new_task_id = task.id;
        stage.tasks.push(task);
        let entry = EntryDraft::new(HistoryAction::Transferred)
            .stage(&stage.key.clone())
            .task(old_task_id)
            .comment(comment)
            .detail(HistoryDetail::Transferred {
                from,
                to: assignee,
                new_task_id,
            });
        let mut out = Vec::new();
        self.record(TransitionKind::TaskTransferred, acting, entry, &mut out);
        Ok((out, new_task_id))
    }

    /// Refuses a task for someone who already holds one here, and stages
    /// that grew too large.
    fn make_room(&self, stage_index: usize, assignee: &TaskAssignee) -> Result<(), ApprovalError> {
        let stage = &self.stages[stage_index];
        if stage.has_pending(assignee) {
            return Err(ApprovalError::FailedPrecondition(format!(
                "{assignee} already holds a pending task in stage {}",
                stage.key
            )));
        }
        if stage.current_tasks().count() >= MAX_TASKS_PER_STAGE {
            return Err(ApprovalError::FailedPrecondition(format!(
                "stage {} already has {MAX_TASKS_PER_STAGE} tasks",
                stage.key
            )));
        }
        Ok(())
    }
}
