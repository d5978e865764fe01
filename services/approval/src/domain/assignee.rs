//! Who a stage or a task is assigned to: a role within a department of a
//! tenant, a slot bound per application, or one named user.

use std::str::FromStr;

use serde::{Deserialize, Serialize};
use zhongtai_kit::{Caller, Role, TenantId};

/// Longest slot name.
pub const MAX_SLOT_CHARS: usize = 64;
/// Longest user subject.
pub const MAX_USER_CHARS: usize = 128;

/// Anyone holding `role` in the department `tenant`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct DepartmentRole {
    pub tenant: TenantId,
    #[serde(with = "role_name")]
    pub role: Role,
}

impl DepartmentRole {
    /// Parses a role the platform knows: tokens carry only those, so any
    /// other name could never act.
    pub fn parse(division: &str, department: &str, role: &str) -> Result<Self, Vec<Problem>> {
        let tenant = TenantId::parse(division, department);
        let role = Role::from_str(role);
        match (tenant, role) {
            (Ok(tenant), Ok(role)) => Ok(Self { tenant, role }),
            (tenant, role) => {
                let mut problems = Vec::new();
                if let Err(e) = tenant {
                    problems.push(Problem::new("tenant", e.to_string()));
                }
                if let Err(e) = role {
                    problems.push(Problem::new("role", e.to_string()));
                }
                Err(problems)
            }
        }
    }

    /// Whether `caller` acts for this department and holds the role.
    pub fn held_by(&self, caller: &Caller) -> bool {
        caller.tenant == self.tenant && caller.has_role(self.role)
    }
}

impl std::fmt::Display for DepartmentRole {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.tenant, self.role)
    }
}

/// A problem with one part of a value, relative to the value's own field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub field: String,
    pub message: String,
}

impl Problem {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// An assignee as a process definition names it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Assignee {
    DepartmentRole(DepartmentRole),
    /// Bound to a department role when an application is submitted.
    Slot(String),
    /// One named user (subject id).
    User(String),
}

/// An assignee of a task: slots are already resolved.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TaskAssignee {
    DepartmentRole(DepartmentRole),
    User(String),
}

impl TaskAssignee {
    /// Whether `caller` may act on a task assigned here.
    pub fn matches(&self, caller: &Caller) -> bool {
        match self {
            TaskAssignee::DepartmentRole(role) => role.held_by(caller),
            TaskAssignee::User(subject) => caller.subject == *subject,
        }
    }
}

impl std::fmt::Display for TaskAssignee {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TaskAssignee::DepartmentRole(role) => role.fmt(f),
            TaskAssignee::User(subject) => write!(f, "user {subject}"),
        }
    }
}

/// An assignee as a request describes it, not yet checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AssigneeDraft {
    /// None of the targets is set.
    Unset,
    DepartmentRole(DepartmentRoleDraft),
    Slot(String),
    User(String),
}

/// A department role as a request describes it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DepartmentRoleDraft {
    /// `None` when the request left the tenant unset.
    pub tenant: Option<(String, String)>,
    pub role: String,
}

impl DepartmentRoleDraft {
    /// The role, or problems relative to the draft (`tenant`, `role`).
    pub fn parse(&self) -> Result<DepartmentRole, Vec<Problem>> {
        match &self.tenant {
            Some((division, department)) => DepartmentRole::parse(division, department, &self.role),
            None => {
                let mut problems = vec![Problem::new("tenant", "is required")];
                if let Err(e) = Role::from_str(&self.role) {
                    problems.push(Problem::new("role", e.to_string()));
                }
                Err(problems)
            }
        }
    }
}

impl AssigneeDraft {
    /// The assignee, or problems relative to it (`department_role.role`,
    /// `slot`, …); `allow_slots` is false where slots cannot be resolved.
    pub fn parse(&self, allow_slots: bool) -> Result<Assignee, Vec<Problem>> {
        match self {
            AssigneeDraft::Unset => Err(vec![Problem::new(
                "target",
                "exactly one of department_role, slot or user must be set",
            )]),
            AssigneeDraft::DepartmentRole(draft) => draft
                .parse()
                .map(Assignee::DepartmentRole)
                .map_err(|problems| {
                    problems
                        .into_iter()
                        .map(|p| Problem::new(format!("department_role.{}", p.field), p.message))
                        .collect()
                }),
            AssigneeDraft::Slot(_) if !allow_slots => Err(vec![Problem::new(
                "slot",
                "slots are bound at submission and cannot be used here",
            )]),
            AssigneeDraft::Slot(slot) => {
                let chars = slot.chars().count();
                if chars == 0 || chars > MAX_SLOT_CHARS || slot.trim() != slot {
                    Err(vec![Problem::new(
                        "slot",
                        format!(
                            "must be 1..{MAX_SLOT_CHARS} characters without surrounding spaces"
                        ),
                    )])
                } else {
                    Ok(Assignee::Slot(slot.clone()))
                }
            }
            AssigneeDraft::User(user) => {
                let chars = user.chars().count();
                if chars == 0 || chars > MAX_USER_CHARS || user.trim() != user {
                    Err(vec![Problem::new(
                        "user",
                        format!(
                            "must be 1..{MAX_USER_CHARS} characters without surrounding spaces"
                        ),
                    )])
                } else {
                    Ok(Assignee::User(user.clone()))
                }
            }
        }
    }

    /// A task assignee (no slots), or problems relative to it.
    pub fn parse_task_assignee(&self) -> Result<TaskAssignee, Vec<Problem>> {
        match self.parse(false)? {
            Assignee::DepartmentRole(role) => Ok(TaskAssignee::DepartmentRole(role)),
            Assignee::User(user) => Ok(TaskAssignee::User(user)),
            Assignee::Slot(_) => Err(vec![Problem::new("slot", "slots are not allowed here")]),
        }
    }
}

/// Roles are stored by their platform names.
mod role_name {
    use std::str::FromStr;

    use serde::{Deserialize, Deserializer, Serializer};
    use zhongtai_kit::Role;

    pub fn serialize<S: Serializer>(role: &Role, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(role.as_str())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Role, D::Error> {
        let name = String::deserialize(deserializer)?;
        Role::from_str(&name).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn draft(division: &str, role: &str) -> AssigneeDraft {
        AssigneeDraft::DepartmentRole(DepartmentRoleDraft {
            tenant: Some((division.into(), "civil-affairs".into())),
            role: role.into(),
        })
    }

    #[test]
    fn department_roles_must_name_a_platform_role_and_a_valid_tenant() {
        assert!(draft("331100", "approver").parse(true).is_ok());
        let problems = draft("33A100", "clerk").parse(true).expect_err("bad");
        let fields: Vec<_> = problems.iter().map(|p| p.field.as_str()).collect();
        assert_eq!(fields, ["department_role.tenant", "department_role.role"]);
    }

    #[test]
    fn slots_only_where_they_can_be_bound() {
        let slot = AssigneeDraft::Slot("owner".into());
        assert!(slot.parse(true).is_ok());
        assert!(slot.parse(false).is_err());
        assert!(AssigneeDraft::Slot(String::new()).parse(true).is_err());
        assert!(AssigneeDraft::Slot("s".repeat(65)).parse(true).is_err());
        assert!(AssigneeDraft::User("u".repeat(129)).parse(true).is_err());
        assert!(AssigneeDraft::Unset.parse(true).is_err());
    }

    #[test]
    fn only_the_assignee_matches() {
        let tenant = TenantId::parse("331100", "civil-affairs").expect("tenant");
        let role = TaskAssignee::DepartmentRole(DepartmentRole {
            tenant: tenant.clone(),
            role: Role::Approver,
        });
        let approver = Caller::new("a", tenant.clone(), &[Role::Approver]);
        let viewer = Caller::new("v", tenant, &[Role::Viewer]);
        let elsewhere = Caller::new(
            "a",
            TenantId::parse("331100", "housing-fund").expect("tenant"),
            &[Role::Approver],
        );
        assert!(role.matches(&approver));
        assert!(!role.matches(&viewer));
        assert!(!role.matches(&elsewhere));
        let user = TaskAssignee::User("a".into());
        assert!(user.matches(&elsewhere));
        assert!(!user.matches(&viewer));
    }

    #[test]
    fn roles_round_trip_as_json() {
        let role = DepartmentRole::parse("331100", "civil-affairs", "approver").expect("role");
        let json = serde_json::to_string(&role).expect("json");
        assert_eq!(
            json,
            r#"{"tenant":"331100/civil-affairs","role":"approver"}"#
        );
        assert_eq!(
            serde_json::from_str::<DepartmentRole>(&json).expect("back"),
            role
        );
    }
}
