//! Column values three ways: typed from YAML by an enclave table's column
//! types, given as `--key col=value` flags, and shown in table cells.

use base64::Engine as _;
use chrono::{DateTime, NaiveDate};
use prost_types::Timestamp;
use serde_yaml_ng::Value as Yaml;
use zhongtai_contracts::exchange::v1::column_value::Value;
use zhongtai_contracts::exchange::v1::{ColumnValue, EnclaveColumn, EnclaveColumnType};

use super::super::labels;

/// A record key has at most this many columns, as an enclave table has.
const MAX_KEY_COLUMNS: usize = 16;

/// A cell: the value's text, `NULL`, or `(unchanged)` for a value the
/// source did not resend.
pub fn cell(value: &ColumnValue) -> String {
    if value.unchanged {
        return "(unchanged)".into();
    }
    match &value.value {
        None => "NULL".into(),
        Some(Value::BoolValue(b)) => b.to_string(),
        Some(Value::IntValue(i)) => i.to_string(),
        Some(Value::DoubleValue(d)) => d.to_string(),
        Some(
            Value::StringValue(s)
            | Value::NumericValue(s)
            | Value::DateValue(s)
            | Value::JsonValue(s),
        ) => s.clone(),
        Some(Value::BytesValue(b)) => base64::engine::general_purpose::STANDARD.encode(b),
        Some(Value::TimestampValue(t)) => labels::time(Some(t)),
    }
}

/// `registration_id=MR-0001, seq=2`.
pub fn pairs(columns: &[ColumnValue]) -> String {
    columns
        .iter()
        .map(|c| format!("{}={}", c.name, cell(c)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `--key registration_id=MR-0001[,seq:int=2]`: the key of a record to
/// trace. The exchange center matches a key by type and value, so a column
/// that is not text names its type: `:int`, `:double`, `:numeric`, `:bool`,
/// `:date` or `:timestamp`.
pub fn key_flag(value: &str) -> Result<Vec<ColumnValue>, String> {
    let mut columns: Vec<ColumnValue> = Vec::new();
    for pair in value.split(',') {
        let Some((name, text)) = pair.split_once('=') else {
            return Err(format!(
                "`{pair}` is not column=value; a key is col=value[,col:type=value], \
                 e.g. registration_id=MR2026-0001 or seq:int=2"
            ));
        };
        let (name, kind) = match name.trim().split_once(':') {
            Some((name, kind)) => (name.trim(), kind.trim()),
            None => (name.trim(), "text"),
        };
        if !is_column_name(name) {
            return Err(format!("`{name}` is not a column name"));
        }
        if columns.iter().any(|c| c.name == name) {
            return Err(format!("column `{name}` is given twice"));
        }
        let value = key_value(kind, text.trim()).map_err(|problem| format!("{name}: {problem}"))?;
        columns.push(ColumnValue {
            name: name.to_string(),
            value: Some(value),
            unchanged: false,
        });
    }
    if columns.len() > MAX_KEY_COLUMNS {
        return Err(format!("a key has at most {MAX_KEY_COLUMNS} columns"));
    }
    Ok(columns)
}

fn key_value(kind: &str, text: &str) -> Result<Value, String> {
    let column_type = match kind {
        "text" => EnclaveColumnType::Text,
        "int" => EnclaveColumnType::Bigint,
        "double" => EnclaveColumnType::Double,
        "numeric" => EnclaveColumnType::Numeric,
        "bool" => EnclaveColumnType::Boolean,
        "date" => EnclaveColumnType::Date,
        "timestamp" => EnclaveColumnType::Timestamp,
        other => {
            return Err(format!(
                "`{other}` is not a key type: use text, int, double, numeric, bool, date or timestamp"
            ));
        }
    };
    let yaml = match column_type {
        EnclaveColumnType::Boolean => match text {
            "true" => Yaml::Bool(true),
            "false" => Yaml::Bool(false),
            _ => return Err(format!("expected true or false, not \"{text}\"")),
        },
        EnclaveColumnType::Double => Yaml::Number(
            text.parse::<f64>()
                .map_err(|_| format!("expected a number, not \"{text}\""))?
                .into(),
        ),
        _ => Yaml::String(text.to_string()),
    };
    typed(column_type, &yaml)
}

/// Column names as sources and enclaves spell them: letters, digits and
/// underscores, not starting with a digit, 1..63.
pub fn is_column_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 63
        && !name.starts_with(|c: char| c.is_ascii_digit())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// A YAML value for `column`, typed as the column is. YAML `null` (or `~`)
/// is SQL NULL.
pub fn from_yaml(column: &EnclaveColumn, yaml: &Yaml) -> Result<ColumnValue, String> {
    let value = if yaml.is_null() {
        if !column.nullable {
            return Err("is not nullable".into());
        }
        None
    } else {
        Some(typed(column.r#type(), yaml)?)
    };
    Ok(ColumnValue {
        name: column.name.clone(),
        value,
        unchanged: false,
    })
}

fn typed(kind: EnclaveColumnType, yaml: &Yaml) -> Result<Value, String> {
    let expected = |what: &str| format!("expected {what}, not {}", shown(yaml));
    Ok(match kind {
        EnclaveColumnType::Text => match yaml {
            Yaml::String(s) => Value::StringValue(s.clone()),
            // YAML reads unquoted digits (codes, phone numbers) as numbers,
            // and would drop their leading zeros.
            Yaml::Number(_) | Yaml::Bool(_) => {
                return Err(format!(
                    "expected text, not {}; put the value in quotes to make it text",
                    shown(yaml)
                ));
            }
            _ => return Err(expected("text")),
        },
        EnclaveColumnType::Bigint => match yaml {
            Yaml::Number(n) => Value::IntValue(
                n.as_i64()
                    .ok_or_else(|| expected("a whole number within 64 bits"))?,
            ),
            Yaml::String(s) => Value::IntValue(
                s.trim()
                    .parse()
                    .map_err(|_| expected("a whole number within 64 bits"))?,
            ),
            _ => return Err(expected("a whole number within 64 bits")),
        },
        EnclaveColumnType::Double => match yaml {
            Yaml::Number(n) => Value::DoubleValue(n.as_f64().ok_or_else(|| expected("a number"))?),
            Yaml::String(s) => {
                Value::DoubleValue(s.trim().parse().map_err(|_| expected("a number"))?)
            }
            _ => return Err(expected("a number")),
        },
        EnclaveColumnType::Numeric => {
            let text = match yaml {
                Yaml::Number(n) => n.to_string(),
                Yaml::String(s) => s.trim().to_string(),
                _ => return Err(expected("a decimal number like \"1234.50\"")),
            };
            if !is_decimal(&text) {
                return Err(expected("a decimal number like \"1234.50\""));
            }
            Value::NumericValue(text)
        }
        EnclaveColumnType::Boolean => match yaml {
            Yaml::Bool(b) => Value::BoolValue(*b),
            _ => return Err(expected("true or false")),
        },
        EnclaveColumnType::Date => match yaml {
            Yaml::String(s) if NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").is_ok() => {
                Value::DateValue(s.trim().to_string())
            }
            _ => return Err(expected("a day like 2026-12-01")),
        },
        EnclaveColumnType::Timestamp => match yaml {
            Yaml::String(s) => {
                let at = DateTime::parse_from_rfc3339(s.trim())
                    .map_err(|_| expected("an RFC 3339 time like 2026-12-01T08:00:00+08:00"))?;
                Value::TimestampValue(Timestamp {
                    seconds: at.timestamp(),
                    nanos: i32::try_from(at.timestamp_subsec_nanos()).unwrap_or(0),
                })
            }
            _ => return Err(expected("an RFC 3339 time like 2026-12-01T08:00:00+08:00")),
        },
        EnclaveColumnType::Bytes => match yaml {
            Yaml::String(s) => Value::BytesValue(
                base64::engine::general_purpose::STANDARD
                    .decode(s.trim())
                    .map_err(|_| expected("base64 text"))?,
            ),
            _ => return Err(expected("base64 text")),
        },
        EnclaveColumnType::Json => {
            let text = match yaml {
                // A string holds JSON text already; anything else is JSON itself.
                Yaml::String(s) => {
                    serde_json::from_str::<serde_json::Value>(s)
                        .map_err(|e| format!("is not JSON text: {e}"))?;
                    s.clone()
                }
                other => serde_json::to_string(other).map_err(|e| e.to_string())?,
            };
            Value::JsonValue(text)
        }
        EnclaveColumnType::Unspecified => return Err("the column has no type".into()),
    })
}

fn is_decimal(text: &str) -> bool {
    let digits = text.strip_prefix(['-', '+']).unwrap_or(text);
    let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
    !whole.is_empty()
        && whole.bytes().all(|b| b.is_ascii_digit())
        && fraction.bytes().all(|b| b.is_ascii_digit())
}

fn shown(yaml: &Yaml) -> String {
    match yaml {
        Yaml::Null => "null".into(),
        Yaml::Bool(b) => b.to_string(),
        Yaml::Number(n) => n.to_string(),
        Yaml::String(s) => format!("\"{}\"", labels::clip(s, 40)),
        Yaml::Sequence(_) => "a list".into(),
        Yaml::Mapping(_) => "a mapping".into(),
        Yaml::Tagged(_) => "a tagged value".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn column(name: &str, kind: EnclaveColumnType, nullable: bool) -> EnclaveColumn {
        EnclaveColumn {
            name: name.into(),
            r#type: kind as i32,
            nullable,
        }
    }

    fn yaml(text: &str) -> Yaml {
        serde_yaml_ng::from_str(text).unwrap()
    }

    fn value_of(kind: EnclaveColumnType, text: &str) -> Result<Option<Value>, String> {
        from_yaml(&column("c", kind, true), &yaml(text)).map(|c| c.value)
    }

    #[test]
    fn yaml_scalars_take_the_column_type() {
        use EnclaveColumnType as T;
        assert_eq!(
            value_of(T::Text, "\"331121\""),
            Ok(Some(Value::StringValue("331121".into())))
        );
        assert_eq!(value_of(T::Bigint, "42"), Ok(Some(Value::IntValue(42))));
        assert_eq!(value_of(T::Bigint, "\"42\""), Ok(Some(Value::IntValue(42))));
        assert_eq!(value_of(T::Double, "3"), Ok(Some(Value::DoubleValue(3.0))));
        assert_eq!(
            value_of(T::Numeric, "\"1234.50\""),
            Ok(Some(Value::NumericValue("1234.50".into())))
        );
        assert_eq!(
            value_of(T::Boolean, "true"),
            Ok(Some(Value::BoolValue(true)))
        );
        assert_eq!(
            value_of(T::Date, "2026-12-01"),
            Ok(Some(Value::DateValue("2026-12-01".into())))
        );
        assert_eq!(
            value_of(T::Timestamp, "2026-12-01T08:00:00+08:00"),
            Ok(Some(Value::TimestampValue(Timestamp {
                seconds: 1_796_083_200,
                nanos: 0
            })))
        );
        assert_eq!(
            value_of(T::Bytes, "\"aGk=\""),
            Ok(Some(Value::BytesValue(b"hi".to_vec())))
        );
        assert_eq!(
            value_of(T::Json, "{a: 1}"),
            Ok(Some(Value::JsonValue(r#"{"a":1}"#.into())))
        );
        assert_eq!(value_of(T::Text, "~"), Ok(None));
    }

    #[test]
    fn mismatched_scalars_are_refused_with_the_expected_form() {
        use EnclaveColumnType as T;
        let unquoted = value_of(T::Text, "331121").unwrap_err();
        assert!(unquoted.contains("quotes"), "{unquoted}");
        assert!(
            value_of(T::Bigint, "1.5")
                .unwrap_err()
                .contains("whole number")
        );
        assert!(
            value_of(T::Date, "2026-13-01")
                .unwrap_err()
                .contains("2026-12-01")
        );
        assert!(
            value_of(T::Numeric, "\"12,5\"")
                .unwrap_err()
                .contains("decimal")
        );
        assert!(
            value_of(T::Boolean, "\"yes\"")
                .unwrap_err()
                .contains("true or false")
        );
        let not_null = from_yaml(&column("c", T::Text, false), &yaml("null")).unwrap_err();
        assert!(not_null.contains("not nullable"), "{not_null}");
    }

    #[test]
    fn keys_are_column_value_pairs() {
        let key = key_flag("registration_id=MR2026-0001, seq = 2").unwrap();
        assert_eq!(pairs(&key), "registration_id=MR2026-0001, seq=2");
        assert_eq!(key[1].value, Some(Value::StringValue("2".into())));
        let typed = key_flag("seq:int=2,day:date=2026-12-01,ok:bool=true").unwrap();
        let values: Vec<_> = typed.iter().map(|c| c.value.clone()).collect();
        assert_eq!(
            values,
            [
                Some(Value::IntValue(2)),
                Some(Value::DateValue("2026-12-01".into())),
                Some(Value::BoolValue(true)),
            ]
        );
        assert!(key_flag("seq:int=two").unwrap_err().starts_with("seq: "));
        assert!(
            key_flag("seq:long=2")
                .unwrap_err()
                .contains("not a key type")
        );
        assert!(
            key_flag("registration_id")
                .unwrap_err()
                .contains("col=value")
        );
        assert!(key_flag("a=1,a=2").unwrap_err().contains("twice"));
        assert!(key_flag("=1").unwrap_err().contains("not a column name"));
    }

    #[test]
    fn cells_show_nulls_and_unchanged_values() {
        let null = ColumnValue {
            name: "c".into(),
            value: None,
            unchanged: false,
        };
        assert_eq!(cell(&null), "NULL");
        let unchanged = ColumnValue {
            unchanged: true,
            ..null
        };
        assert_eq!(cell(&unchanged), "(unchanged)");
    }
}
