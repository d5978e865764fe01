//! Process definitions: the ordered stages an application passes. Each
//! revision is a new immutable version sharing the definition's id; running
//! applications keep the version they started on.

use std::collections::HashSet;

use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;
use zhongtai_kit::{Actor, TenantId};

use super::assignee::{Assignee, DepartmentRole};
use super::service_item::ItemCode;

/// How a stage's assignees decide.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StageKind {
    Single,
    Joint,
    AnyOf,
    NOfM,
}

/// Lifecycle of one version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProcessState {
    Active,
    Superseded,
    Deprecated,
}

/// Deadline, reminder and escalation of a stage.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StageSla {
    /// Time allowed from activation, in microseconds (databases keep no more).
    pub duration_micros: i64,
    /// Remind this long before the deadline; 0 means no reminder.
    pub remind_before_micros: i64,
    pub escalate_to: Option<DepartmentRole>,
}

impl StageSla {
    pub fn duration(&self) -> TimeDelta {
        TimeDelta::microseconds(self.duration_micros)
    }

    pub fn remind_before(&self) -> Option<TimeDelta> {
        (self.remind_before_micros > 0).then(|| TimeDelta::microseconds(self.remind_before_micros))
    }
}

/// One stage of a process version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StageDefinition {
    pub key: String,
    pub name: String,
    pub kind: StageKind,
    pub assignees: Vec<Assignee>,
    /// N_OF_M only; 0 for the other kinds.
    pub required_approvals: u32,
    pub sla: Option<StageSla>,
}

impl StageDefinition {
    /// Slots this stage's assignees use.
    pub fn slots(&self) -> impl Iterator<Item = &str> {
        self.assignees.iter().filter_map(|a| match a {
            Assignee::Slot(slot) => Some(slot.as_str()),
            _ => None,
        })
    }
}

/// One version of a process definition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcessDefinition {
    pub id: Uuid,
    pub tenant: TenantId,
    pub key: ItemCode,
    pub name: String,
    pub description: String,
    pub version: i64,
    pub stages: Vec<StageDefinition>,
    pub state: ProcessState,
    pub created_at: DateTime<Utc>,
    pub created_by: Actor,
}

impl ProcessDefinition {
    /// Every slot the version uses, each once, in stage order.
    pub fn slots(&self) -> Vec<&str> {
        let mut seen = HashSet::new();
        self.stages
            .iter()
            .flat_map(StageDefinition::slots)
            .filter(|slot| seen.insert(*slot))
            .collect()
    }
}
