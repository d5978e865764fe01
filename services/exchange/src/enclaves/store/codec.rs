//! Typed column values as stored JSON (the change log) and metadata rows
//! to domain values and back.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;
use zhongtai_kit::TenantId;

use super::super::domain::{BackflowRule, ColumnDef, Enclave, EnclaveState, TableDef, TableOrigin};
use super::super::entities::{backflow_rule, enclave, enclave_table};
use super::super::error::EnclaveError;
use crate::domain::change::{Column, Value};
use crate::domain::policy::DeliveryPolicy;

/// A value with its type, so `1` and `"1"` stay apart and timestamps,
/// bytes and exact numerics survive the trip through JSON.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "t", content = "v", rename_all = "snake_case")]
enum StoredValue {
    Null,
    Unchanged,
    Bool(bool),
    Int(i64),
    /// Rust's shortest round-trip text, which also carries NaN and
    /// infinities that JSON numbers cannot.
    Double(String),
    Text(String),
    Numeric(String),
    /// Lowercase hex.
    Bytes(String),
    Date(String),
    /// Microseconds since the Unix epoch.
    Timestamp(i64),
    Json(String),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct StoredColumn {
    n: String,
    #[serde(flatten)]
    v: StoredValue,
}

fn stored(value: &Value) -> StoredValue {
    match value {
        Value::Null => StoredValue::Null,
        Value::Unchanged => StoredValue::Unchanged,
        Value::Bool(b) => StoredValue::Bool(*b),
        Value::Int(i) => StoredValue::Int(*i),
        Value::Double(d) => StoredValue::Double(d.to_string()),
        Value::Text(s) => StoredValue::Text(s.clone()),
        Value::Numeric(s) => StoredValue::Numeric(s.clone()),
        Value::Bytes(b) => StoredValue::Bytes(hex::encode(b)),
        Value::Date(s) => StoredValue::Date(s.clone()),
        Value::Timestamp(t) => StoredValue::Timestamp(t.timestamp_micros()),
        Value::Json(s) => StoredValue::Json(s.clone()),
    }
}

fn value(stored: StoredValue) -> Result<Value, String> {
    Ok(match stored {
        StoredValue::Null => Value::Null,
        StoredValue::Unchanged => Value::Unchanged,
        StoredValue::Bool(b) => Value::Bool(b),
        StoredValue::Int(i) => Value::Int(i),
        StoredValue::Double(d) => {
            Value::Double(d.parse().map_err(|_| format!("bad stored double {d}"))?)
        }
        StoredValue::Text(s) => Value::Text(s),
        StoredValue::Numeric(s) => Value::Numeric(s),
        StoredValue::Bytes(b) => {
            Value::Bytes(hex::decode(&b).map_err(|_| "bad stored bytes".to_string())?)
        }
        StoredValue::Date(s) => Value::Date(s),
        StoredValue::Timestamp(micros) => Value::Timestamp(
            DateTime::from_timestamp_micros(micros)
                .ok_or_else(|| format!("bad stored timestamp {micros}"))?,
        ),
        StoredValue::Json(s) => Value::Json(s),
    })
}

/// JSON of typed columns.
pub fn columns_json(columns: &[Column]) -> String {
    let stored: Vec<StoredColumn> = columns
        .iter()
        .map(|c| StoredColumn {
            n: c.name.clone(),
            v: stored(&c.value),
        })
        .collect();
    serde_json::to_string(&stored).unwrap_or_else(|_| "[]".into())
}

/// Inverse of [`columns_json`].
pub fn columns_from_json(json: &str) -> Result<Vec<Column>, String> {
    let stored: Vec<StoredColumn> =
        serde_json::from_str(json).map_err(|e| format!("bad stored columns: {e}"))?;
    stored
        .into_iter()
        .map(|c| Ok(Column::new(c.n, value(c.v)?)))
        .collect()
}

fn corrupt(what: &str, detail: impl std::fmt::Display) -> EnclaveError {
    EnclaveError::Storage(format!("stored {what} is unreadable: {detail}"))
}

fn uuid(what: &str, text: &str) -> Result<Uuid, EnclaveError> {
    Uuid::parse_str(text).map_err(|e| corrupt(what, e))
}

fn tenant(what: &str, division: &str, department: &str) -> Result<TenantId, EnclaveError> {
    TenantId::parse(division, department).map_err(|e| corrupt(what, e))
}

pub fn enclave(row: enclave::Model) -> Result<Enclave, EnclaveError> {
    Ok(Enclave {
        id: uuid("enclave id", &row.id)?,
        tenant: tenant(
            "enclave tenant",
            &row.tenant_division,
            &row.tenant_department,
        )?,
        name: row.name,
        state: EnclaveState::from_name(&row.state)
            .ok_or_else(|| corrupt("enclave state", &row.state))?,
        request_id: row.request_id,
        created_at: row.created_at,
        updated_at: row.updated_at,
    })
}

pub fn enclave_row(enclave: &Enclave) -> enclave::Model {
    enclave::Model {
        id: enclave.id.to_string(),
        tenant_division: enclave.tenant.division.to_string(),
        tenant_department: enclave.tenant.department.clone().unwrap_or_default(),
        name: enclave.name.clone(),
        state: enclave.state.as_str().into(),
        request_id: enclave.request_id.clone(),
        created_at: enclave.created_at,
        updated_at: enclave.updated_at,
    }
}

pub fn table(row: enclave_table::Model) -> Result<TableDef, EnclaveError> {
    let columns: Vec<ColumnDef> =
        serde_json::from_str(&row.columns).map_err(|e| corrupt("table columns", e))?;
    let key_columns: Vec<String> =
        serde_json::from_str(&row.key_columns).map_err(|e| corrupt("table keys", e))?;
    Ok(TableDef {
        origin: TableOrigin::from_name(&row.origin)
            .ok_or_else(|| corrupt("table origin", &row.origin))?,
        subscription_id: row
            .subscription_id
            .as_deref()
            .map(|id| uuid("table subscription", id))
            .transpose()?,
        name: row.name,
        columns,
        key_columns,
        row_count: row.row_count,
    })
}

pub fn table_row(enclave_id: Uuid, table: &TableDef, now: DateTime<Utc>) -> enclave_table::Model {
    enclave_table::Model {
        enclave_id: enclave_id.to_string(),
        name: table.name.clone(),
        origin: table.origin.as_str().into(),
        subscription_id: table.subscription_id.map(|id| id.to_string()),
        columns: serde_json::to_string(&table.columns).unwrap_or_else(|_| "[]".into()),
        key_columns: serde_json::to_string(&table.key_columns).unwrap_or_else(|_| "[]".into()),
        row_count: table.row_count,
        created_at: now,
        updated_at: now,
    }
}

pub fn rule(row: backflow_rule::Model) -> Result<BackflowRule, EnclaveError> {
    let policy: DeliveryPolicy =
        serde_json::from_str(&row.policy).map_err(|e| corrupt("rule policy", e))?;
    Ok(BackflowRule {
        id: uuid("rule id", &row.id)?,
        enclave_id: uuid("rule enclave", &row.enclave_id)?,
        source_table: row.source_table,
        target_tenant: tenant("rule target", &row.target_division, &row.target_department)?,
        target_enclave_id: uuid("rule target enclave", &row.target_enclave_id)?,
        target_table: row.target_table,
        policy,
        line_id: uuid("rule line", &row.line_id)?,
        subscription_id: uuid("rule subscription", &row.subscription_id)?,
        request_id: row.request_id,
        created_at: row.created_at,
    })
}

pub fn rule_row(rule: &BackflowRule) -> backflow_rule::Model {
    backflow_rule::Model {
        id: rule.id.to_string(),
        enclave_id: rule.enclave_id.to_string(),
        source_table: rule.source_table.clone(),
        target_division: rule.target_tenant.division.to_string(),
        target_department: rule.target_tenant.department.clone().unwrap_or_default(),
        target_enclave_id: rule.target_enclave_id.to_string(),
        target_table: rule.target_table.clone(),
        policy: serde_json::to_string(&rule.policy).unwrap_or_else(|_| "{}".into()),
        line_id: rule.line_id.to_string(),
        subscription_id: rule.subscription_id.to_string(),
        request_id: rule.request_id.clone(),
        created_at: rule.created_at,
        removed: false,
        removed_at: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_values_round_trip() {
        let at = DateTime::from_timestamp_micros(1_770_000_000_123_456).unwrap_or_default();
        let columns = vec![
            Column::new("a", Value::Null),
            Column::new("b", Value::Int(1)),
            Column::new("c", Value::Text("1".into())),
            Column::new("d", Value::Double(f64::NAN)),
            Column::new("e", Value::Double(0.1)),
            Column::new("f", Value::Bytes(vec![0, 255])),
            Column::new("g", Value::Timestamp(at)),
            Column::new("h", Value::Numeric("12.50".into())),
            Column::new("i", Value::Unchanged),
        ];
        let back = columns_from_json(&columns_json(&columns)).expect("round trip");
        assert_eq!(back.len(), columns.len());
        assert!(matches!(back[3].value, Value::Double(d) if d.is_nan()));
        assert_eq!(back[..3], columns[..3]);
        assert_eq!(back[4..], columns[4..]);
    }
}
