//! Updating a service item: the fields a field mask may name, the checks
//! the new values pass (the same as on creation), and the state's
//! lifecycle (ACTIVE ↔ SUSPENDED, anything → RETIRED, RETIRED is final).

use chrono::{DateTime, Utc};

use super::error::ApprovalError;
use super::service_item::{
    FormField, ItemState, Material, ProcessRef, ServiceItem, ServiceItemDraft,
};

/// Fields UpdateServiceItem may change.
pub const UPDATABLE_FIELDS: [&str; 7] = [
    "name",
    "description",
    "materials",
    "certificate_type",
    "process",
    "form_fields",
    "state",
];

/// New values for the fields an update names, not yet checked.
#[derive(Debug, Clone)]
pub struct ItemUpdate {
    pub id: String,
    /// The version the client read.
    pub version: i64,
    /// Field names from the update mask.
    pub paths: Vec<String>,
    pub name: String,
    pub description: String,
    pub materials: Vec<Material>,
    pub certificate_type: String,
    pub process: Option<ProcessRef>,
    pub form_fields: Vec<FormField>,
    /// `None` when the request leaves it unspecified.
    pub state: Option<ItemState>,
}

impl ItemUpdate {
    /// Unknown or immutable fields in the mask.
    pub fn mask_violations(&self) -> Vec<(String, String)> {
        if self.paths.is_empty() {
            return vec![(
                "update_mask".into(),
                format!("must name at least one of {}", UPDATABLE_FIELDS.join(", ")),
            )];
        }
        self.paths
            .iter()
            .enumerate()
            .filter(|(_, path)| !UPDATABLE_FIELDS.contains(&path.as_str()))
            .map(|(i, path)| {
                (
                    format!("update_mask.paths[{i}]"),
                    format!(
                        "`{}` cannot be changed; updatable: {}",
                        path.chars().take(64).collect::<String>(),
                        UPDATABLE_FIELDS.join(", ")
                    ),
                )
            })
            .collect()
    }

    fn names(&self, field: &str) -> bool {
        self.paths.iter().any(|p| p == field)
    }
}

impl ServiceItem {
    /// The item with `update` applied and the fields that really changed,
    /// or every violation (as `item.<field>`). The caller checked the
    /// version; this checks the values and the state's lifecycle.
    pub fn updated(
        &self,
        update: &ItemUpdate,
        now: DateTime<Utc>,
    ) -> Result<(ServiceItem, Vec<String>), ApprovalError> {
        if self.state == ItemState::Retired {
            return Err(ApprovalError::FailedPrecondition(format!(
                "service item {} is retired; it can no longer change",
                self.id
            )));
        }
        let pick = |field: &str| update.names(field);
        let draft = ServiceItemDraft {
            tenant: self.tenant.clone(),
            code: self.code.as_str().to_string(),
            name: if pick("name") {
                update.name.clone()
            } else {
                self.name.clone()
            },
            description: if pick("description") {
                update.description.clone()
            } else {
                self.description.clone()
            },
            materials: if pick("materials") {
                update.materials.clone()
            } else {
                self.materials.clone()
            },
            certificate_type: if pick("certificate_type") {
                update.certificate_type.clone()
            } else {
                self.certificate_type.clone().unwrap_or_default()
            },
            process: if pick("process") {
                update.process.clone()
            } else {
                self.process.clone()
            },
            form_fields: if pick("form_fields") {
                update.form_fields.clone()
            } else {
                self.form_fields.clone()
            },
            kind: self.kind,
        };
        let mut violations = match draft.into_item(self.id, self.created_at) {
            Ok(checked) => {
                let mut next = self.clone();
                next.name = checked.name;
                next.description = checked.description;
                next.materials = checked.materials;
                next.certificate_type = checked.certificate_type;
                next.process = checked.process;
                next.form_fields = checked.form_fields;
                return self.finish_update(next, update, now);
            }
            Err(ApprovalError::Invalid(violations)) => violations,
            Err(other) => return Err(other),
        };
        for violation in &mut violations {
            violation.0 = format!("item.{}", violation.0);
        }
        Err(ApprovalError::Invalid(violations))
    }

    fn finish_update(
        &self,
        mut next: ServiceItem,
        update: &ItemUpdate,
        now: DateTime<Utc>,
    ) -> Result<(ServiceItem, Vec<String>), ApprovalError> {
        if update.names("state") {
            let Some(state) = update.state else {
                return Err(ApprovalError::invalid("item.state", "must be set"));
            };
            let allowed = match (self.state, state) {
                (from, to) if from == to => true,
                (_, ItemState::Retired) => true,
                (ItemState::Active, ItemState::Suspended)
                | (ItemState::Suspended, ItemState::Active) => true,
                _ => false,
            };
            if !allowed {
                return Err(ApprovalError::FailedPrecondition(format!(
                    "service item {} cannot go from {:?} to {:?}",
                    self.id, self.state, state
                )));
            }
            next.state = state;
        }
        let changed: Vec<String> = UPDATABLE_FIELDS
            .iter()
            .filter(|field| update.names(field))
            .filter(|field| match **field {
                "name" => next.name != self.name,
                "description" => next.description != self.description,
                "materials" => next.materials != self.materials,
                "certificate_type" => next.certificate_type != self.certificate_type,
                "process" => next.process != self.process,
                "form_fields" => next.form_fields != self.form_fields,
                _ => next.state != self.state,
            })
            .map(|field| field.to_string())
            .collect();
        if !changed.is_empty() {
            next.version = self.version + 1;
            next.updated_at = now;
        }
        Ok((next, changed))
    }
}
