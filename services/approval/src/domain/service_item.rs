//! Service items (事项): what can be applied for, with which materials, which
//! process approves it and which certificate it yields.

use chrono::{DateTime, Utc};
use uuid::Uuid;
use zhongtai_kit::TenantId;

use super::error::ApprovalError;

/// Most materials an item may require.
pub const MAX_MATERIALS: usize = 100;
/// Most form fields an item may define.
pub const MAX_FORM_FIELDS: usize = 200;

/// An item's natural key within its tenant: 3..64 lowercase letters, digits
/// and hyphens, e.g. `business-licence`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ItemCode(String);

impl ItemCode {
    pub fn parse(value: &str) -> Result<Self, String> {
        let valid_chars = value
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
        if !(3..=64).contains(&value.len()) || !valid_chars {
            return Err(format!(
                "must be 3..64 lowercase letters, digits or '-', got `{value}`"
            ));
        }
        if value.starts_with('-') || value.ends_with('-') {
            return Err("must not start or end with '-'".into());
        }
        Ok(Self(value.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ItemKind {
    PublicService,
    DataAccess,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ItemState {
    Active,
    Suspended,
    Retired,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FieldType {
    Text,
    Integer,
    Decimal,
    Boolean,
    Date,
    Person,
    Organization,
}

/// A document the applicant hands in.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Material {
    pub code: String,
    pub name: String,
    pub description: String,
    pub required: bool,
    pub accepted_media_types: Vec<String>,
    pub max_size_bytes: i64,
}

/// One field of the application form.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct FormField {
    pub name: String,
    pub label: String,
    pub field_type: FieldType,
    pub required: bool,
    pub description: String,
}

/// The process definition that approves applications of an item.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ProcessRef {
    pub process_definition_id: String,
    /// 0: the latest version at submission time.
    pub version: i64,
}

/// What a client asks to create, not yet checked.
#[derive(Debug, Clone)]
pub struct ServiceItemDraft {
    pub tenant: TenantId,
    pub code: String,
    pub name: String,
    pub description: String,
    pub materials: Vec<Material>,
    pub certificate_type: String,
    pub process: Option<ProcessRef>,
    pub form_fields: Vec<FormField>,
    pub kind: ItemKind,
}

/// A stored service item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceItem {
    pub id: Uuid,
    pub tenant: TenantId,
    pub code: ItemCode,
    pub name: String,
    pub description: String,
    pub materials: Vec<Material>,
    pub certificate_type: Option<String>,
    pub process: Option<ProcessRef>,
    pub form_fields: Vec<FormField>,
    pub kind: ItemKind,
    pub state: ItemState,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl ServiceItemDraft {
    /// Checks every rule and builds version 1 of the item, or lists every
    /// violation at once.
    pub fn into_item(self, id: Uuid, now: DateTime<Utc>) -> Result<ServiceItem, ApprovalError> {
        let mut violations = Vec::new();
        let mut check = |field: String, problem: Option<String>| {
            if let Some(problem) = problem {
                violations.push((field, problem));
            }
        };

        let code = ItemCode::parse(&self.code);
        check("code".into(), code.as_ref().err().cloned());
        check("name".into(), text_problem(&self.name, 1, 200));
        check(
            "description".into(),
            text_problem(&self.description, 0, 4000),
        );
        if !self.certificate_type.is_empty() {
            check(
                "certificate_type".into(),
                ItemCode::parse(&self.certificate_type).err(),
            );
        }
        if let Some(process) = &self.process {
            check(
                "process.process_definition_id".into(),
                Uuid::parse_str(&process.process_definition_id)
                    .err()
                    .map(|_| "must be a UUID".to_string()),
            );
            check(
                "process.version".into(),
                (process.version < 0).then(|| "must not be negative".to_string()),
            );
        }

        if self.materials.len() > MAX_MATERIALS {
            check(
                "materials".into(),
                Some(format!("at most {MAX_MATERIALS} materials")),
            );
        }
        let mut material_codes = std::collections::HashSet::new();
        for (i, material) in self.materials.iter().enumerate() {
            let field = |name: &str| format!("materials[{i}].{name}");
            check(field("code"), slug_problem(&material.code));
            if !material_codes.insert(material.code.as_str()) {
                check(field("code"), Some("duplicates an earlier material".into()));
            }
            check(field("name"), text_problem(&material.name, 1, 200));
            check(
                field("description"),
                text_problem(&material.description, 0, 2000),
            );
            check(
                field("max_size_bytes"),
                (material.max_size_bytes < 0).then(|| "must not be negative".to_string()),
            );
            if material.accepted_media_types.len() > 20 {
                check(
                    field("accepted_media_types"),
                    Some("at most 20 types".into()),
                );
            }
            for (j, media_type) in material.accepted_media_types.iter().enumerate() {
                let valid = media_type.len() <= 100
                    && media_type
                        .split_once('/')
                        .is_some_and(|(a, b)| !a.is_empty() && !b.is_empty());
                if !valid {
                    check(
                        format!("materials[{i}].accepted_media_types[{j}]"),
                        Some("must be a media type like application/pdf".into()),
                    );
                }
            }
        }

        if self.form_fields.len() > MAX_FORM_FIELDS {
            check(
                "form_fields".into(),
                Some(format!("at most {MAX_FORM_FIELDS} fields")),
            );
        }
        let mut field_names = std::collections::HashSet::new();
        for (i, form_field) in self.form_fields.iter().enumerate() {
            let field = |name: &str| format!("form_fields[{i}].{name}");
            let snake = !form_field.name.is_empty()
                && form_field.name.len() <= 64
                && form_field
                    .name
                    .starts_with(|c: char| c.is_ascii_lowercase())
                && form_field
                    .name
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
            if !snake {
                check(
                    field("name"),
                    Some("must be lowercase snake_case, 1..64 characters".into()),
                );
            }
            if !field_names.insert(form_field.name.as_str()) {
                check(field("name"), Some("duplicates an earlier field".into()));
            }
            check(field("label"), text_problem(&form_field.label, 1, 200));
            check(
                field("description"),
                text_problem(&form_field.description, 0, 2000),
            );
        }

        let code = match code {
            Ok(code) if violations.is_empty() => code,
            _ => return Err(ApprovalError::Invalid(violations)),
        };
        Ok(ServiceItem {
            id,
            tenant: self.tenant,
            code,
            name: self.name.trim().to_string(),
            description: self.description,
            materials: self.materials,
            certificate_type: (!self.certificate_type.is_empty()).then_some(self.certificate_type),
            process: self.process,
            form_fields: self.form_fields,
            kind: self.kind,
            state: ItemState::Active,
            version: 1,
            created_at: now,
            updated_at: now,
        })
    }
}

/// Length check in characters (Chinese text counts one per character).
fn text_problem(value: &str, min: usize, max: usize) -> Option<String> {
    let chars = value.trim().chars().count();
    if chars < min {
        Some("must not be empty".into())
    } else if value.chars().count() > max {
        Some(format!("must be at most {max} characters"))
    } else {
        None
    }
}

fn slug_problem(value: &str) -> Option<String> {
    let valid = (1..=64).contains(&value.len())
        && value
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    (!valid).then(|| "must be 1..64 lowercase letters, digits or '-'".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn draft() -> ServiceItemDraft {
        ServiceItemDraft {
            tenant: TenantId::parse("331100", "market-regulation").expect("tenant"),
            code: "business-licence".into(),
            name: "营业执照设立登记".into(),
            description: "企业设立登记".into(),
            materials: vec![Material {
                code: "articles".into(),
                name: "公司章程".into(),
                description: String::new(),
                required: true,
                accepted_media_types: vec!["application/pdf".into()],
                max_size_bytes: 0,
            }],
            certificate_type: "business-licence".into(),
            process: None,
            form_fields: vec![FormField {
                name: "company_name".into(),
                label: "企业名称".into(),
                field_type: FieldType::Text,
                required: true,
                description: String::new(),
            }],
            kind: ItemKind::PublicService,
        }
    }

    #[test]
    fn a_valid_draft_becomes_version_one() {
        let item = draft().into_item(Uuid::nil(), Utc::now()).expect("valid");
        assert_eq!(item.version, 1);
        assert_eq!(item.state, ItemState::Active);
        assert_eq!(item.code.as_str(), "business-licence");
        assert_eq!(item.certificate_type.as_deref(), Some("business-licence"));
    }

    #[test]
    fn every_violation_is_reported() {
        let mut bad = draft();
        bad.code = "Bad Code".into();
        bad.name = " ".into();
        bad.materials.push(bad.materials[0].clone());
        bad.form_fields[0].name = "CompanyName".into();
        bad.process = Some(ProcessRef {
            process_definition_id: "nope".into(),
            version: -1,
        });
        let Err(ApprovalError::Invalid(violations)) = bad.into_item(Uuid::nil(), Utc::now()) else {
            panic!("expected violations");
        };
        let fields: Vec<&str> = violations.iter().map(|(f, _)| f.as_str()).collect();
        for expected in [
            "code",
            "name",
            "materials[1].code",
            "form_fields[0].name",
            "process.process_definition_id",
            "process.version",
        ] {
            assert!(
                fields.contains(&expected),
                "{expected} missing from {fields:?}"
            );
        }
    }

    #[test]
    fn limits_are_enforced() {
        let mut big = draft();
        big.materials = (0..=MAX_MATERIALS)
            .map(|i| Material {
                code: format!("m{i}"),
                ..big.materials[0].clone()
            })
            .collect();
        big.name = "名".repeat(201);
        let Err(ApprovalError::Invalid(violations)) = big.into_item(Uuid::nil(), Utc::now()) else {
            panic!("expected violations");
        };
        assert!(violations.iter().any(|(f, _)| f == "materials"));
        assert!(violations.iter().any(|(f, _)| f == "name"));
    }

    #[test]
    fn item_codes() {
        assert!(ItemCode::parse("business-licence").is_ok());
        for bad in ["ab", "-abc", "abc-", "ABC", "a_b_c", &"a".repeat(65)] {
            assert!(ItemCode::parse(bad).is_err(), "{bad} accepted");
        }
    }
}
