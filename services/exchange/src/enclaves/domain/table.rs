//! Enclave tables: their columns, types and keys.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::domain::change::Value;

/// Column types of enclave tables; each takes one [`Value`] variant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ColumnType {
    Text,
    Bigint,
    Double,
    Numeric,
    Boolean,
    Date,
    Timestamp,
    Bytes,
    Json,
}

impl ColumnType {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Text => "text",
            Self::Bigint => "bigint",
            Self::Double => "double",
            Self::Numeric => "numeric",
            Self::Boolean => "boolean",
            Self::Date => "date",
            Self::Timestamp => "timestamp",
            Self::Bytes => "bytes",
            Self::Json => "json",
        }
    }

    /// The type a value carries; `None` for NULL and unchanged values,
    /// which fit every type.
    pub fn of_value(value: &Value) -> Option<Self> {
        match value {
            Value::Null | Value::Unchanged => None,
            Value::Bool(_) => Some(Self::Boolean),
            Value::Int(_) => Some(Self::Bigint),
            Value::Double(_) => Some(Self::Double),
            Value::Text(_) => Some(Self::Text),
            Value::Numeric(_) => Some(Self::Numeric),
            Value::Bytes(_) => Some(Self::Bytes),
            Value::Date(_) => Some(Self::Date),
            Value::Timestamp(_) => Some(Self::Timestamp),
            Value::Json(_) => Some(Self::Json),
        }
    }

    /// Whether a column of this type can hold `value` (nullability aside).
    pub fn accepts(self, value: &Value) -> bool {
        Self::of_value(value).is_none_or(|own| own == self)
    }
}

/// One column.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ColumnDef {
    pub name: String,
    #[serde(rename = "type")]
    pub column_type: ColumnType,
    pub nullable: bool,
}

/// Where a table's rows come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TableOrigin {
    /// Filled by a subscription.
    Received,
    /// Written by the tenant itself.
    Local,
}

impl TableOrigin {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Received => "received",
            Self::Local => "local",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        [Self::Received, Self::Local]
            .into_iter()
            .find(|origin| origin.as_str() == name)
    }
}

/// An enclave table.
#[derive(Debug, Clone, PartialEq)]
pub struct TableDef {
    pub name: String,
    pub origin: TableOrigin,
    pub subscription_id: Option<Uuid>,
    pub columns: Vec<ColumnDef>,
    pub key_columns: Vec<String>,
    pub row_count: i64,
}

impl TableDef {
    pub fn column(&self, name: &str) -> Option<&ColumnDef> {
        self.columns.iter().find(|c| c.name == name)
    }

    pub fn is_key(&self, name: &str) -> bool {
        self.key_columns.iter().any(|k| k == name)
    }

    /// Whether `other` defines the same table (columns in order, keys),
    /// so creating it again changes nothing.
    pub fn same_definition(&self, other: &TableDef) -> bool {
        self.origin == other.origin
            && self.columns == other.columns
            && self.key_columns == other.key_columns
    }

    /// Key columns in key order.
    pub fn key_defs(&self) -> Vec<&ColumnDef> {
        self.key_columns
            .iter()
            .filter_map(|k| self.column(k))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_accept_their_own_values_and_nulls() {
        assert!(ColumnType::Bigint.accepts(&Value::Int(1)));
        assert!(ColumnType::Bigint.accepts(&Value::Null));
        assert!(ColumnType::Text.accepts(&Value::Unchanged));
        assert!(!ColumnType::Bigint.accepts(&Value::Text("1".into())));
        assert!(!ColumnType::Numeric.accepts(&Value::Double(1.0)));
        assert_eq!(ColumnType::of_value(&Value::Null), None);
    }
}
