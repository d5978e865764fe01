//! `google.protobuf.Struct` form values to JSON and back. JSON has no
//! NaN or infinity, so a form carrying one is refused.

use prost_types::value::Kind;
use prost_types::{ListValue, Struct, Value};
use serde_json::{Map, Number, Value as Json};
use zhongtai_kit::ApiError;

/// Deepest nesting accepted in a form.
const MAX_DEPTH: usize = 32;
/// Largest whole number a double carries exactly (2^53).
const MAX_EXACT: f64 = 9_007_199_254_740_992.0;

/// The JSON object of a form; `field` names it in errors.
pub fn json_from_struct(field: &str, form: &Struct) -> Result<Map<String, Json>, ApiError> {
    let mut object = Map::new();
    for (key, value) in &form.fields {
        object.insert(key.clone(), json_value(field, value, 1)?);
    }
    Ok(object)
}

fn json_value(field: &str, value: &Value, depth: usize) -> Result<Json, ApiError> {
    if depth > MAX_DEPTH {
        return Err(ApiError::invalid_field(
            field,
            format!("nests deeper than {MAX_DEPTH} levels"),
        ));
    }
    Ok(match &value.kind {
        None | Some(Kind::NullValue(_)) => Json::Null,
        Some(Kind::BoolValue(b)) => Json::Bool(*b),
        Some(Kind::StringValue(s)) => Json::String(s.clone()),
        // Whole numbers stay whole, so 12 reads back as 12, not 12.0.
        Some(Kind::NumberValue(n)) if n.fract() == 0.0 && n.abs() <= MAX_EXACT => {
            Json::Number(Number::from(*n as i64))
        }
        Some(Kind::NumberValue(n)) => Json::Number(Number::from_f64(*n).ok_or_else(|| {
            ApiError::invalid_field(field, "numbers must be finite (no NaN or infinity)")
        })?),
        Some(Kind::ListValue(list)) => Json::Array(
            list.values
                .iter()
                .map(|v| json_value(field, v, depth + 1))
                .collect::<Result<_, _>>()?,
        ),
        Some(Kind::StructValue(inner)) => {
            let mut object = Map::new();
            for (key, value) in &inner.fields {
                object.insert(key.clone(), json_value(field, value, depth + 1)?);
            }
            Json::Object(object)
        }
    })
}

/// The Struct of a stored form.
pub fn struct_from_json(object: &Map<String, Json>) -> Struct {
    Struct {
        fields: object
            .iter()
            .map(|(key, value)| (key.clone(), proto_value(value)))
            .collect(),
    }
}

fn proto_value(value: &Json) -> Value {
    let kind = match value {
        Json::Null => Kind::NullValue(0),
        Json::Bool(b) => Kind::BoolValue(*b),
        Json::Number(n) => Kind::NumberValue(n.as_f64().unwrap_or_default()),
        Json::String(s) => Kind::StringValue(s.clone()),
        Json::Array(items) => Kind::ListValue(ListValue {
            values: items.iter().map(proto_value).collect(),
        }),
        Json::Object(object) => Kind::StructValue(struct_from_json(object)),
    };
    Value { kind: Some(kind) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms_round_trip_and_nan_is_refused() {
        let json = serde_json::json!({
            "company_name": "某某有限公司",
            "capital": "1000000.00",
            "employees": 12,
            "listed": false,
            "founder": {"name": "张三", "id_number": "330102199001011234"},
            "tags": ["a", null],
        });
        let Json::Object(object) = json else {
            panic!("an object");
        };
        let form = struct_from_json(&object);
        assert_eq!(json_from_struct("form_data", &form).ok(), Some(object));
        let mut bad = form.clone();
        bad.fields.insert(
            "x".into(),
            Value {
                kind: Some(Kind::NumberValue(f64::NAN)),
            },
        );
        assert!(json_from_struct("form_data", &bad).is_err());
    }
}
