//! The application's append-only history and the transitions that write
//! it: each transition appends one entry and publishes one event.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;
use zhongtai_kit::Actor;

use super::Application;
use crate::domain::assignee::{DepartmentRole, TaskAssignee};

/// What happened, as the history records it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HistoryAction {
    Submitted,
    Approved,
    Rejected,
    Returned,
    Resubmitted,
    Recalled,
    SignerAdded,
    Transferred,
    StageCompleted,
    Reminded,
    Escalated,
    Completed,
}

/// Action-specific details of an entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HistoryDetail {
    Returned {
        /// The stage key, or `None` for the applicant.
        stage_key: Option<String>,
        requested_materials: Vec<String>,
    },
    SignerAdded {
        assignee: TaskAssignee,
        new_task_id: Uuid,
    },
    Transferred {
        from: TaskAssignee,
        to: TaskAssignee,
        new_task_id: Uuid,
    },
    Escalated {
        due_at: DateTime<Utc>,
        escalated_to: Option<DepartmentRole>,
        new_task_id: Option<Uuid>,
    },
}

/// One append-only history entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryEntry {
    pub sequence: i64,
    pub application_id: Uuid,
    pub action: HistoryAction,
    pub actor: Actor,
    pub stage_key: String,
    pub task_id: Option<Uuid>,
    pub comment: String,
    pub time: DateTime<Utc>,
    pub detail: Option<HistoryDetail>,
    /// The request that caused it (empty for timers), for idempotency.
    pub request_id: String,
}

/// An entry before the transition numbers and stamps it.
#[derive(Debug, Clone)]
pub(super) struct EntryDraft {
    pub action: HistoryAction,
    pub stage_key: String,
    pub task_id: Option<Uuid>,
    pub comment: String,
    pub detail: Option<HistoryDetail>,
}

impl EntryDraft {
    pub fn new(action: HistoryAction) -> Self {
        Self {
            action,
            stage_key: String::new(),
            task_id: None,
            comment: String::new(),
            detail: None,
        }
    }

    pub fn stage(mut self, key: &str) -> Self {
        self.stage_key = key.to_string();
        self
    }

    pub fn task(mut self, id: Uuid) -> Self {
        self.task_id = Some(id);
        self
    }

    pub fn comment(mut self, comment: &str) -> Self {
        self.comment = comment.to_string();
        self
    }

    pub fn detail(mut self, detail: HistoryDetail) -> Self {
        self.detail = Some(detail);
        self
    }
}

/// Which event a transition publishes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransitionKind {
    Submitted,
    Resubmitted,
    TaskApproved,
    TaskRejected,
    StageCompleted,
    Approved,
    Rejected,
    Returned,
    Recalled,
    SignerAdded,
    TaskTransferred,
    ReminderDue,
    Escalated,
}

/// One step of an application: its entry and the application right after.
#[derive(Debug, Clone, PartialEq)]
pub struct Transition {
    pub kind: TransitionKind,
    pub entry: HistoryEntry,
    pub application: Application,
}
