//! Process definitions as clients describe them, and the rules a version
//! must meet: 1..20 stages with unique slug keys, assignee counts by kind,
//! n within 1..=m, a single target per assignee, sane SLAs.

use std::collections::HashSet;

use super::assignee::{AssigneeDraft, DepartmentRoleDraft};
use super::error::ApprovalError;
use super::process::{StageDefinition, StageKind, StageSla};
use super::service_item::ItemCode;

/// Most stages a process may have.
pub const MAX_STAGES: usize = 20;
/// Most assignees a stage may name.
pub const MAX_ASSIGNEES: usize = 50;
/// Longest SLA a stage may have (a year and a day).
pub const MAX_SLA_MICROS: i64 = 366 * 24 * 3600 * 1_000_000;

/// An SLA as a request describes it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SlaDraft {
    /// `None` when unset; saturated when too large to count.
    pub duration_micros: Option<i64>,
    pub remind_before_micros: i64,
    pub escalate_to: Option<DepartmentRoleDraft>,
}

/// A stage as a request describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StageDraft {
    pub key: String,
    pub name: String,
    /// `None` when unspecified.
    pub kind: Option<StageKind>,
    pub assignees: Vec<AssigneeDraft>,
    pub required_approvals: i32,
    pub sla: Option<SlaDraft>,
}

/// What a client asks to create (version 1) or to publish as a new version.
#[derive(Debug, Clone)]
pub struct ProcessDraft {
    pub key: String,
    pub name: String,
    pub description: String,
    pub stages: Vec<StageDraft>,
}

/// The checked content of a version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcessContent {
    pub key: ItemCode,
    pub name: String,
    pub description: String,
    pub stages: Vec<StageDefinition>,
}

impl ProcessDraft {
    /// Checks every rule, listing every violation at once.
    pub fn validate(&self) -> Result<ProcessContent, ApprovalError> {
        let mut violations = Vec::new();
        let key = ItemCode::parse(&self.key);
        if let Err(problem) = &key {
            violations.push(("key".to_string(), problem.clone()));
        }
        text(&mut violations, "name", &self.name, 1, 200);
        text(&mut violations, "description", &self.description, 0, 4000);
        let stages = validate_stages(&mut violations, "stages", &self.stages);
        match key {
            Ok(key) if violations.is_empty() => Ok(ProcessContent {
                key,
                name: self.name.trim().to_string(),
                description: self.description.clone(),
                stages,
            }),
            _ => Err(ApprovalError::Invalid(violations)),
        }
    }
}

/// Checks a list of stages; problems go to `violations` under `field`.
pub fn validate_stages(
    violations: &mut Vec<(String, String)>,
    field: &str,
    drafts: &[StageDraft],
) -> Vec<StageDefinition> {
    if drafts.is_empty() || drafts.len() > MAX_STAGES {
        violations.push((field.into(), format!("must have 1..{MAX_STAGES} stages")));
    }
    let mut keys = HashSet::new();
    let mut stages = Vec::new();
    for (i, draft) in drafts.iter().enumerate().take(MAX_STAGES) {
        let at = |name: &str| format!("{field}[{i}].{name}");
        if !is_slug(&draft.key) {
            violations.push((
                at("key"),
                "must be 1..64 lowercase letters, digits or '-'".into(),
            ));
        } else if !keys.insert(draft.key.as_str()) {
            violations.push((at("key"), "duplicates an earlier stage".into()));
        }
        text(violations, &at("name"), &draft.name, 1, 200);
        let Some(kind) = draft.kind else {
            violations.push((at("kind"), "must be set".into()));
            continue;
        };
        let count = draft.assignees.len();
        match kind {
            StageKind::Single if count != 1 => violations.push((
                at("assignees"),
                "a SINGLE stage has exactly one assignee".into(),
            )),
            _ if count == 0 || count > MAX_ASSIGNEES => violations.push((
                at("assignees"),
                format!("must have 1..{MAX_ASSIGNEES} assignees"),
            )),
            _ => {}
        }
        let mut seen = HashSet::new();
        let mut assignees = Vec::new();
        for (j, assignee) in draft.assignees.iter().enumerate().take(MAX_ASSIGNEES) {
            match assignee.parse(true) {
                Ok(parsed) if !seen.insert(parsed.clone()) => violations.push((
                    format!("{field}[{i}].assignees[{j}]"),
                    "duplicates an earlier assignee".into(),
                )),
                Ok(parsed) => assignees.push(parsed),
                Err(problems) => violations.extend(problems.into_iter().map(|p| {
                    (
                        format!("{field}[{i}].assignees[{j}].{}", p.field),
                        p.message,
                    )
                })),
            }
        }
        let required_approvals = if kind == StageKind::NOfM {
            let within = usize::try_from(draft.required_approvals)
                .is_ok_and(|n| (1..=count.max(1)).contains(&n));
            if !within {
                violations.push((
                    at("required_approvals"),
                    format!("must be 1..{} (the number of assignees)", count.max(1)),
                ));
            }
            draft.required_approvals.max(0) as u32
        } else {
            0
        };
        let sla = draft
            .sla
            .as_ref()
            .and_then(|sla| validate_sla(violations, &at("sla"), sla));
        stages.push(StageDefinition {
            key: draft.key.clone(),
            name: draft.name.trim().to_string(),
            kind,
            assignees,
            required_approvals,
            sla,
        });
    }
    stages
}

fn validate_sla(
    violations: &mut Vec<(String, String)>,
    field: &str,
    draft: &SlaDraft,
) -> Option<StageSla> {
    let before = violations.len();
    let duration = draft.duration_micros.unwrap_or(0);
    if duration <= 0 {
        violations.push((
            format!("{field}.duration"),
            "must be greater than zero".into(),
        ));
    } else if duration > MAX_SLA_MICROS {
        violations.push((
            format!("{field}.duration"),
            "must be at most 366 days".into(),
        ));
    }
    if draft.remind_before_micros < 0 {
        violations.push((
            format!("{field}.remind_before"),
            "must not be negative".into(),
        ));
    } else if duration > 0 && draft.remind_before_micros >= duration {
        violations.push((
            format!("{field}.remind_before"),
            "must be shorter than the duration".into(),
        ));
    }
    let escalate_to = match &draft.escalate_to {
        None => None,
        Some(role) => match role.parse() {
            Ok(role) => Some(role),
            Err(problems) => {
                violations.extend(
                    problems
                        .into_iter()
                        .map(|p| (format!("{field}.escalate_to.{}", p.field), p.message)),
                );
                None
            }
        },
    };
    (violations.len() == before).then_some(StageSla {
        duration_micros: duration,
        remind_before_micros: draft.remind_before_micros,
        escalate_to,
    })
}

/// 1..64 lowercase letters, digits and hyphens.
pub fn is_slug(value: &str) -> bool {
    (1..=64).contains(&value.len())
        && value
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

/// Length check in characters; `min` 1 also refuses blank text.
pub fn text(
    violations: &mut Vec<(String, String)>,
    field: &str,
    value: &str,
    min: usize,
    max: usize,
) {
    if min > 0 && value.trim().is_empty() {
        violations.push((field.into(), "must not be empty".into()));
    } else if value.chars().count() > max {
        violations.push((field.into(), format!("must be at most {max} characters")));
    }
}

#[cfg(test)]
mod tests {
    use chrono::{TimeDelta, Utc};
    use uuid::Uuid;
    use zhongtai_kit::{Actor, TenantId};

    use super::*;
    use crate::domain::process::{ProcessDefinition, ProcessState};

    fn role(role: &str) -> AssigneeDraft {
        AssigneeDraft::DepartmentRole(DepartmentRoleDraft {
            tenant: Some(("331100".into(), "civil-affairs".into())),
            role: role.into(),
        })
    }

    fn stage(key: &str, kind: StageKind, assignees: Vec<AssigneeDraft>) -> StageDraft {
        StageDraft {
            key: key.into(),
            name: format!("stage {key}"),
            kind: Some(kind),
            assignees,
            required_approvals: 0,
            sla: None,
        }
    }

    fn draft(stages: Vec<StageDraft>) -> ProcessDraft {
        ProcessDraft {
            key: "business-licence-approval".into(),
            name: "营业执照审批".into(),
            description: String::new(),
            stages,
        }
    }

    fn fields(result: Result<ProcessContent, ApprovalError>) -> Vec<String> {
        match result {
            Err(ApprovalError::Invalid(violations)) => {
                violations.into_iter().map(|(field, _)| field).collect()
            }
            other => panic!("expected violations, got {other:?}"),
        }
    }

    #[test]
    fn a_valid_process_keeps_its_stages() {
        let mut n_of_m = stage(
            "panel",
            StageKind::NOfM,
            vec![role("approver"), AssigneeDraft::Slot("owner".into())],
        );
        n_of_m.required_approvals = 2;
        n_of_m.sla = Some(SlaDraft {
            duration_micros: Some(3_600_000_000),
            remind_before_micros: 600_000_000,
            escalate_to: Some(DepartmentRoleDraft {
                tenant: Some(("331100".into(), "market-regulation".into())),
                role: "admin".into(),
            }),
        });
        let content = draft(vec![
            stage("clerk-review", StageKind::Single, vec![role("approver")]),
            n_of_m,
        ])
        .validate()
        .expect("valid");
        assert_eq!(content.stages.len(), 2);
        assert_eq!(content.stages[1].required_approvals, 2);
        let sla = content.stages[1].sla.as_ref().expect("sla");
        assert_eq!(sla.remind_before(), Some(TimeDelta::minutes(10)));
        assert_eq!(content.stages[0].required_approvals, 0);
    }

    #[test]
    fn every_violation_is_named() {
        let mut n_of_m = stage("panel", StageKind::NOfM, vec![role("approver")]);
        n_of_m.required_approvals = 2;
        n_of_m.sla = Some(SlaDraft {
            duration_micros: Some(0),
            remind_before_micros: -1,
            escalate_to: Some(DepartmentRoleDraft {
                tenant: None,
                role: "boss".into(),
            }),
        });
        let mut unkinded = stage("x", StageKind::Joint, vec![role("approver")]);
        unkinded.kind = None;
        let found = fields(
            ProcessDraft {
                key: "No".into(),
                ..draft(vec![
                    stage("Bad Key", StageKind::Single, vec![]),
                    stage(
                        "dup",
                        StageKind::Joint,
                        vec![role("clerk"), AssigneeDraft::Unset],
                    ),
                    stage(
                        "dup",
                        StageKind::AnyOf,
                        vec![role("approver"), role("approver")],
                    ),
                    n_of_m,
                    unkinded,
                ])
            }
            .validate(),
        );
        for expected in [
            "key",
            "stages[0].key",
            "stages[0].assignees",
            "stages[1].assignees[0].department_role.role",
            "stages[1].assignees[1].target",
            "stages[2].key",
            "stages[2].assignees[1]",
            "stages[3].required_approvals",
            "stages[3].sla.duration",
            "stages[3].sla.remind_before",
            "stages[3].sla.escalate_to.tenant",
            "stages[3].sla.escalate_to.role",
            "stages[4].kind",
        ] {
            assert!(
                found.iter().any(|f| f == expected),
                "{expected} missing from {found:?}"
            );
        }
    }

    #[test]
    fn stage_counts_and_sla_bounds() {
        assert_eq!(fields(draft(vec![]).validate()), ["stages"]);
        let many = (0..21)
            .map(|i| stage(&format!("s{i}"), StageKind::Single, vec![role("approver")]))
            .collect();
        assert_eq!(fields(draft(many).validate()), ["stages"]);
        let mut slow = stage("slow", StageKind::Single, vec![role("approver")]);
        slow.sla = Some(SlaDraft {
            duration_micros: Some(MAX_SLA_MICROS + 1),
            remind_before_micros: 0,
            escalate_to: None,
        });
        assert_eq!(
            fields(draft(vec![slow]).validate()),
            ["stages[0].sla.duration"]
        );
        let mut late = stage("late", StageKind::Single, vec![role("approver")]);
        late.sla = Some(SlaDraft {
            duration_micros: Some(1_000),
            remind_before_micros: 1_000,
            escalate_to: None,
        });
        assert_eq!(
            fields(draft(vec![late]).validate()),
            ["stages[0].sla.remind_before"]
        );
    }

    #[test]
    fn slots_are_listed_once() {
        let content = draft(vec![
            stage(
                "a",
                StageKind::Joint,
                vec![AssigneeDraft::Slot("owner".into()), role("approver")],
            ),
            stage(
                "b",
                StageKind::Single,
                vec![AssigneeDraft::Slot("owner".into())],
            ),
        ])
        .validate()
        .expect("valid");
        let process = ProcessDefinition {
            id: Uuid::nil(),
            tenant: TenantId::parse("331100", "data-bureau").expect("tenant"),
            key: content.key,
            name: content.name,
            description: content.description,
            version: 1,
            stages: content.stages,
            state: ProcessState::Active,
            created_at: Utc::now(),
            created_by: Actor::system("test"),
        };
        assert_eq!(process.slots(), ["owner"]);
    }
}
