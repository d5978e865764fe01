//! What an applicant hands in, checked against the item's terms and the
//! process: materials, form values, holder, origin, slot bindings. Each
//! check adds to one list of violations, so a request hears of every
//! problem at once.

use std::collections::{BTreeMap, HashSet};

use super::form::type_problem;
use super::submission::{HolderDraft, MaterialDraft, OriginDraft};
use super::{Holder, ItemTerms, SubmittedMaterial};
use crate::domain::assignee::{DepartmentRole, DepartmentRoleDraft, MAX_SLOT_CHARS};
use crate::domain::process::ProcessDefinition;
use crate::domain::service_item::ItemKind;

/// Largest form, encoded as JSON.
pub const MAX_FORM_DATA_BYTES: usize = 256 * 1024;
/// Most documents one request may hand in.
pub const MAX_MATERIALS_PER_REQUEST: usize = 100;
/// Largest document when the material names no limit (20 MiB).
pub const DEFAULT_MAX_DOCUMENT_BYTES: i64 = 20 * 1024 * 1024;
/// Most slot bindings one application may carry.
pub const MAX_BINDINGS: usize = 50;

pub(super) fn check_holder(
    violations: &mut Vec<(String, String)>,
    draft: Option<&HolderDraft>,
) -> Option<Holder> {
    let text = |violations: &mut Vec<(String, String)>, field: &str, value: &str, max: usize| {
        let chars = value.trim().chars().count();
        if chars == 0 || value.chars().count() > max {
            violations.push((
                format!("applicant.holder.{field}"),
                format!("must be 1..{max} characters"),
            ));
        }
    };
    match draft? {
        HolderDraft::Person {
            name,
            id_type,
            id_number,
        } => {
            text(violations, "person.name", name, 100);
            text(violations, "person.id_number", id_number, 64);
            let Some(id_type) = id_type else {
                violations.push((
                    "applicant.holder.person.id_type".into(),
                    "must be set".into(),
                ));
                return None;
            };
            Some(Holder::Person {
                name: name.trim().to_string(),
                id_type: *id_type,
                id_number: id_number.trim().to_string(),
            })
        }
        HolderDraft::Organization {
            name,
            unified_social_credit_code,
        } => {
            text(violations, "organization.name", name, 200);
            let code_ok = unified_social_credit_code.len() == 18
                && unified_social_credit_code
                    .chars()
                    .all(|c| c.is_ascii_digit() || c.is_ascii_uppercase());
            if !code_ok {
                violations.push((
                    "applicant.holder.organization.unified_social_credit_code".into(),
                    "must be 18 digits or capital letters".into(),
                ));
            }
            Some(Holder::Organization {
                name: name.trim().to_string(),
                unified_social_credit_code: unified_social_credit_code.clone(),
            })
        }
    }
}

/// Checks handed-in documents against the item's materials; with
/// `require_all`, every required material must be among them.
pub(super) fn check_materials(
    violations: &mut Vec<(String, String)>,
    terms: &ItemTerms,
    drafts: &[MaterialDraft],
    require_all: bool,
) -> Vec<SubmittedMaterial> {
    if drafts.len() > MAX_MATERIALS_PER_REQUEST {
        violations.push((
            "materials".into(),
            format!("at most {MAX_MATERIALS_PER_REQUEST} documents"),
        ));
    }
    let mut seen = HashSet::new();
    for (i, draft) in drafts.iter().enumerate().take(MAX_MATERIALS_PER_REQUEST) {
        let at = |name: &str| format!("materials[{i}].{name}");
        let Some(material) = terms
            .materials
            .iter()
            .find(|m| m.code == draft.material_code)
        else {
            violations.push((
                at("material_code"),
                format!(
                    "`{}` is not a material of the item",
                    truncated(&draft.material_code)
                ),
            ));
            continue;
        };
        if !seen.insert(draft.material_code.as_str()) {
            violations.push((at("material_code"), "duplicates an earlier document".into()));
        }
        let uri_chars = draft.document_uri.chars().count();
        if uri_chars == 0 || uri_chars > 2000 || draft.document_uri.chars().any(char::is_whitespace)
        {
            violations.push((
                at("document_uri"),
                "must be 1..2000 characters without spaces".into(),
            ));
        }
        let hex = draft.sha256.len() == 64
            && draft
                .sha256
                .chars()
                .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c));
        if !hex {
            violations.push((
                at("sha256"),
                "must be 64 lowercase hexadecimal characters".into(),
            ));
        }
        let media_type_ok = draft.media_type.len() <= 100
            && draft
                .media_type
                .split_once('/')
                .is_some_and(|(a, b)| !a.is_empty() && !b.is_empty());
        if !media_type_ok {
            violations.push((
                at("media_type"),
                "must be a media type like application/pdf".into(),
            ));
        } else if !material.accepted_media_types.is_empty()
            && !material.accepted_media_types.contains(&draft.media_type)
        {
            violations.push((
                at("media_type"),
                format!(
                    "must be one of {}",
                    material.accepted_media_types.join(", ")
                ),
            ));
        }
        let max = match material.max_size_bytes {
            0 => DEFAULT_MAX_DOCUMENT_BYTES,
            max => max,
        };
        if draft.size_bytes <= 0 || draft.size_bytes > max {
            violations.push((at("size_bytes"), format!("must be 1..{max} bytes")));
        }
        if draft.file_name.chars().count() > 255 {
            violations.push((at("file_name"), "must be at most 255 characters".into()));
        }
    }
    if require_all {
        for material in terms.materials.iter().filter(|m| m.required) {
            if !drafts.iter().any(|d| d.material_code == material.code) {
                violations.push((
                    "materials".into(),
                    format!(
                        "required material {} ({}) is missing",
                        material.code, material.name
                    ),
                ));
            }
        }
    }
    drafts
        .iter()
        .take(MAX_MATERIALS_PER_REQUEST)
        .cloned()
        .collect()
}

/// Checks a form: its size always; for public services also every key
/// against the declared fields and types, and that required ones are there.
/// A data-access request's form is the raising service's free description.
pub(super) fn check_form_data(
    violations: &mut Vec<(String, String)>,
    terms: &ItemTerms,
    form: &serde_json::Map<String, serde_json::Value>,
) {
    let size = serde_json::to_vec(form).map_or(usize::MAX, |bytes| bytes.len());
    if size > MAX_FORM_DATA_BYTES {
        violations.push((
            "form_data".into(),
            format!("must be at most {} KiB encoded", MAX_FORM_DATA_BYTES / 1024),
        ));
        return;
    }
    if terms.kind == ItemKind::DataAccess {
        return;
    }
    for (key, value) in form {
        let at = format!("form_data.{}", truncated(key));
        match terms.form_fields.iter().find(|f| f.name == *key) {
            None => violations.push((at, "is not a field of the item's form".into())),
            Some(_) if value.is_null() => {}
            Some(field) => {
                if let Some(problem) = type_problem(field.field_type, value) {
                    violations.push((at, problem));
                }
            }
        }
    }
    for field in terms.form_fields.iter().filter(|f| f.required) {
        if form.get(&field.name).is_none_or(serde_json::Value::is_null) {
            violations.push((
                format!("form_data.{}", field.name),
                format!("{} is required", field.label),
            ));
        }
    }
}

pub(super) fn check_origin(violations: &mut Vec<(String, String)>, origin: Option<&OriginDraft>) {
    let Some(origin) = origin else {
        return;
    };
    for (field, value, max) in [
        ("service", &origin.service, 64),
        ("kind", &origin.kind, 64),
        ("id", &origin.id, 128),
    ] {
        let valid = (1..=max).contains(&value.len())
            && value
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
        if !valid {
            violations.push((
                format!("origin.{field}"),
                format!("must be 1..{max} ASCII letters, digits, '-', '_' or '.'"),
            ));
        }
    }
}

/// Every slot the process uses must be bound, and nothing else.
pub(super) fn check_bindings(
    violations: &mut Vec<(String, String)>,
    process: &ProcessDefinition,
    drafts: &[(String, DepartmentRoleDraft)],
) -> BTreeMap<String, DepartmentRole> {
    let slots = process.slots();
    let mut bindings = BTreeMap::new();
    if drafts.len() > MAX_BINDINGS {
        violations.push((
            "assignee_bindings".into(),
            format!("at most {MAX_BINDINGS} bindings"),
        ));
    }
    for (slot, draft) in drafts.iter().take(MAX_BINDINGS) {
        let shown: String = slot.chars().take(MAX_SLOT_CHARS).collect();
        let at = format!("assignee_bindings[{shown}]");
        if !slots.contains(&slot.as_str()) {
            let known = if slots.is_empty() {
                "the process uses no slots".to_string()
            } else {
                format!("the process uses {}", slots.join(", "))
            };
            violations.push((at, format!("is not a slot of the process; {known}")));
            continue;
        }
        match draft.parse() {
            Ok(role) => {
                bindings.insert(slot.clone(), role);
            }
            Err(problems) => violations.extend(
                problems
                    .into_iter()
                    .map(|p| (format!("{at}.{}", p.field), p.message)),
            ),
        }
    }
    for slot in slots {
        if !drafts.iter().any(|(bound, _)| bound == slot) {
            let stages: Vec<&str> = process
                .stages
                .iter()
                .filter(|s| s.slots().any(|s| s == slot))
                .map(|s| s.key.as_str())
                .collect();
            violations.push((
                format!("assignee_bindings[{slot}]"),
                format!(
                    "must be bound: stage {} is assigned to slot {slot}",
                    stages.join(", ")
                ),
            ));
        }
    }
    bindings
}

/// A user-given key, shortened for messages and field paths.
fn truncated(value: &str) -> String {
    value.chars().take(64).collect()
}
