//! What clients send, before it is checked. Values the API could not even
//! translate (an unset enum, an unreadable timestamp) arrive as `Err` with
//! the problem, so the domain reports them together with every other
//! problem of the request in one answer.

use super::masking::{MaskingKind, MaskingRule};
use super::resource::{
    FieldType, OpenAttribute, ResourceLayer, Sensitivity, Sharing, UpdateFrequency,
};

/// A translated value, or why it could not be translated.
pub type Parsed<T> = Result<T, String>;

/// A masking rule as sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MaskingDraft {
    pub kind: Parsed<MaskingKind>,
    pub keep_first: i32,
    pub keep_last: i32,
    pub mask_character: String,
}

/// A resource field as sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldDraft {
    pub name: String,
    pub title: String,
    pub description: String,
    pub field_type: Parsed<FieldType>,
    pub sensitivity: Parsed<Sensitivity>,
    pub primary_key: bool,
    pub nullable: bool,
    pub default_masking: Option<MaskingDraft>,
}

/// A resource's describable parts as sent (registration, or the new values
/// of an update).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DetailsDraft {
    pub title: String,
    pub description: String,
    pub fields: Vec<FieldDraft>,
    pub layer: Parsed<ResourceLayer>,
    pub sharing: Parsed<Sharing>,
    pub sharing_conditions: String,
    pub open: Parsed<OpenAttribute>,
    pub update_frequency: Parsed<UpdateFrequency>,
    pub line_id: String,
    pub source_table: String,
    pub tags: Vec<String>,
}

impl MaskingDraft {
    /// The rule, or its problems as (sub-field, problem) pairs.
    pub fn check(&self) -> Result<MaskingRule, Vec<(String, String)>> {
        let kind = match &self.kind {
            Ok(kind) => *kind,
            Err(problem) => return Err(vec![("kind".to_string(), problem.clone())]),
        };
        let rule = MaskingRule {
            kind,
            keep_first: self.keep_first,
            keep_last: self.keep_last,
            mask_character: self.mask_character.clone(),
        };
        let problems = rule.problems();
        if problems.is_empty() {
            Ok(rule)
        } else {
            Err(problems
                .into_iter()
                .map(|(field, problem)| (field.to_string(), problem))
                .collect())
        }
    }
}
