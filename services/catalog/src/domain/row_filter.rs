//! Row filters: which rows of a resource a grant admits, as a conjunction
//! of declarative conditions (never SQL), checked against the resource's
//! field schema so every enforcement point can evaluate them the same way.

use chrono::{DateTime, NaiveDate};
use serde::{Deserialize, Serialize};
use zhongtai_kit::DivisionCode;

use super::resource::{FieldType, ResourceDetails};

/// Most conditions one filter may hold.
pub const MAX_CONDITIONS: usize = 16;
/// Most values of an IN condition.
pub const MAX_IN_VALUES: usize = 1000;
/// Longest operand, in characters.
pub const MAX_VALUE_CHARS: usize = 1000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
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
    /// `None` when the request left it unspecified (refused by [`problems`]).
    pub operator: Option<RowOperator>,
    pub values: Vec<String>,
}

/// Every condition must hold; no conditions admit every row.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RowFilter {
    pub conditions: Vec<RowCondition>,
}

impl RowFilter {
    pub fn is_empty(&self) -> bool {
        self.conditions.is_empty()
    }
}

/// What is wrong with `filter` on `resource`, as (path below the filter,
/// problem) pairs, e.g. `("conditions[0].values", …)`.
pub fn problems(filter: &RowFilter, resource: &ResourceDetails) -> Vec<(String, String)> {
    let mut problems = Vec::new();
    if filter.conditions.len() > MAX_CONDITIONS {
        problems.push((
            "conditions".to_string(),
            format!(
                "at most {MAX_CONDITIONS} conditions (got {})",
                filter.conditions.len()
            ),
        ));
        return problems;
    }
    for (i, condition) in filter.conditions.iter().enumerate() {
        let path = |part: &str| format!("conditions[{i}].{part}");
        let field_type = match resource.field(&condition.field) {
            Some(field) => Some(field.field_type),
            None => {
                problems.push((
                    path("field"),
                    format!("`{}` is not a field of the resource", condition.field),
                ));
                None
            }
        };
        let Some(operator) = condition.operator else {
            problems.push((path("operator"), "must be set".to_string()));
            continue;
        };
        if let Some(problem) = arity_problem(operator, condition.values.len()) {
            problems.push((path("values"), problem));
            continue;
        }
        if let Some(field_type) = field_type
            && let Some(problem) = operator_problem(operator, field_type)
        {
            problems.push((path("operator"), problem));
            continue;
        }
        for (j, value) in condition.values.iter().enumerate() {
            if let Some(problem) = value_problem(operator, field_type, value) {
                problems.push((format!("conditions[{i}].values[{j}]"), problem));
            }
        }
    }
    problems
}

fn arity_problem(operator: RowOperator, count: usize) -> Option<String> {
    match operator {
        RowOperator::In if !(1..=MAX_IN_VALUES).contains(&count) => {
            Some(format!("IN takes 1..{MAX_IN_VALUES} values (got {count})"))
        }
        RowOperator::In => None,
        _ if count != 1 => Some(format!("takes exactly one value (got {count})")),
        _ => None,
    }
}

fn operator_problem(operator: RowOperator, field_type: FieldType) -> Option<String> {
    let fits = match operator {
        RowOperator::Prefix => field_type == FieldType::String,
        RowOperator::WithinDivision => matches!(field_type, FieldType::String | FieldType::Integer),
        RowOperator::GreaterOrEqual | RowOperator::LessThan => !matches!(
            field_type,
            FieldType::Boolean | FieldType::Bytes | FieldType::Json
        ),
        RowOperator::Equals | RowOperator::NotEquals | RowOperator::In => {
            !matches!(field_type, FieldType::Bytes | FieldType::Json)
        }
    };
    (!fits).then(|| format!("does not apply to a {field_type:?} field"))
}

fn value_problem(
    operator: RowOperator,
    field_type: Option<FieldType>,
    value: &str,
) -> Option<String> {
    if value.chars().count() > MAX_VALUE_CHARS {
        return Some(format!("must be at most {MAX_VALUE_CHARS} characters"));
    }
    if operator == RowOperator::WithinDivision {
        return DivisionCode::parse(value)
            .err()
            .map(|_| "must be a six-digit division code, e.g. 331100".to_string());
    }
    let parses = match field_type {
        None | Some(FieldType::String | FieldType::Bytes | FieldType::Json) => true,
        Some(FieldType::Integer) => value.parse::<i64>().is_ok(),
        Some(FieldType::Decimal | FieldType::Double) => is_decimal(value),
        Some(FieldType::Boolean) => matches!(value, "true" | "false"),
        Some(FieldType::Date) => NaiveDate::parse_from_str(value, "%Y-%m-%d").is_ok(),
        Some(FieldType::Timestamp) => DateTime::parse_from_rfc3339(value).is_ok(),
    };
    (!parses).then(|| match field_type {
        Some(FieldType::Integer) => "must be an integer".to_string(),
        Some(FieldType::Decimal | FieldType::Double) => "must be a decimal number".to_string(),
        Some(FieldType::Boolean) => "must be true or false".to_string(),
        Some(FieldType::Date) => "must be a date (YYYY-MM-DD)".to_string(),
        _ => "must be an RFC 3339 timestamp".to_string(),
    })
}

/// Plain decimal text: an optional sign, digits, an optional fraction.
fn is_decimal(value: &str) -> bool {
    let unsigned = value.strip_prefix(['-', '+']).unwrap_or(value);
    let (whole, fraction) = unsigned.split_once('.').unwrap_or((unsigned, ""));
    let digits = |s: &str| s.chars().all(|c| c.is_ascii_digit());
    !whole.is_empty()
        && digits(whole)
        && digits(fraction)
        && !(unsigned.contains('.') && fraction.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::resource::{
        OpenAttribute, ResourceField, ResourceLayer, Sensitivity, Sharing, UpdateFrequency,
    };

    fn field(name: &str, field_type: FieldType) -> ResourceField {
        ResourceField {
            name: name.into(),
            title: String::new(),
            description: String::new(),
            field_type,
            sensitivity: Sensitivity::Internal,
            primary_key: false,
            nullable: true,
            default_masking: None,
        }
    }

    fn resource() -> ResourceDetails {
        ResourceDetails {
            title: "t".into(),
            description: String::new(),
            fields: vec![
                field("district", FieldType::String),
                field("amount", FieldType::Decimal),
                field("registered_on", FieldType::Date),
                field("age", FieldType::Integer),
                field("photo", FieldType::Bytes),
            ],
            layer: ResourceLayer::Base,
            sharing: Sharing::Conditional,
            sharing_conditions: String::new(),
            open: OpenAttribute::Closed,
            update_frequency: UpdateFrequency::Daily,
            line_id: None,
            source_table: String::new(),
            tags: Vec::new(),
        }
    }

    fn condition(field: &str, operator: Option<RowOperator>, values: &[&str]) -> RowCondition {
        RowCondition {
            field: field.into(),
            operator,
            values: values.iter().map(|v| v.to_string()).collect(),
        }
    }

    fn paths(filter: RowFilter) -> Vec<String> {
        problems(&filter, &resource())
            .into_iter()
            .map(|(path, _)| path)
            .collect()
    }

    #[test]
    fn a_well_formed_filter_passes() {
        let filter = RowFilter {
            conditions: vec![
                condition("district", Some(RowOperator::WithinDivision), &["331100"]),
                condition("amount", Some(RowOperator::GreaterOrEqual), &["1000.50"]),
                condition(
                    "registered_on",
                    Some(RowOperator::LessThan),
                    &["2024-01-01"],
                ),
                condition("age", Some(RowOperator::In), &["18", "19"]),
                condition("district", Some(RowOperator::Prefix), &["3311"]),
            ],
        };
        assert_eq!(paths(filter), Vec::<String>::new());
        assert!(paths(RowFilter::default()).is_empty());
    }

    #[test]
    fn every_problem_is_named() {
        let filter = RowFilter {
            conditions: vec![
                condition("nope", Some(RowOperator::Equals), &["x"]),
                condition("district", None, &["x"]),
                condition("district", Some(RowOperator::Equals), &["a", "b"]),
                condition("age", Some(RowOperator::In), &[]),
                condition("district", Some(RowOperator::WithinDivision), &["3311"]),
                condition("amount", Some(RowOperator::Prefix), &["1"]),
                condition("age", Some(RowOperator::Equals), &["eighteen"]),
                condition("registered_on", Some(RowOperator::Equals), &["1 May"]),
                condition("photo", Some(RowOperator::Equals), &["x"]),
            ],
        };
        assert_eq!(
            paths(filter),
            [
                "conditions[0].field",
                "conditions[1].operator",
                "conditions[2].values",
                "conditions[3].values",
                "conditions[4].values[0]",
                "conditions[5].operator",
                "conditions[6].values[0]",
                "conditions[7].values[0]",
                "conditions[8].operator",
            ]
        );
    }

    #[test]
    fn at_most_sixteen_conditions() {
        let one = condition("age", Some(RowOperator::Equals), &["1"]);
        let filter = RowFilter {
            conditions: vec![one; MAX_CONDITIONS + 1],
        };
        assert_eq!(paths(filter), ["conditions"]);
    }

    #[test]
    fn decimals_are_plain_text_numbers() {
        for good in ["1", "-1.5", "+0.25", "10"] {
            assert!(is_decimal(good), "{good}");
        }
        for bad in ["", "1.", ".5", "1e3", "1,5", "--1"] {
            assert!(!is_decimal(bad), "{bad}");
        }
    }
}
