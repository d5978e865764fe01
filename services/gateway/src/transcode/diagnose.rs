//! Why a JSON body did not deserialize, with the path of the offending
//! field. Only run after prost-reflect refused the body, so valid requests
//! pay nothing for it.

use prost_reflect::{DeserializeOptions, DynamicMessage, FieldDescriptor, Kind, MessageDescriptor};
use serde_json::Value as Json;

use super::descriptors::WellKnown;
use super::scalar::quote;

/// Deepest nesting examined; deeper bodies are reported as a whole.
const MAX_DEPTH: usize = 64;

/// (field path, problem) of the first problem found in `json` as a
/// `message`, or `None` when it finds none.
pub(crate) fn message_problem(
    message: &MessageDescriptor,
    json: &Json,
    path: &str,
) -> Option<(String, String)> {
    check_message(message, json, path, 0)
}

/// The same for one field's value (a body bound to a field).
pub(crate) fn field_problem(field: &FieldDescriptor, json: &Json) -> Option<(String, String)> {
    check_field(field, json, field.name(), 0)
}

fn check_message(
    message: &MessageDescriptor,
    json: &Json,
    path: &str,
    depth: usize,
) -> Option<(String, String)> {
    if depth > MAX_DEPTH {
        return Some((path.to_string(), "nested too deeply".into()));
    }
    if let Some(known) = WellKnown::of(message) {
        return check_well_known(message, known, json, path);
    }
    let Json::Object(object) = json else {
        return Some((
            path_or_body(path),
            format!("expected a JSON object, got {}", describe(json)),
        ));
    };
    let mut oneofs_seen: Vec<(String, String)> = Vec::new();
    for (key, value) in object {
        let Some(field) = message
            .get_field_by_json_name(key)
            .or_else(|| message.get_field_by_name(key))
        else {
            return Some((
                join(path, key),
                format!("unknown field of {}", message.full_name()),
            ));
        };
        let field_path = join(path, field.name());
        if value.is_null() && !is_null_value(&field) {
            continue;
        }
        if let Some(oneof) = field.containing_oneof().filter(|o| !o.is_synthetic()) {
            if let Some((_, other)) = oneofs_seen.iter().find(|(name, _)| name == oneof.name()) {
                return Some((
                    field_path,
                    format!(
                        "`{other}` is given too; {} are alternatives (oneof {}), give one",
                        oneof
                            .fields()
                            .map(|f| f.name().to_string())
                            .collect::<Vec<_>>()
                            .join(" and "),
                        oneof.name()
                    ),
                ));
            }
            oneofs_seen.push((oneof.name().to_string(), field.name().to_string()));
        }
        if let Some(problem) = check_field(&field, value, &field_path, depth + 1) {
            return Some(problem);
        }
    }
    None
}

fn check_field(
    field: &FieldDescriptor,
    json: &Json,
    path: &str,
    depth: usize,
) -> Option<(String, String)> {
    if json.is_null() && !is_null_value(field) {
        return None;
    }
    if field.is_map() {
        let Json::Object(entries) = json else {
            return Some((
                path.to_string(),
                format!("expected a JSON object (a map), got {}", describe(json)),
            ));
        };
        let Kind::Message(entry) = field.kind() else {
            return None;
        };
        let value_field = entry.map_entry_value_field();
        return entries.iter().find_map(|(key, value)| {
            check_kind(
                &value_field.kind(),
                value,
                &format!("{path}[{key:?}]"),
                depth,
            )
        });
    }
    if field.is_list() {
        let Json::Array(items) = json else {
            return Some((
                path.to_string(),
                format!("expected a JSON array, got {}", describe(json)),
            ));
        };
        return items.iter().enumerate().find_map(|(index, item)| {
            check_kind(&field.kind(), item, &format!("{path}[{index}]"), depth)
        });
    }
    check_kind(&field.kind(), json, path, depth)
}

fn check_kind(kind: &Kind, json: &Json, path: &str, depth: usize) -> Option<(String, String)> {
    let expected = |what: &str| {
        Some((
            path.to_string(),
            format!("expected {what}, got {}", describe(json)),
        ))
    };
    match (kind, json) {
        (Kind::Message(message), _) => check_message(message, json, path, depth),
        (Kind::Bool, Json::Bool(_)) | (Kind::String, Json::String(_)) => None,
        (Kind::Bool, _) => expected("a boolean"),
        (Kind::String, _) => expected("a string"),
        (Kind::Bytes, Json::String(_)) => None,
        (Kind::Bytes, _) => expected("base64 bytes as a string"),
        (Kind::Enum(descriptor), Json::String(name)) => {
            if descriptor.get_value_by_name(name).is_some() {
                return None;
            }
            let names: Vec<String> = descriptor.values().map(|v| v.name().to_string()).collect();
            Some((
                path.to_string(),
                format!(
                    "unknown {} value {}; expected one of {}",
                    descriptor.name(),
                    quote(name),
                    names.join(", ")
                ),
            ))
        }
        (Kind::Enum(_), Json::Number(number))
            if number.as_i64().is_some_and(|n| i32::try_from(n).is_ok()) =>
        {
            None
        }
        (Kind::Enum(descriptor), _) => expected(&format!("a {} name", descriptor.name())),
        (Kind::Double | Kind::Float, Json::Number(_)) => None,
        (Kind::Double | Kind::Float, Json::String(text))
            if matches!(text.as_str(), "NaN" | "Infinity" | "-Infinity")
                || text.parse::<f64>().is_ok() =>
        {
            None
        }
        (Kind::Double | Kind::Float, _) => expected("a number"),
        (integer, _) => check_integer(integer, json, path),
    }
}

fn check_integer(kind: &Kind, json: &Json, path: &str) -> Option<(String, String)> {
    let (low, high, what): (i128, i128, &str) = match kind {
        Kind::Int32 | Kind::Sint32 | Kind::Sfixed32 => {
            (i32::MIN.into(), i32::MAX.into(), "a 32-bit integer")
        }
        Kind::Uint32 | Kind::Fixed32 => (0, u32::MAX.into(), "a non-negative 32-bit integer"),
        Kind::Uint64 | Kind::Fixed64 => (0, u64::MAX.into(), "a non-negative 64-bit integer"),
        _ => (i64::MIN.into(), i64::MAX.into(), "a 64-bit integer"),
    };
    let value: Option<i128> = match json {
        Json::Number(number) => number
            .as_i64()
            .map(i128::from)
            .or_else(|| number.as_u64().map(i128::from))
            .or_else(|| {
                number
                    .as_f64()
                    .filter(|f| f.fract() == 0.0 && f.abs() < 1e19)
                    .map(|f| f as i128)
            }),
        Json::String(text) => text.parse().ok(),
        _ => None,
    };
    match value {
        Some(value) if (low..=high).contains(&value) => None,
        _ => Some((
            path.to_string(),
            format!("expected {what}, got {}", describe(json)),
        )),
    }
}

fn check_well_known(
    message: &MessageDescriptor,
    known: WellKnown,
    json: &Json,
    path: &str,
) -> Option<(String, String)> {
    let shape_ok = match known {
        WellKnown::Timestamp | WellKnown::Duration | WellKnown::FieldMask => json.is_string(),
        WellKnown::Struct | WellKnown::Any | WellKnown::Empty => json.is_object(),
        WellKnown::ListValue => json.is_array(),
        WellKnown::Value | WellKnown::Wrapper => true,
    };
    let expected = match known {
        WellKnown::Timestamp => "an RFC 3339 timestamp string such as \"2025-01-31T08:00:00Z\"",
        WellKnown::Duration => "a duration string such as \"1.5s\"",
        WellKnown::FieldMask => "a comma-separated list of field names",
        WellKnown::Struct | WellKnown::Any | WellKnown::Empty => "a JSON object",
        WellKnown::ListValue => "a JSON array",
        WellKnown::Value | WellKnown::Wrapper => "a value",
    };
    if !shape_ok {
        return Some((
            path_or_body(path),
            format!("expected {expected}, got {}", describe(json)),
        ));
    }
    let options = DeserializeOptions::new().deny_unknown_fields(true);
    DynamicMessage::deserialize_with_options(message.clone(), json.clone(), &options)
        .err()
        .map(|e| (path_or_body(path), format!("expected {expected}: {e}")))
}

fn is_null_value(field: &FieldDescriptor) -> bool {
    match field.kind() {
        Kind::Message(message) => message.full_name() == "google.protobuf.Value",
        Kind::Enum(descriptor) => descriptor.full_name() == "google.protobuf.NullValue",
        _ => false,
    }
}

fn join(path: &str, name: &str) -> String {
    if path.is_empty() {
        name.to_string()
    } else {
        format!("{path}.{name}")
    }
}

fn path_or_body(path: &str) -> String {
    if path.is_empty() {
        "body".to_string()
    } else {
        path.to_string()
    }
}

/// A JSON value as an error message shows it.
pub(crate) fn describe(json: &Json) -> String {
    match json {
        Json::Null => "null".into(),
        Json::Bool(value) => value.to_string(),
        Json::Number(number) => number.to_string(),
        Json::String(text) => quote(text),
        Json::Array(_) => "an array".into(),
        Json::Object(_) => "an object".into(),
    }
}
