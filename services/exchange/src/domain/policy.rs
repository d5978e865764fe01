//! Delivery policies: the projection, masking and row filter a grant (or a
//! backflow rule) imposes on every change a subscriber receives. Pure: the
//! same rules evaluate the same way at every enforcement point.

use serde::{Deserialize, Serialize};

use super::change::Change;

/// How one field's values are disguised.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MaskingKind {
    None,
    /// Keep `keep_first` leading and `keep_last` trailing characters.
    Partial,
    /// Every character replaced.
    Redact,
    /// Lowercase hex HMAC-SHA256 keyed per grant: joinable, not readable.
    Hash,
    /// Delivered as NULL.
    Nullify,
}

/// A masking rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MaskingRule {
    pub kind: MaskingKind,
    pub keep_first: u32,
    pub keep_last: u32,
    /// A single character; `*` by default.
    pub mask_character: char,
}

impl MaskingRule {
    pub fn none() -> Self {
        Self {
            kind: MaskingKind::None,
            keep_first: 0,
            keep_last: 0,
            mask_character: '*',
        }
    }
}

/// One granted field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldAccess {
    pub field: String,
    pub masking: MaskingRule,
}

/// Comparison of a row condition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RowOperator {
    Equals,
    NotEquals,
    In,
    GreaterOrEqual,
    LessThan,
    Prefix,
    WithinDivision,
}

/// One condition on one field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RowCondition {
    pub field: String,
    pub operator: RowOperator,
    pub values: Vec<String>,
}

/// The conjunction of its conditions; empty admits every row.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct RowFilter {
    pub conditions: Vec<RowCondition>,
}

/// What a subscriber may receive.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct DeliveryPolicy {
    /// Granted fields with their masking; empty means every column
    /// unmasked (a line within one tenant, a backflow rule without fields).
    pub fields: Vec<FieldAccess>,
    pub row_filter: RowFilter,
}

/// What a policy makes of one change for one subscriber.
#[derive(Debug, Clone, PartialEq)]
pub enum Projected {
    /// Deliver this (projected, masked) change.
    Deliver(Change),
    /// The row filter excludes it: nothing is delivered, by design.
    FilteredOut,
}
