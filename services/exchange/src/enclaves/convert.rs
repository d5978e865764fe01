//! Enclaves in their contract form (`zhongtai.exchange.v1` Enclave,
//! EnclaveTable, BackflowRule, EnclaveRow) and back.

use zhongtai_contracts::exchange::v1 as pb;
use zhongtai_kit::proto::{tenant_message, timestamp};

use super::domain::{
    BackflowRule, ColumnDef, ColumnType, Enclave, EnclaveState, EnclaveView, TableDef, TableOrigin,
};
use crate::convert::policy::{fields_message, row_filter_message};
use crate::convert::{column, column_message};
use crate::domain::change::Column;

pub fn column_type(value: i32) -> Option<ColumnType> {
    Some(match pb::EnclaveColumnType::try_from(value).ok()? {
        pb::EnclaveColumnType::Unspecified => return None,
        pb::EnclaveColumnType::Text => ColumnType::Text,
        pb::EnclaveColumnType::Bigint => ColumnType::Bigint,
        pb::EnclaveColumnType::Double => ColumnType::Double,
        pb::EnclaveColumnType::Numeric => ColumnType::Numeric,
        pb::EnclaveColumnType::Boolean => ColumnType::Boolean,
        pb::EnclaveColumnType::Date => ColumnType::Date,
        pb::EnclaveColumnType::Timestamp => ColumnType::Timestamp,
        pb::EnclaveColumnType::Bytes => ColumnType::Bytes,
        pb::EnclaveColumnType::Json => ColumnType::Json,
    })
}

pub fn column_type_message(column_type: ColumnType) -> pb::EnclaveColumnType {
    match column_type {
        ColumnType::Text => pb::EnclaveColumnType::Text,
        ColumnType::Bigint => pb::EnclaveColumnType::Bigint,
        ColumnType::Double => pb::EnclaveColumnType::Double,
        ColumnType::Numeric => pb::EnclaveColumnType::Numeric,
        ColumnType::Boolean => pb::EnclaveColumnType::Boolean,
        ColumnType::Date => pb::EnclaveColumnType::Date,
        ColumnType::Timestamp => pb::EnclaveColumnType::Timestamp,
        ColumnType::Bytes => pb::EnclaveColumnType::Bytes,
        ColumnType::Json => pb::EnclaveColumnType::Json,
    }
}

pub fn column_def_message(def: &ColumnDef) -> pb::EnclaveColumn {
    pb::EnclaveColumn {
        name: def.name.clone(),
        r#type: column_type_message(def.column_type) as i32,
        nullable: def.nullable,
    }
}

pub fn table_message(table: &TableDef) -> pb::EnclaveTable {
    pb::EnclaveTable {
        name: table.name.clone(),
        origin: match table.origin {
            TableOrigin::Received => pb::EnclaveTableOrigin::Received,
            TableOrigin::Local => pb::EnclaveTableOrigin::Local,
        } as i32,
        subscription_id: table
            .subscription_id
            .map(|id| id.to_string())
            .unwrap_or_default(),
        columns: table.columns.iter().map(column_def_message).collect(),
        key_columns: table.key_columns.clone(),
        row_count: table.row_count,
    }
}

pub fn rule_message(rule: &BackflowRule) -> pb::BackflowRule {
    pb::BackflowRule {
        id: rule.id.to_string(),
        source_table: rule.source_table.clone(),
        target_tenant: Some(tenant_message(&rule.target_tenant)),
        target_enclave_id: rule.target_enclave_id.to_string(),
        target_table: rule.target_table.clone(),
        row_filter: Some(row_filter_message(&rule.policy.row_filter)),
        fields: fields_message(&rule.policy.fields),
        line_id: rule.line_id.to_string(),
        subscription_id: rule.subscription_id.to_string(),
        create_time: Some(timestamp(rule.created_at)),
    }
}

pub fn enclave_message(
    enclave: &Enclave,
    tables: &[TableDef],
    rules: &[BackflowRule],
) -> pb::Enclave {
    pb::Enclave {
        id: enclave.id.to_string(),
        tenant: Some(tenant_message(&enclave.tenant)),
        name: enclave.name.clone(),
        tables: tables.iter().map(table_message).collect(),
        backflow_rules: rules.iter().map(rule_message).collect(),
        state: match enclave.state {
            EnclaveState::Active => pb::EnclaveState::Active,
            EnclaveState::Frozen => pb::EnclaveState::Frozen,
        } as i32,
        create_time: Some(timestamp(enclave.created_at)),
        update_time: Some(timestamp(enclave.updated_at)),
    }
}

pub fn view_message(view: &EnclaveView) -> pb::Enclave {
    enclave_message(&view.enclave, &view.tables, &view.rules)
}

/// A contract row as domain columns; `Err` names the bad column.
pub fn row(message: &pb::EnclaveRow) -> Result<Vec<Column>, String> {
    message.columns.iter().map(column).collect()
}

pub fn row_message(columns: &[Column]) -> pb::EnclaveRow {
    pb::EnclaveRow {
        columns: columns.iter().map(column_message).collect(),
    }
}
