//! Row keys as the journal stores them: canonical JSON, sorted by column
//! name, each value with its type, so a trace by key is one equality
//! lookup and reads back to the same typed columns.

use chrono::DateTime;
use serde_json::{Value as Json, json};

use crate::domain::change::{Column, Value};

/// `[["id","int","1"],["region","text","331100"]]`: sorted by column name;
/// NULL and unchanged values carry no text.
pub fn key_json(key: &[Column]) -> String {
    let mut columns: Vec<&Column> = key.iter().collect();
    columns.sort_by(|a, b| a.name.cmp(&b.name));
    let entries: Vec<Json> = columns
        .into_iter()
        .map(|column| json!([column.name, type_tag(&column.value), column.value.text()]))
        .collect();
    Json::Array(entries).to_string()
}

fn type_tag(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Unchanged => "unchanged",
        Value::Bool(_) => "bool",
        Value::Int(_) => "int",
        Value::Double(_) => "double",
        Value::Text(_) => "text",
        Value::Numeric(_) => "numeric",
        Value::Bytes(_) => "bytes",
        Value::Date(_) => "date",
        Value::Timestamp(_) => "timestamp",
        Value::Json(_) => "json",
    }
}

/// Inverse of [`key_json`]; `None` for text it did not write.
pub fn key_columns(json: &str) -> Option<Vec<Column>> {
    let entries: Vec<(String, String, Option<String>)> = serde_json::from_str(json).ok()?;
    entries
        .into_iter()
        .map(|(name, tag, text)| Some(Column::new(name, typed(&tag, text)?)))
        .collect()
}

fn typed(tag: &str, text: Option<String>) -> Option<Value> {
    let value = match (tag, text) {
        ("null", _) => Value::Null,
        ("unchanged", _) => Value::Unchanged,
        (_, None) => return None,
        ("bool", Some(t)) => Value::Bool(t.parse().ok()?),
        ("int", Some(t)) => Value::Int(t.parse().ok()?),
        ("double", Some(t)) => Value::Double(t.parse().ok()?),
        ("text", Some(t)) => Value::Text(t),
        ("numeric", Some(t)) => Value::Numeric(t),
        ("bytes", Some(t)) => Value::Bytes(hex::decode(t).ok()?),
        ("date", Some(t)) => Value::Date(t),
        ("timestamp", Some(t)) => Value::Timestamp(DateTime::parse_from_rfc3339(&t).ok()?.to_utc()),
        ("json", Some(t)) => Value::Json(t),
        _ => return None,
    };
    Some(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_canonical_and_read_back() {
        let at = DateTime::from_timestamp(1_770_000_000, 123_000).unwrap_or_default();
        let key = vec![
            Column::new("z", Value::Text("张三".into())),
            Column::new("a", Value::Int(7)),
            Column::new("t", Value::Timestamp(at)),
            Column::new("n", Value::Null),
        ];
        let mut reordered = key.clone();
        reordered.reverse();
        assert_eq!(key_json(&key), key_json(&reordered));
        let mut sorted = key.clone();
        sorted.sort_by(|a, b| a.name.cmp(&b.name));
        assert_eq!(key_columns(&key_json(&key)), Some(sorted));
        assert_ne!(
            key_json(&[Column::new("a", Value::Int(7))]),
            key_json(&[Column::new("a", Value::Text("7".into()))])
        );
        assert_eq!(key_columns("not json"), None);
    }
}
