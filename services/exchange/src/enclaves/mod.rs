//! Enclaves (数据飞地) and backflow (数据回流): each tenant's isolated tables,
//! the sink that applies changes into them, and enclave tables as sources.
//!
//! Isolation has two layers. Every call names an enclave the caller's own
//! tenant must own exactly, else it is NOT_FOUND and the refusal is
//! audited. Beneath that, on PostgreSQL each enclave is a schema that only
//! its own NOLOGIN role may use, and every read of enclave rows runs under
//! `SET LOCAL ROLE` to it, so even a wrong table name in a query cannot
//! reach another enclave. On SQLite (the embedded mode) there are neither
//! schemas nor roles: tables are named `enclave_<id>__<table>` and the API
//! check alone keeps enclaves apart.

pub mod api;
pub mod convert;
pub mod domain;
pub mod entities;
pub mod error;
pub mod published;
pub mod sink;
pub mod source;
pub mod store;

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{SubsecRound, Utc};
use sea_orm::DatabaseConnection;
use tokio::sync::Notify;
use uuid::Uuid;
use zhongtai_audit::{AuditRecord, Outcome};
use zhongtai_kit::config::ExchangeConfig;
use zhongtai_kit::{Actor, Caller, Page, PageQuery, TenantId};

use self::domain::backflow::{derived_id, is_child_tenant, line_name, rule_id};
use self::domain::rows::{approximate_size, check_delete, check_upsert};
use self::domain::{
    BackflowRule, Enclave, EnclaveState, EnclaveView, MAX_WRITE_BYTES, TableDef, TableOrigin,
};
use self::error::EnclaveError;
use self::store::{EnclaveStore, TableCreation};
use crate::domain::ExchangeError;
use crate::domain::change::Column;
use crate::domain::flow::{ChangeSource, DeliverySink, FlowError};
use crate::domain::line::{
    EnclaveSourceSpec, Line, LineState, SnapshotProgress, SnapshotState, SourceSpec,
};
use crate::domain::policy::{DeliveryPolicy, RowFilter};
use crate::domain::ports::{EnclaveDirectory, LineProvisioner};
use crate::domain::subscription::{EnclaveTarget, Subscription, SubscriptionState};

/// Rows looked at per query round while a row filter thins them out.
const QUERY_CHUNK: u64 = 1_000;
/// Rows one query call looks at at most before answering with what it has.
const QUERY_SCAN_LIMIT: usize = 50_000;
/// Why a refusal happened, as audit records and events say it.
const NOT_OWNED: &str = "ENCLAVE_NOT_OWNED";

/// A backflow rule as a caller asks for it.
#[derive(Debug, Clone)]
pub struct RuleDraft {
    pub source_table: String,
    pub target_tenant: TenantId,
    pub target_enclave_id: Uuid,
    /// Empty means the source table's name.
    pub target_table: String,
    pub policy: DeliveryPolicy,
}

/// A read of enclave rows.
#[derive(Debug, Clone)]
pub struct RowQuery {
    pub table: String,
    pub filter: RowFilter,
    /// Columns to return; empty means all.
    pub columns: Vec<String>,
    /// Rows per page.
    pub size: u64,
    /// The key the previous page ended with.
    pub after: Option<Vec<Column>>,
}

/// Enclaves, their tables and backflow rules.
pub struct Enclaves {
    store: EnclaveStore,
    provisioner: Arc<dyn LineProvisioner>,
}

impl Enclaves {
    pub fn new(
        db: DatabaseConnection,
        outbox: Arc<Notify>,
        config: ExchangeConfig,
        provisioner: Arc<dyn LineProvisioner>,
    ) -> Arc<Self> {
        Arc::new(Self {
            store: EnclaveStore::new(db, outbox, config.enclave_roles),
            provisioner,
        })
    }

    pub fn api(self: &Arc<Self>) -> api::EnclaveApi {
        api::EnclaveApi::new(self.clone())
    }

    /// The sink of subscriptions with an enclave target.
    pub fn sink(self: &Arc<Self>) -> Arc<dyn DeliverySink> {
        Arc::new(sink::EnclaveSink::new(self.store.clone()))
    }

    /// The enclave if the caller's tenant owns it exactly; otherwise
    /// NOT_FOUND, and a refusal of an existing enclave is recorded.
    pub async fn owned(
        &self,
        caller: &Caller,
        id: Uuid,
        operation: &str,
        table: &str,
    ) -> Result<Enclave, EnclaveError> {
        // Exact tenant, never a cross-tenant read grant: an enclave is
        // private to its tenant.
        if let Some(enclave) = self.store.enclave_in(&caller.write_scope(), id).await? {
            return Ok(enclave);
        }
        if let Some(foreign) = self.store.enclave(id).await? {
            self.refuse(caller, &foreign, operation, table).await;
        }
        Err(EnclaveError::not_found("enclave", id))
    }

    async fn refuse(&self, caller: &Caller, enclave: &Enclave, operation: &str, table: &str) {
        let reason = format!(
            "{} acts for tenant {}; enclave {} belongs to tenant {}",
            caller.subject, caller.tenant, enclave.id, enclave.tenant
        );
        let record = AuditRecord::new(
            caller.subject.clone(),
            caller.tenant.key(),
            format!("zhongtai.exchange.v1.EnclaveService/{operation}"),
            if table.is_empty() {
                format!("enclave/{}", enclave.id)
            } else {
                format!("enclave/{}/table/{table}", enclave.id)
            },
            Outcome::Denied,
        )
        .with_reason(NOT_OWNED)
        .with_peer(caller.peer.clone().unwrap_or_default());
        let event = published::access_refused(
            enclave,
            &Actor::of(caller),
            operation,
            table,
            &reason,
            Utc::now(),
        );
        // The refusal stands either way; a lost record is an operational
        // alarm, not a reason to answer differently.
        if let Err(error) = self.store.record_refusal(&record, event).await {
            tracing::error!(%error, enclave = %enclave.id, "cannot record a refused enclave access");
        }
    }

    pub async fn view(&self, enclave: Enclave) -> Result<EnclaveView, EnclaveError> {
        let tables = self.store.tables(enclave.id).await?;
        let rules = self.store.rules(enclave.id).await?;
        Ok(EnclaveView {
            enclave,
            tables,
            rules,
        })
    }

    pub async fn create(
        &self,
        caller: &Caller,
        request_id: &str,
        name: &str,
    ) -> Result<EnclaveView, EnclaveError> {
        // Databases keep microseconds: the first answer equals every later
        // read.
        let now = Utc::now().trunc_subsecs(6);
        let enclave = Enclave {
            id: Uuid::now_v7(),
            tenant: caller.tenant.clone(),
            name: name.to_string(),
            state: EnclaveState::Active,
            request_id: request_id.to_string(),
            created_at: now,
            updated_at: now,
        };
        let event = published::enclave_created(&enclave, &Actor::of(caller));
        let stored = self.store.create_enclave(&enclave, vec![event]).await?;
        self.view(stored).await
    }

    pub async fn get(&self, caller: &Caller, id: Uuid) -> Result<EnclaveView, EnclaveError> {
        let enclave = self.owned(caller, id, "GetEnclave", "").await?;
        self.view(enclave).await
    }

    pub async fn list(
        &self,
        caller: &Caller,
        page: &PageQuery,
    ) -> Result<Page<EnclaveView>, EnclaveError> {
        let enclaves = self.store.list(&caller.write_scope(), page).await?;
        let mut views = Vec::with_capacity(enclaves.items.len());
        for enclave in enclaves.items {
            views.push(self.view(enclave).await?);
        }
        Ok(Page {
            items: views,
            next_page_token: enclaves.next_page_token,
        })
    }

    /// Creates a LOCAL table; the same definition again changes nothing.
    pub async fn create_table(
        &self,
        caller: &Caller,
        id: Uuid,
        def: TableDef,
    ) -> Result<TableDef, EnclaveError> {
        let enclave = self
            .owned(caller, id, "CreateEnclaveTable", &def.name)
            .await?;
        let event = published::table_created(&enclave, &def, &Actor::of(caller));
        match self
            .store
            .create_table(enclave.id, &def, vec![event])
            .await?
        {
            TableCreation::Created(table) | TableCreation::Unchanged(table) => Ok(table),
            TableCreation::Conflict => Err(EnclaveError::AlreadyExists {
                kind: "enclave table",
                key: def.name,
            }),
        }
    }

    async fn table(&self, enclave: &Enclave, name: &str) -> Result<TableDef, EnclaveError> {
        self.store
            .table(enclave.id, name)
            .await?
            .ok_or_else(|| EnclaveError::not_found("enclave table", name))
    }

    /// Upserts and deletes rows of a LOCAL table in one transaction.
    pub async fn write_rows(
        &self,
        caller: &Caller,
        id: Uuid,
        table: &str,
        request_id: &str,
        upserts: Vec<Vec<Column>>,
        deletes: Vec<Vec<Column>>,
    ) -> Result<(i64, i64), EnclaveError> {
        let enclave = self.owned(caller, id, "WriteEnclaveRows", table).await?;
        let def = self.table(&enclave, table).await?;
        if def.origin != TableOrigin::Local {
            return Err(EnclaveError::Precondition(format!(
                "table {table} receives its rows from a subscription; only LOCAL tables are written"
            )));
        }
        if enclave.state == EnclaveState::Frozen {
            return Err(EnclaveError::Precondition(format!(
                "enclave {id} is frozen"
            )));
        }
        let mut problems = Vec::new();
        let mut checked_upserts = Vec::with_capacity(upserts.len());
        let mut bytes = 0usize;
        for (i, row) in upserts.iter().enumerate() {
            bytes += approximate_size(row);
            match check_upsert(&def, row, &format!("upserts[{i}]")) {
                Ok(row) => checked_upserts.push(row),
                Err(mut found) => problems.append(&mut found),
            }
        }
        let mut checked_deletes = Vec::with_capacity(deletes.len());
        for (i, key) in deletes.iter().enumerate() {
            bytes += approximate_size(key);
            match check_delete(&def, key, &format!("deletes[{i}]")) {
                Ok(key) => checked_deletes.push(key),
                Err(mut found) => problems.append(&mut found),
            }
        }
        if bytes > MAX_WRITE_BYTES {
            problems.push((
                "upserts".into(),
                format!("the rows exceed {MAX_WRITE_BYTES} bytes"),
            ));
        }
        if !problems.is_empty() {
            return Err(EnclaveError::Invalid(problems));
        }
        self.store
            .write_rows(
                enclave.id,
                &def,
                request_id,
                &checked_upserts,
                &checked_deletes,
            )
            .await
    }

    /// Live rows in key order, filtered, projected and paged by key.
    pub async fn query_rows(
        &self,
        caller: &Caller,
        id: Uuid,
        query: RowQuery,
    ) -> Result<(Vec<Vec<Column>>, Option<Vec<Column>>), EnclaveError> {
        let RowQuery {
            table,
            filter,
            columns,
            size,
            after,
        } = query;
        let (table, filter, columns) = (table.as_str(), &filter, columns.as_slice());
        let enclave = self.owned(caller, id, "QueryEnclaveRows", table).await?;
        let def = self.table(&enclave, table).await?;
        let mut problems = Vec::new();
        for (i, column) in columns.iter().enumerate() {
            if def.column(column).is_none() {
                problems.push((
                    format!("columns[{i}]"),
                    format!("table {table} has no such column"),
                ));
            }
        }
        for (i, condition) in filter.conditions.iter().enumerate() {
            if def.column(&condition.field).is_none() {
                problems.push((
                    format!("row_filter.conditions[{i}].field"),
                    format!("table {table} has no such column"),
                ));
            }
        }
        if let Some(after) = &after
            && (after.len() != def.key_columns.len()
                || after
                    .iter()
                    .zip(&def.key_columns)
                    .any(|(c, k)| &c.name != k))
        {
            problems.push((
                "page.page_token".into(),
                "is not a token of this table".into(),
            ));
        }
        if !problems.is_empty() {
            return Err(EnclaveError::Invalid(problems));
        }
        let wanted = usize::try_from(size).unwrap_or(usize::MAX);
        let mut found: Vec<Vec<Column>> = Vec::new();
        let mut cursor = after;
        let mut scanned = 0usize;
        loop {
            let chunk = self
                .store
                .query_rows(enclave.id, &def, cursor.as_deref(), QUERY_CHUNK)
                .await?;
            let exhausted = (chunk.len() as u64) < QUERY_CHUNK;
            for row in chunk {
                scanned += 1;
                cursor = Some(key_columns(&def, &row));
                if domain::admitted(filter, &row) {
                    found.push(row);
                    if found.len() > wanted {
                        found.truncate(wanted);
                        let next = found.last().map(|row| key_columns(&def, row));
                        return Ok((project(found, columns), next));
                    }
                }
            }
            if exhausted {
                return Ok((project(found, columns), None));
            }
            if scanned >= QUERY_SCAN_LIMIT {
                // Long filtered-out stretches answer in parts; the token
                // continues after the last row looked at.
                return Ok((project(found, columns), cursor));
            }
        }
    }

    pub async fn add_rule(
        &self,
        caller: &Caller,
        id: Uuid,
        request_id: &str,
        draft: RuleDraft,
    ) -> Result<BackflowRule, EnclaveError> {
        let enclave = self
            .owned(caller, id, "AddBackflowRule", &draft.source_table)
            .await?;
        let rule_id = rule_id(enclave.id, request_id);
        if let Some((existing, _)) = self.store.rule(enclave.id, rule_id).await? {
            self.provision(&enclave, &existing).await?;
            return Ok(existing);
        }
        let source = self.table(&enclave, &draft.source_table).await?;
        let mut problems = Vec::new();
        if !is_child_tenant(&enclave.tenant, &draft.target_tenant) {
            problems.push((
                "rule.target_tenant".to_string(),
                format!(
                    "must be a tenant of a division within {} (the enclave's)",
                    enclave.tenant.division
                ),
            ));
        }
        let target_is_theirs = self
            .store
            .enclave(draft.target_enclave_id)
            .await?
            .is_some_and(|target| target.tenant == draft.target_tenant);
        if !target_is_theirs {
            problems.push((
                "rule.target_enclave_id".to_string(),
                format!("is not an enclave of tenant {}", draft.target_tenant),
            ));
        }
        for (i, field) in draft.policy.fields.iter().enumerate() {
            if source.column(&field.field).is_none() {
                problems.push((
                    format!("rule.fields[{i}].field"),
                    format!("table {} has no such column", source.name),
                ));
            }
        }
        for (i, condition) in draft.policy.row_filter.conditions.iter().enumerate() {
            if source.column(&condition.field).is_none() {
                problems.push((
                    format!("rule.row_filter.conditions[{i}].field"),
                    format!("table {} has no such column", source.name),
                ));
            }
        }
        if !problems.is_empty() {
            return Err(EnclaveError::Invalid(problems));
        }
        let rule = BackflowRule {
            id: rule_id,
            enclave_id: enclave.id,
            target_table: if draft.target_table.is_empty() {
                draft.source_table.clone()
            } else {
                draft.target_table
            },
            source_table: draft.source_table,
            target_tenant: draft.target_tenant,
            target_enclave_id: draft.target_enclave_id,
            policy: draft.policy,
            line_id: derived_id(rule_id, b"line"),
            subscription_id: derived_id(rule_id, b"subscription"),
            request_id: request_id.to_string(),
            created_at: Utc::now().trunc_subsecs(6),
        };
        let event = published::rule_added(&enclave, &rule, &Actor::of(caller));
        let stored = self.store.insert_rule(&rule, vec![event]).await?;
        self.provision(&enclave, &stored).await?;
        Ok(stored)
    }

    /// Creates the rule's line and subscription (idempotent on their ids,
    /// so a retry after a crash completes the same objects).
    async fn provision(&self, enclave: &Enclave, rule: &BackflowRule) -> Result<(), EnclaveError> {
        let now = Utc::now();
        let line = Line {
            id: rule.line_id,
            owner: enclave.tenant.clone(),
            name: line_name(rule.id),
            description: format!(
                "Backflow of {} to {} (rule {})",
                rule.source_table, rule.target_tenant, rule.id
            ),
            source: SourceSpec::Enclave(EnclaveSourceSpec {
                enclave_id: enclave.id,
                tables: vec![rule.source_table.clone()],
            }),
            state: LineState::Provisioning,
            state_reason: String::new(),
            snapshot: SnapshotProgress {
                state: SnapshotState::Skipped,
                rows_total: -1,
                ..SnapshotProgress::default()
            },
            resource_id: None,
            version: 1,
            created_at: now,
            updated_at: now,
        };
        self.provisioner.provision_line(line).await?;
        let subscription = Subscription {
            id: rule.subscription_id,
            line_id: rule.line_id,
            subscriber: rule.target_tenant.clone(),
            // The rule itself is the owner's authorisation.
            grant_id: None,
            queue: None,
            enclave: Some(EnclaveTarget {
                enclave_id: rule.target_enclave_id,
                table: rule.target_table.clone(),
            }),
            state: SubscriptionState::Active,
            state_reason: String::new(),
            policy: rule.policy.clone(),
            delivered_position: 0,
            created_at: now,
            updated_at: now,
        };
        self.provisioner
            .provision_subscription(subscription)
            .await?;
        Ok(())
    }

    pub async fn remove_rule(
        &self,
        caller: &Caller,
        id: Uuid,
        rule_id: Uuid,
    ) -> Result<EnclaveView, EnclaveError> {
        let enclave = self.owned(caller, id, "RemoveBackflowRule", "").await?;
        let Some((rule, removed)) = self.store.rule(enclave.id, rule_id).await? else {
            return Err(EnclaveError::not_found("backflow rule", rule_id));
        };
        if !removed {
            self.provisioner
                .retire_line(rule.line_id, &format!("backflow rule {} removed", rule.id))
                .await?;
            let event = published::rule_removed(&enclave, &rule, &Actor::of(caller));
            self.store.remove_rule(&rule, vec![event]).await?;
        }
        self.view(enclave).await
    }
}

fn key_columns(def: &TableDef, row: &[Column]) -> Vec<Column> {
    def.key_columns
        .iter()
        .filter_map(|k| row.iter().find(|c| &c.name == k).cloned())
        .collect()
}

fn project(rows: Vec<Vec<Column>>, columns: &[String]) -> Vec<Vec<Column>> {
    if columns.is_empty() {
        return rows;
    }
    rows.into_iter()
        .map(|row| {
            columns
                .iter()
                .filter_map(|name| row.iter().find(|c| &c.name == name).cloned())
                .collect()
        })
        .collect()
}

#[async_trait]
impl EnclaveDirectory for Enclaves {
    async fn belongs_to(&self, enclave_id: Uuid, tenant: &TenantId) -> Result<bool, ExchangeError> {
        let enclave = self
            .store
            .enclave(enclave_id)
            .await
            .map_err(|e| ExchangeError::Storage(e.to_string()))?;
        Ok(enclave.is_some_and(|e| &e.tenant == tenant && e.state == EnclaveState::Active))
    }

    async fn open_source(
        &self,
        line_id: Uuid,
        spec: &EnclaveSourceSpec,
        confirmed_position: u64,
    ) -> Result<Box<dyn ChangeSource>, FlowError> {
        let exists = self
            .store
            .enclave(spec.enclave_id)
            .await
            .map_err(|e| FlowError::Transient(e.to_string()))?
            .is_some();
        if !exists {
            return Err(FlowError::Permanent(format!(
                "enclave {} does not exist",
                spec.enclave_id
            )));
        }
        Ok(Box::new(source::EnclaveSource::new(
            self.store.clone(),
            line_id,
            spec.enclave_id,
            spec.tables.clone(),
            confirmed_position,
        )))
    }
}
