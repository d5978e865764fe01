//! The `zhongtai.exchange.v1.EnclaveService`: contract ↔ domain mapping and
//! request validation; the rules live in [`super::Enclaves`].

use std::sync::Arc;

use prost::Message;
use tonic::{Request, Response, Status};
use uuid::Uuid;
use zhongtai_contracts::exchange::v1 as pb;
use zhongtai_contracts::exchange::v1::enclave_service_server::EnclaveService;
use zhongtai_kit::proto::{page_query, page_response, tenant};
use zhongtai_kit::{ApiError, Validator, auth};

use super::convert::{column_type, row, row_message, rule_message, table_message, view_message};
use super::domain::names::check_name;
use super::domain::rows::check_definition;
use super::domain::{
    ColumnDef, DEFAULT_PAGE_SIZE, MAX_ENCLAVE_NAME_CHARS, MAX_PAGE_SIZE, MAX_REQUEST_ID_CHARS,
    MAX_WRITE_BYTES, MAX_WRITE_ROWS, TableDef, TableOrigin,
};
use super::store::codec::{columns_from_json, columns_json};
use super::{Enclaves, RowQuery, RuleDraft};
use crate::convert::policy::{delivery_policy, row_filter};
use crate::domain::change::Column;

/// Page tokens of QueryEnclaveRows: the last key, typed, as hex JSON.
const KEY_TOKEN_PREFIX: &str = "k1:";
const MAX_KEY_TOKEN_LEN: usize = 128 * 1024;
/// Room for the framing around the rows of one write.
const WRITE_FRAMING_BYTES: usize = 1024 * 1024;

pub struct EnclaveApi {
    enclaves: Arc<Enclaves>,
}

impl EnclaveApi {
    pub fn new(enclaves: Arc<Enclaves>) -> Self {
        Self { enclaves }
    }
}

fn id(field: &str, value: &str, v: &mut Validator) -> Option<Uuid> {
    if value.is_empty() {
        v.violation(field, "is required");
        return None;
    }
    v.parse(field, Uuid::parse_str(value).map_err(|_| "is not a UUID"))
}

fn name(field: &str, value: &str, v: &mut Validator) {
    if let Err(e) = check_name(value) {
        v.violation(field, e.to_string());
    }
}

fn rows(field: &str, messages: &[pb::EnclaveRow], v: &mut Validator) -> Vec<Vec<Column>> {
    messages
        .iter()
        .enumerate()
        .filter_map(|(i, message)| v.parse(&format!("{field}[{i}]"), row(message)))
        .collect()
}

fn encode_key_token(key: &[Column]) -> String {
    format!("{KEY_TOKEN_PREFIX}{}", hex::encode(columns_json(key)))
}

fn decode_key_token(token: &str) -> Option<Vec<Column>> {
    if token.len() > MAX_KEY_TOKEN_LEN {
        return None;
    }
    let bytes = hex::decode(token.strip_prefix(KEY_TOKEN_PREFIX)?).ok()?;
    columns_from_json(std::str::from_utf8(&bytes).ok()?).ok()
}

#[tonic::async_trait]
impl EnclaveService for EnclaveApi {
    async fn create_enclave(
        &self,
        request: Request<pb::CreateEnclaveRequest>,
    ) -> Result<Response<pb::CreateEnclaveResponse>, Status> {
        let caller = auth::caller(&request)?;
        let request = request.into_inner();
        let mut v = Validator::new();
        v.text("request_id", &request.request_id, MAX_REQUEST_ID_CHARS);
        v.text("name", &request.name, MAX_ENCLAVE_NAME_CHARS);
        v.finish()?;
        let view = self
            .enclaves
            .create(&caller, &request.request_id, request.name.trim())
            .await?;
        Ok(Response::new(pb::CreateEnclaveResponse {
            enclave: Some(view_message(&view)),
        }))
    }

    async fn get_enclave(
        &self,
        request: Request<pb::GetEnclaveRequest>,
    ) -> Result<Response<pb::GetEnclaveResponse>, Status> {
        let caller = auth::caller(&request)?;
        let mut v = Validator::new();
        let enclave_id = id("id", &request.get_ref().id, &mut v);
        v.finish()?;
        let Some(enclave_id) = enclave_id else {
            return Err(ApiError::invalid_field("id", "is required").into());
        };
        let view = self.enclaves.get(&caller, enclave_id).await?;
        Ok(Response::new(pb::GetEnclaveResponse {
            enclave: Some(view_message(&view)),
        }))
    }

    async fn list_enclaves(
        &self,
        request: Request<pb::ListEnclavesRequest>,
    ) -> Result<Response<pb::ListEnclavesResponse>, Status> {
        let caller = auth::caller(&request)?;
        let page = page_query(request.get_ref().page.as_ref())?;
        let found = self.enclaves.list(&caller, &page).await?;
        Ok(Response::new(pb::ListEnclavesResponse {
            page: Some(page_response(found.next_page_token)),
            enclaves: found.items.iter().map(view_message).collect(),
        }))
    }

    async fn create_enclave_table(
        &self,
        request: Request<pb::CreateEnclaveTableRequest>,
    ) -> Result<Response<pb::CreateEnclaveTableResponse>, Status> {
        let caller = auth::caller(&request)?;
        let request = request.into_inner();
        let mut v = Validator::new();
        let enclave_id = id("enclave_id", &request.enclave_id, &mut v);
        v.max_items("columns", request.columns.len(), super::domain::MAX_COLUMNS);
        let mut columns = Vec::with_capacity(request.columns.len());
        for (i, column) in request.columns.iter().enumerate() {
            match column_type(column.r#type) {
                Some(column_type) => columns.push(ColumnDef {
                    name: column.name.clone(),
                    column_type,
                    nullable: column.nullable,
                }),
                None => v.violation(format!("columns[{i}].type"), "is required"),
            }
        }
        if columns.len() == request.columns.len() {
            for (field, problem) in check_definition(&request.name, &columns, &request.key_columns)
            {
                v.violation(field, problem);
            }
        } else {
            name("name", &request.name, &mut v);
        }
        v.finish()?;
        let Some(enclave_id) = enclave_id else {
            return Err(ApiError::invalid_field("enclave_id", "is required").into());
        };
        let def = TableDef {
            name: request.name,
            origin: TableOrigin::Local,
            subscription_id: None,
            columns,
            key_columns: request.key_columns,
            row_count: 0,
        };
        let table = self.enclaves.create_table(&caller, enclave_id, def).await?;
        Ok(Response::new(pb::CreateEnclaveTableResponse {
            table: Some(table_message(&table)),
        }))
    }

    async fn write_enclave_rows(
        &self,
        request: Request<pb::WriteEnclaveRowsRequest>,
    ) -> Result<Response<pb::WriteEnclaveRowsResponse>, Status> {
        let caller = auth::caller(&request)?;
        let size = request.get_ref().encoded_len();
        let request = request.into_inner();
        let mut v = Validator::new();
        v.text("request_id", &request.request_id, MAX_REQUEST_ID_CHARS);
        let enclave_id = id("enclave_id", &request.enclave_id, &mut v);
        name("table", &request.table, &mut v);
        let count = request.upserts.len() + request.deletes.len();
        if count == 0 {
            v.violation("upserts", "give at least one row to upsert or delete");
        }
        if count > MAX_WRITE_ROWS {
            v.violation(
                "upserts",
                format!("at most {MAX_WRITE_ROWS} rows per write (got {count})"),
            );
        }
        if size > MAX_WRITE_BYTES + WRITE_FRAMING_BYTES {
            v.violation(
                "upserts",
                format!("at most {MAX_WRITE_BYTES} bytes per write (got {size})"),
            );
        }
        let upserts = rows("upserts", &request.upserts, &mut v);
        let deletes = rows("deletes", &request.deletes, &mut v);
        v.finish()?;
        let Some(enclave_id) = enclave_id else {
            return Err(ApiError::invalid_field("enclave_id", "is required").into());
        };
        let (upserted_count, deleted_count) = self
            .enclaves
            .write_rows(
                &caller,
                enclave_id,
                &request.table,
                &request.request_id,
                upserts,
                deletes,
            )
            .await?;
        Ok(Response::new(pb::WriteEnclaveRowsResponse {
            upserted_count,
            deleted_count,
        }))
    }

    async fn query_enclave_rows(
        &self,
        request: Request<pb::QueryEnclaveRowsRequest>,
    ) -> Result<Response<pb::QueryEnclaveRowsResponse>, Status> {
        let caller = auth::caller(&request)?;
        let request = request.into_inner();
        let mut v = Validator::new();
        let enclave_id = id("enclave_id", &request.enclave_id, &mut v);
        name("table", &request.table, &mut v);
        let (page_size, page_token) = request
            .page
            .as_ref()
            .map_or((0, ""), |p| (p.page_size, p.page_token.as_str()));
        let size = match page_size {
            0 => DEFAULT_PAGE_SIZE,
            n if n < 0 => {
                v.violation("page.page_size", "must not be negative");
                DEFAULT_PAGE_SIZE
            }
            n => u64::try_from(n).unwrap_or(MAX_PAGE_SIZE).min(MAX_PAGE_SIZE),
        };
        let after = if page_token.is_empty() {
            None
        } else {
            let decoded = decode_key_token(page_token);
            if decoded.is_none() {
                v.violation("page.page_token", "is not a token this API issued");
            }
            decoded
        };
        let filter = v.parse("row_filter", row_filter(request.row_filter.as_ref()));
        v.max_items("columns", request.columns.len(), super::domain::MAX_COLUMNS);
        for (i, column) in request.columns.iter().enumerate() {
            name(&format!("columns[{i}]"), column, &mut v);
        }
        v.finish()?;
        let (Some(enclave_id), Some(filter)) = (enclave_id, filter) else {
            return Err(ApiError::invalid_field("enclave_id", "is required").into());
        };
        let (found, next) = self
            .enclaves
            .query_rows(
                &caller,
                enclave_id,
                RowQuery {
                    table: request.table,
                    filter,
                    columns: request.columns,
                    size,
                    after,
                },
            )
            .await?;
        Ok(Response::new(pb::QueryEnclaveRowsResponse {
            page: Some(page_response(
                next.as_deref().map(encode_key_token).unwrap_or_default(),
            )),
            rows: found.iter().map(|r| row_message(r)).collect(),
        }))
    }

    async fn add_backflow_rule(
        &self,
        request: Request<pb::AddBackflowRuleRequest>,
    ) -> Result<Response<pb::AddBackflowRuleResponse>, Status> {
        let caller = auth::caller(&request)?;
        let request = request.into_inner();
        let mut v = Validator::new();
        v.text("request_id", &request.request_id, MAX_REQUEST_ID_CHARS);
        let enclave_id = id("enclave_id", &request.enclave_id, &mut v);
        let Some(rule) = request.rule else {
            v.violation("rule", "is required");
            v.finish()?;
            return Err(ApiError::invalid_field("rule", "is required").into());
        };
        name("rule.source_table", &rule.source_table, &mut v);
        if !rule.target_table.is_empty() {
            name("rule.target_table", &rule.target_table, &mut v);
        }
        let target_tenant = v.parse(
            "rule.target_tenant",
            tenant("rule.target_tenant", rule.target_tenant.as_ref())
                .map_err(|e| e.message().to_string()),
        );
        let target_enclave_id = id("rule.target_enclave_id", &rule.target_enclave_id, &mut v);
        v.max_items("rule.fields", rule.fields.len(), super::domain::MAX_COLUMNS);
        let policy = v.parse(
            "rule",
            delivery_policy(&rule.fields, rule.row_filter.as_ref()),
        );
        v.finish()?;
        let (Some(enclave_id), Some(target_tenant), Some(target_enclave_id), Some(policy)) =
            (enclave_id, target_tenant, target_enclave_id, policy)
        else {
            return Err(ApiError::invalid_field("rule", "is incomplete").into());
        };
        let draft = RuleDraft {
            source_table: rule.source_table,
            target_tenant,
            target_enclave_id,
            target_table: rule.target_table,
            policy,
        };
        let stored = self
            .enclaves
            .add_rule(&caller, enclave_id, &request.request_id, draft)
            .await?;
        Ok(Response::new(pb::AddBackflowRuleResponse {
            rule: Some(rule_message(&stored)),
        }))
    }

    async fn remove_backflow_rule(
        &self,
        request: Request<pb::RemoveBackflowRuleRequest>,
    ) -> Result<Response<pb::RemoveBackflowRuleResponse>, Status> {
        let caller = auth::caller(&request)?;
        let mut v = Validator::new();
        let enclave_id = id("enclave_id", &request.get_ref().enclave_id, &mut v);
        let rule_id = id("rule_id", &request.get_ref().rule_id, &mut v);
        v.finish()?;
        let (Some(enclave_id), Some(rule_id)) = (enclave_id, rule_id) else {
            return Err(ApiError::invalid_field("rule_id", "is required").into());
        };
        let view = self
            .enclaves
            .remove_rule(&caller, enclave_id, rule_id)
            .await?;
        Ok(Response::new(pb::RemoveBackflowRuleResponse {
            enclave: Some(view_message(&view)),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::super::convert::column_def_message;
    use super::*;
    use crate::domain::change::Value;

    #[test]
    fn key_tokens_round_trip_and_refuse_garbage() {
        let key = vec![
            Column::new("region", Value::Text("331121".into())),
            Column::new("id", Value::Int(7)),
        ];
        assert_eq!(decode_key_token(&encode_key_token(&key)), Some(key));
        for bad in ["", "k1:zz", "v1:00", "k1:7b"] {
            assert_eq!(decode_key_token(bad), None, "{bad}");
        }
    }

    #[test]
    fn column_definitions_map_to_the_contract() {
        let def = ColumnDef {
            name: "n".into(),
            column_type: super::super::domain::ColumnType::Numeric,
            nullable: true,
        };
        let message = column_def_message(&def);
        assert_eq!(column_type(message.r#type), Some(def.column_type));
    }
}
