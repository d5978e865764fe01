//! Typed claim values and their JSON form inside tokens.
//!
//! Tokens carry claims as a JSON object `name -> value`: strings, dates and
//! decimals as JSON strings, integers as numbers, booleans as booleans. The
//! JSON alone does not say whether `"2026-05-01"` is a date or a string, so
//! reading back needs the expected kind per claim name (from the
//! certificate type's definition).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The kind of a claim, as declared by a certificate type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ClaimKind {
    String,
    Integer,
    Boolean,
    /// A calendar date, `YYYY-MM-DD`.
    Date,
    /// A decimal number kept as text so no precision is lost, e.g. `"1000.50"`.
    Decimal,
}

impl ClaimKind {
    pub const ALL: [ClaimKind; 5] = [
        Self::String,
        Self::Integer,
        Self::Boolean,
        Self::Date,
        Self::Decimal,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::String => "string",
            Self::Integer => "integer",
            Self::Boolean => "boolean",
            Self::Date => "date",
            Self::Decimal => "decimal",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| kind.as_str() == name)
    }
}

impl std::fmt::Display for ClaimKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A claim's value.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ClaimValue {
    String(String),
    Integer(i64),
    Boolean(bool),
    /// `YYYY-MM-DD`.
    Date(String),
    /// An optionally signed decimal, `-?[0-9]+(\.[0-9]+)?`.
    Decimal(String),
}

/// One named claim of a certificate or code.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Claim {
    pub name: String,
    pub value: ClaimValue,
}

/// A claim value that does not fit its declared kind.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClaimError {
    #[error("claim {name:?} is not declared by the certificate type")]
    Undeclared { name: String },
    #[error("claim {name:?} must be {expected}")]
    WrongKind {
        name: String,
        expected: &'static str,
    },
}

impl ClaimKind {
    fn expectation(self) -> &'static str {
        match self {
            Self::String => "a string",
            Self::Integer => "an integer (a whole number within 64 bits)",
            Self::Boolean => "true or false",
            Self::Date => "a date written YYYY-MM-DD",
            Self::Decimal => "a decimal number written like 1000 or -12.50",
        }
    }
}

impl ClaimValue {
    pub fn kind(&self) -> ClaimKind {
        match self {
            Self::String(_) => ClaimKind::String,
            Self::Integer(_) => ClaimKind::Integer,
            Self::Boolean(_) => ClaimKind::Boolean,
            Self::Date(_) => ClaimKind::Date,
            Self::Decimal(_) => ClaimKind::Decimal,
        }
    }

    /// Parses a value written as text (as forms and APIs send it) into the
    /// kind a certificate type declares; `name` is only used in the error.
    pub fn parse(kind: ClaimKind, name: &str, text: &str) -> Result<ClaimValue, ClaimError> {
        let wrong = || ClaimError::WrongKind {
            name: name.to_owned(),
            expected: kind.expectation(),
        };
        match kind {
            ClaimKind::String => Ok(Self::String(text.to_owned())),
            ClaimKind::Integer => text.parse().map(Self::Integer).map_err(|_| wrong()),
            ClaimKind::Boolean => match text {
                "true" => Ok(Self::Boolean(true)),
                "false" => Ok(Self::Boolean(false)),
                _ => Err(wrong()),
            },
            ClaimKind::Date if is_date(text) => Ok(Self::Date(text.to_owned())),
            ClaimKind::Decimal if is_decimal(text) => Ok(Self::Decimal(text.to_owned())),
            ClaimKind::Date | ClaimKind::Decimal => Err(wrong()),
        }
    }

    /// The value as text, the inverse of [`parse`](Self::parse).
    pub fn to_text(&self) -> String {
        match self {
            Self::String(text) | Self::Date(text) | Self::Decimal(text) => text.clone(),
            Self::Integer(n) => n.to_string(),
            Self::Boolean(b) => b.to_string(),
        }
    }

    fn to_json(&self) -> Value {
        match self {
            Self::String(text) | Self::Date(text) | Self::Decimal(text) => {
                Value::String(text.clone())
            }
            Self::Integer(n) => Value::from(*n),
            Self::Boolean(b) => Value::Bool(*b),
        }
    }

    fn from_json(kind: ClaimKind, name: &str, value: &Value) -> Result<ClaimValue, ClaimError> {
        let wrong = || ClaimError::WrongKind {
            name: name.to_owned(),
            expected: kind.expectation(),
        };
        match (kind, value) {
            (ClaimKind::String, Value::String(text)) => Ok(Self::String(text.clone())),
            (ClaimKind::Integer, Value::Number(n)) => {
                n.as_i64().map(Self::Integer).ok_or_else(wrong)
            }
            (ClaimKind::Boolean, Value::Bool(b)) => Ok(Self::Boolean(*b)),
            (ClaimKind::Date, Value::String(text)) if is_date(text) => Ok(Self::Date(text.clone())),
            (ClaimKind::Decimal, Value::String(text)) if is_decimal(text) => {
                Ok(Self::Decimal(text.clone()))
            }
            _ => Err(wrong()),
        }
    }
}

/// The JSON object tokens carry for these claims.
pub fn claims_to_json(claims: &[Claim]) -> Map<String, Value> {
    claims
        .iter()
        .map(|claim| (claim.name.clone(), claim.value.to_json()))
        .collect()
}

/// Reads claims back with the kind `kind_of(name)` expects for each name;
/// a name without a kind, or a value of another kind, is an error.
pub fn claims_from_json(
    claims: &Map<String, Value>,
    kind_of: impl Fn(&str) -> Option<ClaimKind>,
) -> Result<Vec<Claim>, ClaimError> {
    claims
        .iter()
        .map(|(name, value)| {
            let kind =
                kind_of(name).ok_or_else(|| ClaimError::Undeclared { name: name.clone() })?;
            let value = ClaimValue::from_json(kind, name, value)?;
            Ok(Claim {
                name: name.clone(),
                value,
            })
        })
        .collect()
}

fn is_date(text: &str) -> bool {
    let shaped = text.len() == 10
        && text.bytes().enumerate().all(|(i, b)| {
            if i == 4 || i == 7 {
                b == b'-'
            } else {
                b.is_ascii_digit()
            }
        });
    shaped && chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d").is_ok()
}

fn is_decimal(text: &str) -> bool {
    let unsigned = text.strip_prefix('-').unwrap_or(text);
    let (whole, fraction) = match unsigned.split_once('.') {
        Some((whole, fraction)) => (whole, Some(fraction)),
        None => (unsigned, None),
    };
    let digits = |part: &str| !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit());
    digits(whole) && fraction.is_none_or(digits)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn licence_claims() -> Vec<Claim> {
        let claim = |name: &str, value| Claim {
            name: name.to_owned(),
            value,
        };
        vec![
            claim(
                "name",
                ClaimValue::String("青田县某某贸易有限公司".to_owned()),
            ),
            claim("employees", ClaimValue::Integer(12)),
            claim("foreign_invested", ClaimValue::Boolean(false)),
            claim("established", ClaimValue::Date("2026-05-01".to_owned())),
            claim("capital", ClaimValue::Decimal("1000000.00".to_owned())),
        ]
    }

    fn licence_kinds(name: &str) -> Option<ClaimKind> {
        Some(match name {
            "name" => ClaimKind::String,
            "employees" => ClaimKind::Integer,
            "foreign_invested" => ClaimKind::Boolean,
            "established" => ClaimKind::Date,
            "capital" => ClaimKind::Decimal,
            _ => return None,
        })
    }

    #[test]
    fn claims_are_plain_json_and_read_back_typed() {
        let json = claims_to_json(&licence_claims());
        assert_eq!(
            Value::Object(json.clone()),
            json!({"name":"青田县某某贸易有限公司","employees":12,"foreign_invested":false,
                   "established":"2026-05-01","capital":"1000000.00"})
        );
        let mut back = claims_from_json(&json, licence_kinds).unwrap();
        back.sort_by(|a, b| a.name.cmp(&b.name));
        let mut expected = licence_claims();
        expected.sort_by(|a, b| a.name.cmp(&b.name));
        assert_eq!(back, expected);
    }

    #[test]
    fn values_of_the_wrong_kind_are_named() {
        let read = |value: Value| {
            let map: Map<String, Value> = [("established".to_owned(), value)].into_iter().collect();
            claims_from_json(&map, licence_kinds)
        };
        for bad in [
            json!("2026-02-30"),
            json!("2026-5-1"),
            json!(20260501),
            json!(null),
        ] {
            assert_eq!(
                read(bad),
                Err(ClaimError::WrongKind {
                    name: "established".to_owned(),
                    expected: "a date written YYYY-MM-DD"
                })
            );
        }
        let map: Map<String, Value> = [("colour".to_owned(), json!("red"))].into_iter().collect();
        assert_eq!(
            claims_from_json(&map, licence_kinds),
            Err(ClaimError::Undeclared {
                name: "colour".to_owned()
            })
        );
        let map: Map<String, Value> = [("employees".to_owned(), json!(1.5))].into_iter().collect();
        assert!(matches!(
            claims_from_json(&map, licence_kinds),
            Err(ClaimError::WrongKind { .. })
        ));
    }

    #[test]
    fn text_forms_parse_by_kind() {
        assert_eq!(
            ClaimValue::parse(ClaimKind::Integer, "n", "-42"),
            Ok(ClaimValue::Integer(-42))
        );
        assert_eq!(
            ClaimValue::parse(ClaimKind::Boolean, "b", "true"),
            Ok(ClaimValue::Boolean(true))
        );
        assert!(ClaimValue::parse(ClaimKind::Boolean, "b", "yes").is_err());
        for good in ["0", "-12.50", "1000000"] {
            assert_eq!(
                ClaimValue::parse(ClaimKind::Decimal, "d", good),
                Ok(ClaimValue::Decimal(good.to_owned()))
            );
        }
        for bad in ["", "-", "1.", ".5", "1e5", "1,000", "+1"] {
            assert!(
                ClaimValue::parse(ClaimKind::Decimal, "d", bad).is_err(),
                "{bad}"
            );
        }
        assert_eq!(ClaimValue::Integer(7).to_text(), "7");
        assert_eq!(ClaimKind::from_name("date"), Some(ClaimKind::Date));
    }
}
