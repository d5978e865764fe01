//! SLA moments of the active stage: the reminder before the deadline and
//! the escalation after it. Each fires once per activation of a stage; the
//! stage remembers that it did, and the store saves that with a version
//! check, so a second instance looking at the same moment changes nothing.

use chrono::{DateTime, Utc};

use super::{
    Acting, Application, EntryDraft, HistoryAction, HistoryDetail, TaskOrigin, Transition,
    TransitionKind,
};
use crate::domain::assignee::TaskAssignee;

impl Application {
    /// Fires whatever of the active stage's SLA came due by `acting.now`.
    /// Nothing due: no transitions.
    pub fn fire_due_timers(&mut self, acting: &Acting<'_>) -> Vec<Transition> {
        let mut out = Vec::new();
        let Some(index) = self.current_stage.filter(|_| self.active_stage().is_some()) else {
            return out;
        };
        let now = acting.now;
        if self.next_reminder().is_some_and(|at| at <= now) {
            let stage = &mut self.stages[index];
            stage.reminded = true;
            let entry = EntryDraft::new(HistoryAction::Reminded).stage(&stage.key.clone());
            self.record(TransitionKind::ReminderDue, acting, entry, &mut out);
        }
        if let Some(due_at) = self.next_escalation().filter(|at| *at <= now) {
            self.escalate(index, due_at, acting, &mut out);
        }
        out
    }

    fn escalate(
        &mut self,
        index: usize,
        due_at: DateTime<Utc>,
        acting: &Acting<'_>,
        out: &mut Vec<Transition>,
    ) {
        let application_id = self.id;
        let stage = &mut self.stages[index];
        stage.escalated = true;
        // A reminder after the deadline would say nothing new.
        stage.reminded = true;
        let escalated_to = stage.sla.as_ref().and_then(|sla| sla.escalate_to.clone());
        let new_task_id = match &escalated_to {
            Some(role) if !stage.has_pending(&TaskAssignee::DepartmentRole(role.clone())) => {
                let task = stage.new_task(
                    application_id,
                    TaskAssignee::DepartmentRole(role.clone()),
                    TaskOrigin::Escalation,
                    acting.now,
                );
                let id = task.id;
                stage.tasks.push(task);
                Some(id)
            }
            _ => None,
        };
        let mut entry = EntryDraft::new(HistoryAction::Escalated)
            .stage(&stage.key.clone())
            .detail(HistoryDetail::Escalated {
                due_at,
                escalated_to,
                new_task_id,
            });
        if let Some(id) = new_task_id {
            entry = entry.task(id);
        }
        self.record(TransitionKind::Escalated, acting, entry, out);
    }
}
