//! The rules a resource description must follow. Every problem is
//! reported, each under the request path of the offending field.

use std::collections::HashSet;

use uuid::Uuid;

use super::drafts::{DetailsDraft, FieldDraft, Parsed};
use super::resource::{
    DetailField, FieldType, OpenAttribute, ResourceDetails, ResourceField, ResourceLayer,
    Sensitivity, Sharing, UpdateFrequency,
};

pub const MAX_TITLE_CHARS: usize = 200;
pub const MAX_DESCRIPTION_CHARS: usize = 8000;
pub const MAX_FIELDS: usize = 500;
pub const MAX_FIELD_NAME_LEN: usize = 63;
pub const MAX_FIELD_DESCRIPTION_CHARS: usize = 2000;
pub const MAX_TAGS: usize = 50;
pub const MAX_TAG_CHARS: usize = 64;
pub const MAX_CONDITIONS_CHARS: usize = 2000;
pub const MAX_NOTE_CHARS: usize = 2000;
pub const MAX_REQUEST_ID_LEN: usize = 128;

/// Problems found so far, as (request path, problem) pairs.
#[derive(Debug, Default)]
pub struct Violations(pub Vec<(String, String)>);

impl Violations {
    pub fn add(&mut self, field: impl Into<String>, problem: impl Into<String>) {
        self.0.push((field.into(), problem.into()));
    }

    pub fn check(&mut self, field: impl Into<String>, problem: Option<String>) {
        if let Some(problem) = problem {
            self.add(field, problem);
        }
    }

    /// The value, or the translation problem recorded under `field`.
    pub fn parsed<T: Clone>(&mut self, field: &str, value: &Parsed<T>) -> Option<T> {
        match value {
            Ok(value) => Some(value.clone()),
            Err(problem) => {
                self.add(field, problem.clone());
                None
            }
        }
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// A required text of 1..=`max` characters.
pub fn text_problem(value: &str, max: usize) -> Option<String> {
    if value.trim().is_empty() {
        Some("must not be empty".into())
    } else {
        length_problem(value, max)
    }
}

/// An optional text of at most `max` characters.
pub fn length_problem(value: &str, max: usize) -> Option<String> {
    let chars = value.chars().count();
    (chars > max).then(|| format!("must be at most {max} characters (got {chars})"))
}

/// An idempotency key.
pub fn request_id_problem(value: &str) -> Option<String> {
    (value.is_empty() || value.len() > MAX_REQUEST_ID_LEN)
        .then(|| format!("must be 1..{MAX_REQUEST_ID_LEN} characters"))
}

/// A resource code: 3..64 lowercase letters, digits and inner hyphens.
pub fn code_problem(code: &str) -> Option<String> {
    let valid_chars = code
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if !(3..=64).contains(&code.len()) || !valid_chars {
        Some(format!(
            "must be 3..64 lowercase letters, digits or '-', got `{code}`"
        ))
    } else if code.starts_with('-') || code.ends_with('-') {
        Some("must not start or end with '-'".into())
    } else {
        None
    }
}

/// A column name: lowercase snake_case starting with a letter.
fn field_name_problem(name: &str) -> Option<String> {
    let valid = (1..=MAX_FIELD_NAME_LEN).contains(&name.len())
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    (!valid).then(|| {
        format!("must be lowercase snake_case, 1..{MAX_FIELD_NAME_LEN} characters, starting with a letter")
    })
}

/// `schema.table`, each an SQL identifier.
fn source_table_problem(value: &str) -> Option<String> {
    let identifier = |part: &str| {
        (1..=63).contains(&part.len())
            && part.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
            && part.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
    };
    match value.split_once('.') {
        _ if value.is_empty() => None,
        Some((schema, table)) if identifier(schema) && identifier(table) => None,
        _ => Some("must be empty or schema.table, e.g. public.marriage_registration".into()),
    }
}

/// Checks the `parts` of `draft` (all of them for a registration) and
/// builds details holding them; parts not named keep placeholder values
/// that [`ResourceDetails::with_parts`] never copies.
pub fn check_details(
    draft: &DetailsDraft,
    parts: &[DetailField],
    prefix: &str,
    v: &mut Violations,
) -> ResourceDetails {
    let at = |name: &str| format!("{prefix}.{name}");
    let mut details = ResourceDetails {
        title: String::new(),
        description: String::new(),
        fields: Vec::new(),
        layer: ResourceLayer::Raw,
        sharing: Sharing::NotShared,
        sharing_conditions: String::new(),
        open: OpenAttribute::Closed,
        update_frequency: UpdateFrequency::Irregular,
        line_id: None,
        source_table: String::new(),
        tags: Vec::new(),
    };
    for part in parts {
        match part {
            DetailField::Title => {
                v.check(at("title"), text_problem(&draft.title, MAX_TITLE_CHARS));
                details.title = draft.title.clone();
            }
            DetailField::Description => {
                v.check(
                    at("description"),
                    length_problem(&draft.description, MAX_DESCRIPTION_CHARS),
                );
                details.description = draft.description.clone();
            }
            DetailField::Fields => details.fields = check_fields(&draft.fields, &at("fields"), v),
            DetailField::Layer => {
                details.layer = v
                    .parsed(&at("layer"), &draft.layer)
                    .unwrap_or(details.layer);
            }
            DetailField::Sharing => {
                details.sharing = v
                    .parsed(&at("sharing"), &draft.sharing)
                    .unwrap_or(details.sharing);
            }
            DetailField::SharingConditions => {
                v.check(
                    at("sharing_conditions"),
                    length_problem(&draft.sharing_conditions, MAX_CONDITIONS_CHARS),
                );
                details.sharing_conditions = draft.sharing_conditions.clone();
            }
            DetailField::Open => {
                details.open = v.parsed(&at("open"), &draft.open).unwrap_or(details.open);
            }
            DetailField::UpdateFrequency => {
                details.update_frequency = v
                    .parsed(&at("update_frequency"), &draft.update_frequency)
                    .unwrap_or(details.update_frequency);
            }
            DetailField::LineId => {
                if !draft.line_id.is_empty() {
                    match Uuid::parse_str(&draft.line_id) {
                        Ok(id) => details.line_id = Some(id),
                        Err(_) => v.add(at("line_id"), "must be empty or a UUID"),
                    }
                }
            }
            DetailField::SourceTable => {
                v.check(
                    at("source_table"),
                    source_table_problem(&draft.source_table),
                );
                details.source_table = draft.source_table.clone();
            }
            DetailField::Tags => details.tags = check_tags(&draft.tags, &at("tags"), v),
        }
    }
    details
}

/// Conditions only mean something for conditional sharing; elsewhere they
/// are dropped so they cannot mislead a requester.
pub fn normalise(mut details: ResourceDetails) -> ResourceDetails {
    if details.sharing != Sharing::Conditional {
        details.sharing_conditions.clear();
    }
    details
}

fn check_fields(drafts: &[FieldDraft], path: &str, v: &mut Violations) -> Vec<ResourceField> {
    if drafts.is_empty() || drafts.len() > MAX_FIELDS {
        v.add(
            path,
            format!("must have 1..{MAX_FIELDS} fields (got {})", drafts.len()),
        );
        if drafts.len() > MAX_FIELDS {
            return Vec::new();
        }
    }
    let mut names = HashSet::new();
    let mut fields = Vec::with_capacity(drafts.len());
    for (i, draft) in drafts.iter().enumerate() {
        let at = |name: &str| format!("{path}[{i}].{name}");
        if let Some(problem) = field_name_problem(&draft.name) {
            v.add(at("name"), problem);
        } else if !names.insert(draft.name.as_str()) {
            v.add(
                at("name"),
                format!("`{}` duplicates an earlier field", draft.name),
            );
        }
        v.check(at("title"), length_problem(&draft.title, MAX_TITLE_CHARS));
        v.check(
            at("description"),
            length_problem(&draft.description, MAX_FIELD_DESCRIPTION_CHARS),
        );
        let field_type = v.parsed(&at("type"), &draft.field_type);
        let sensitivity = v.parsed(&at("sensitivity"), &draft.sensitivity);
        let default_masking = match &draft.default_masking {
            None => None,
            Some(masking) => match masking.check() {
                Ok(rule) => Some(rule),
                Err(problems) => {
                    for (part, problem) in problems {
                        v.add(format!("{path}[{i}].default_masking.{part}"), problem);
                    }
                    None
                }
            },
        };
        fields.push(ResourceField {
            name: draft.name.clone(),
            title: draft.title.clone(),
            description: draft.description.clone(),
            field_type: field_type.unwrap_or(FieldType::String),
            sensitivity: sensitivity.unwrap_or(Sensitivity::Internal),
            primary_key: draft.primary_key,
            nullable: draft.nullable,
            default_masking,
        });
    }
    fields
}

fn check_tags(tags: &[String], path: &str, v: &mut Violations) -> Vec<String> {
    if tags.len() > MAX_TAGS {
        v.add(
            path,
            format!("at most {MAX_TAGS} tags (got {})", tags.len()),
        );
        return Vec::new();
    }
    let mut seen = HashSet::new();
    for (i, tag) in tags.iter().enumerate() {
        if let Some(problem) = text_problem(tag, MAX_TAG_CHARS) {
            v.add(format!("{path}[{i}]"), problem);
        } else if !seen.insert(tag.as_str()) {
            v.add(
                format!("{path}[{i}]"),
                format!("`{tag}` duplicates an earlier tag"),
            );
        }
    }
    tags.to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::drafts::MaskingDraft;
    use crate::domain::masking::MaskingKind;

    fn field(name: &str) -> FieldDraft {
        FieldDraft {
            name: name.into(),
            title: "标题".into(),
            description: String::new(),
            field_type: Ok(FieldType::String),
            sensitivity: Ok(Sensitivity::Internal),
            primary_key: false,
            nullable: false,
            default_masking: None,
        }
    }

    fn draft() -> DetailsDraft {
        DetailsDraft {
            title: "婚姻登记信息".into(),
            description: String::new(),
            fields: vec![field("registration_id")],
            layer: Ok(ResourceLayer::Base),
            sharing: Ok(Sharing::Conditional),
            sharing_conditions: "仅用于法定职责".into(),
            open: Ok(OpenAttribute::Closed),
            update_frequency: Ok(UpdateFrequency::Daily),
            line_id: String::new(),
            source_table: "public.marriage_registration".into(),
            tags: vec!["民政".into()],
        }
    }

    fn problems(draft: &DetailsDraft) -> Vec<String> {
        let mut v = Violations::default();
        check_details(draft, DetailField::ALL, "resource", &mut v);
        v.0.into_iter().map(|(path, _)| path).collect()
    }

    #[test]
    fn a_complete_description_passes() {
        assert!(problems(&draft()).is_empty());
    }

    #[test]
    fn every_problem_is_reported_with_its_path() {
        let mut bad = draft();
        bad.title = " ".into();
        bad.fields = vec![
            field("Bad Name"),
            field("ok"),
            field("ok"),
            FieldDraft {
                field_type: Err("must be set".into()),
                sensitivity: Err("must be set".into()),
                default_masking: Some(MaskingDraft {
                    kind: Ok(MaskingKind::Partial),
                    keep_first: -1,
                    keep_last: 0,
                    mask_character: String::new(),
                }),
                ..field("x")
            },
        ];
        bad.layer = Err("must be set".into());
        bad.line_id = "line-7".into();
        bad.source_table = "marriage registration".into();
        bad.tags = vec!["".into(), "a".into(), "a".into()];
        assert_eq!(
            problems(&bad),
            [
                "resource.title",
                "resource.fields[0].name",
                "resource.fields[2].name",
                "resource.fields[3].type",
                "resource.fields[3].sensitivity",
                "resource.fields[3].default_masking.keep_first",
                "resource.layer",
                "resource.line_id",
                "resource.source_table",
                "resource.tags[0]",
                "resource.tags[2]",
            ]
        );
    }

    #[test]
    fn only_named_parts_are_checked() {
        let mut bad = draft();
        bad.layer = Err("must be set".into());
        let mut v = Violations::default();
        let details = check_details(&bad, &[DetailField::Title], "resource", &mut v);
        assert!(v.is_empty());
        assert_eq!(details.title, "婚姻登记信息");
    }

    #[test]
    fn codes_and_field_counts() {
        assert!(code_problem("marriage-registration").is_none());
        for bad in ["ab", "Marriage", "-abc", "abc-", "a_b_c"] {
            assert!(code_problem(bad).is_some(), "{bad}");
        }
        let mut empty = draft();
        empty.fields.clear();
        assert_eq!(problems(&empty), ["resource.fields"]);
    }

    #[test]
    fn conditions_are_dropped_unless_sharing_is_conditional() {
        let mut v = Violations::default();
        let mut unconditional = draft();
        unconditional.sharing = Ok(Sharing::Unconditional);
        let details = normalise(check_details(&unconditional, DetailField::ALL, "r", &mut v));
        assert!(details.sharing_conditions.is_empty());
    }
}
