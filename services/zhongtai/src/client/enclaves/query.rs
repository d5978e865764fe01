//! `--where "field OP value"` conditions of `zhongtai enclave query`, with
//! OP one of `=`, `!=`, `in`, `>=`, `<`, `prefix`, `within` (a division
//! and the divisions inside it). `in` takes comma-separated values.

use zhongtai_contracts::common::v1::{RowCondition, RowOperator};

use super::super::exchange::values::is_column_name;

/// As many conditions as a row filter holds.
pub const MAX_CONDITIONS: usize = 16;
/// As many values as an `in` condition holds.
const MAX_IN_VALUES: usize = 1000;

const SHAPE: &str = "a condition is \"field OP value\" with OP one of =, !=, in, >=, <, prefix, \
                     within, e.g. \"region_code within 331121\"";

/// One `--where` value.
pub fn condition(text: &str) -> Result<RowCondition, String> {
    let (field, operator, operand) = split(text.trim()).ok_or_else(|| SHAPE.to_string())?;
    if !is_column_name(field) {
        return Err(format!("`{field}` is not a column name; {SHAPE}"));
    }
    let operator = match operator.to_ascii_lowercase().as_str() {
        "=" | "==" => RowOperator::Equals,
        "!=" | "<>" => RowOperator::NotEquals,
        "in" => RowOperator::In,
        ">=" => RowOperator::GreaterOrEqual,
        "<" => RowOperator::LessThan,
        "prefix" => RowOperator::Prefix,
        "within" => RowOperator::WithinDivision,
        other => return Err(format!("`{other}` is not an operator; {SHAPE}")),
    };
    let values: Vec<String> = if operator == RowOperator::In {
        operand.split(',').map(|v| unquote(v.trim())).collect()
    } else {
        vec![unquote(operand)]
    };
    if values.iter().any(String::is_empty) && operator != RowOperator::Equals {
        return Err(format!("`{text}` has an empty value"));
    }
    if values.len() > MAX_IN_VALUES {
        return Err(format!("`in` takes at most {MAX_IN_VALUES} values"));
    }
    Ok(RowCondition {
        field: field.to_string(),
        operator: operator as i32,
        values,
    })
}

/// `field OP value` with spaces, or `field=value` / `field>=value` without.
fn split(text: &str) -> Option<(&str, &str, &str)> {
    let mut words = text.splitn(3, char::is_whitespace);
    if let (Some(field), Some(operator), Some(operand)) = (words.next(), words.next(), words.next())
    {
        return Some((field, operator, operand.trim()));
    }
    for operator in ["!=", "<>", ">=", "==", "=", "<"] {
        if let Some((field, operand)) = text.split_once(operator) {
            return Some((field.trim(), operator, operand.trim()));
        }
    }
    None
}

fn unquote(value: &str) -> String {
    for quote in ['"', '\''] {
        if let Some(inner) = value
            .strip_prefix(quote)
            .and_then(|v| v.strip_suffix(quote))
        {
            return inner.to_string();
        }
    }
    value.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(text: &str) -> (String, RowOperator, Vec<String>) {
        let c = condition(text).unwrap();
        let operator = c.operator();
        (c.field, operator, c.values)
    }

    #[test]
    fn every_operator_reads() {
        let one = |v: &str| vec![v.to_string()];
        assert_eq!(
            parsed("region_code within 331121"),
            (
                "region_code".into(),
                RowOperator::WithinDivision,
                one("331121")
            )
        );
        assert_eq!(parsed("name = '王芳'").2, one("王芳"));
        assert_eq!(parsed("name = \"a b\"").2, one("a b"));
        assert_eq!(parsed("members != 3").1, RowOperator::NotEquals);
        assert_eq!(parsed("members >= 3").1, RowOperator::GreaterOrEqual);
        assert_eq!(parsed("members < 3").1, RowOperator::LessThan);
        assert_eq!(parsed("name PREFIX 王").1, RowOperator::Prefix);
        assert_eq!(
            parsed("region_code in 331121, 331122"),
            (
                "region_code".into(),
                RowOperator::In,
                vec!["331121".into(), "331122".into()]
            )
        );
        assert_eq!(
            parsed("members>=3"),
            ("members".into(), RowOperator::GreaterOrEqual, one("3"))
        );
        assert_eq!(parsed("region_code=331121").1, RowOperator::Equals);
    }

    #[test]
    fn malformed_conditions_say_what_a_condition_is() {
        for bad in [
            "region_code",
            "region_code like 33%",
            "1x = 3",
            "region_code in a,,b",
        ] {
            let error = condition(bad).unwrap_err();
            assert!(
                error.contains("field OP value") || error.contains("empty value"),
                "{bad}: {error}"
            );
        }
    }
}
