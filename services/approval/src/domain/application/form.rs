//! Form values against the types the item declares (see FormFieldType):
//! what a JSON value must look like to be a TEXT, an INTEGER, a DATE, ….

use serde_json::Value;

use crate::domain::service_item::FieldType;

/// Largest whole number a JSON number carries exactly.
const MAX_SAFE_INTEGER: f64 = 9_007_199_254_740_992.0;
/// Longest text value of one field.
pub const MAX_TEXT_CHARS: usize = 10_000;

/// Why `value` is not a valid `field_type`, if it is not.
pub fn type_problem(field_type: FieldType, value: &Value) -> Option<String> {
    match field_type {
        FieldType::Text => match value {
            Value::String(s) if s.chars().count() <= MAX_TEXT_CHARS => None,
            Value::String(_) => Some(format!("must be at most {MAX_TEXT_CHARS} characters")),
            _ => Some("must be text".into()),
        },
        FieldType::Integer => match value.as_f64() {
            Some(n) if n.fract() == 0.0 && n.abs() <= MAX_SAFE_INTEGER => None,
            _ => Some("must be a whole number within ±2^53".into()),
        },
        FieldType::Decimal => match value {
            Value::String(s) if is_decimal(s) => None,
            _ => Some("must be a decimal number written as text, e.g. \"1000000.00\"".into()),
        },
        FieldType::Boolean => (!value.is_boolean()).then(|| "must be true or false".into()),
        FieldType::Date => match value {
            Value::String(s)
                if s.len() == 10 && chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").is_ok() =>
            {
                None
            }
            _ => Some("must be a date written as \"YYYY-MM-DD\"".into()),
        },
        FieldType::Person => object_problem(
            value,
            &["name", "id_number"],
            "id_type",
            "must be a person: an object with name, id_type and id_number",
        ),
        FieldType::Organization => match object_problem(
            value,
            &["name", "unified_social_credit_code"],
            "",
            "must be an organisation: an object with name and unified_social_credit_code",
        ) {
            Some(problem) => Some(problem),
            None => value
                .get("unified_social_credit_code")
                .and_then(Value::as_str)
                .filter(|code| !is_credit_code(code))
                .map(|_| "unified_social_credit_code must be 18 digits or capital letters".into()),
        },
    }
}

/// `-12`, `1000000.00`: digits with an optional sign and fraction.
fn is_decimal(text: &str) -> bool {
    let unsigned = text.strip_prefix('-').unwrap_or(text);
    let (whole, fraction) = match unsigned.split_once('.') {
        Some((whole, fraction)) => (whole, Some(fraction)),
        None => (unsigned, None),
    };
    let digits = |part: &str| !part.is_empty() && part.chars().all(|c| c.is_ascii_digit());
    text.len() <= 64 && digits(whole) && fraction.is_none_or(digits)
}

fn is_credit_code(code: &str) -> bool {
    code.len() == 18
        && code
            .chars()
            .all(|c| c.is_ascii_digit() || c.is_ascii_uppercase())
}

/// An object whose `texts` are non-empty strings and whose `present` key,
/// if named, is set.
fn object_problem(value: &Value, texts: &[&str], present: &str, problem: &str) -> Option<String> {
    let Some(object) = value.as_object() else {
        return Some(problem.to_string());
    };
    let texts_ok = texts.iter().all(|key| {
        object
            .get(*key)
            .and_then(Value::as_str)
            .is_some_and(|s| !s.trim().is_empty() && s.chars().count() <= 200)
    });
    let present_ok = present.is_empty() || object.get(present).is_some_and(|v| !v.is_null());
    (!(texts_ok && present_ok)).then(|| problem.to_string())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn each_type_accepts_its_form_only() {
        let cases = [
            (FieldType::Text, json!("张三"), json!(12)),
            (FieldType::Integer, json!(42), json!(1.5)),
            (
                FieldType::Integer,
                json!(-9_007_199_254_740_992_i64),
                json!("42"),
            ),
            (FieldType::Decimal, json!("1000000.00"), json!(1000000.0)),
            (FieldType::Decimal, json!("-3"), json!("1e5")),
            (FieldType::Boolean, json!(true), json!("true")),
            (FieldType::Date, json!("2024-02-29"), json!("2023-02-29")),
            (
                FieldType::Person,
                json!({"name": "张三", "id_type": "ID_DOCUMENT_TYPE_RESIDENT_ID_CARD", "id_number": "330102199001011234"}),
                json!({"name": "张三"}),
            ),
            (
                FieldType::Organization,
                json!({"name": "某某公司", "unified_social_credit_code": "91330100MA27XXXX1X"}),
                json!({"name": "某某公司", "unified_social_credit_code": "short"}),
            ),
        ];
        for (field_type, good, bad) in cases {
            assert_eq!(
                type_problem(field_type, &good),
                None,
                "{field_type:?} {good}"
            );
            assert!(
                type_problem(field_type, &bad).is_some(),
                "{field_type:?} {bad}"
            );
        }
        assert!(type_problem(FieldType::Integer, &json!(1.0e16)).is_some());
        assert!(type_problem(FieldType::Date, &json!("2024-2-9")).is_some());
        assert!(type_problem(FieldType::Decimal, &json!("1.")).is_some());
        assert!(type_problem(FieldType::Text, &json!("字".repeat(MAX_TEXT_CHARS + 1))).is_some());
    }
}
