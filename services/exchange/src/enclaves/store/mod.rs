//! Enclave storage: metadata rows through sea-orm entities, data tables
//! through [`data`], and the change log. Every write is one transaction
//! that also carries its outbox events (and audit records).

pub mod codec;
pub mod data;

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, DbBackend, DbErr,
    EntityTrait, IntoActiveModel, QueryFilter, QueryOrder, QuerySelect, Select, Set,
    TransactionTrait,
};
use tokio::sync::Notify;
use uuid::Uuid;
use zhongtai_audit::AuditRecord;
use zhongtai_events::Event;
use zhongtai_kit::{Page, PageQuery, ScopedEntity, SystemPurpose, TenantId, TenantScope};

use super::domain::{BackflowRule, Enclave, TableDef};
use super::entities::{
    backflow_rule, enclave, enclave_change, enclave_table, enclave_write_request,
};
use super::error::EnclaveError;
use crate::domain::change::{Column, Operation};

/// The service name events and audit records carry.
pub const SOURCE: &str = "exchange";

/// Enclave lookups that no caller scope covers: checking who owns an id a
/// caller asked for (to refuse and record it), and the center's own
/// delivery and backflow work.
const OWNERSHIP: SystemPurpose = SystemPurpose("enclave-ownership");

/// Rows of the enclave child tables (tables, rules, change log, write
/// records). They carry no tenant of their own: they are reached only
/// through an enclave id that was already checked against the caller, or
/// by the center's own delivery work.
#[allow(clippy::disallowed_methods)]
fn children<E: EntityTrait>() -> Select<E> {
    E::find()
}

/// One change written to an enclave table, for the change log.
#[derive(Debug, Clone)]
pub struct LoggedChange {
    pub table: String,
    pub operation: Operation,
    pub key: Vec<Column>,
    /// The live row before the change, when there was one: onward row
    /// filters need it to tell a row leaving their slice from one that was
    /// never in it.
    pub before: Vec<Column>,
    /// The row after (empty for deletes).
    pub after: Vec<Column>,
}

/// What creating a table found.
#[derive(Debug, Clone, PartialEq)]
pub enum TableCreation {
    Created(TableDef),
    /// An identical table was there already.
    Unchanged(TableDef),
    /// A different table holds the name.
    Conflict,
}

#[derive(Clone)]
pub struct EnclaveStore {
    db: DatabaseConnection,
    outbox: Arc<Notify>,
    /// Woken after every commit that appended to a change log.
    changed: Arc<Notify>,
    roles: bool,
}

impl EnclaveStore {
    pub fn new(db: DatabaseConnection, outbox: Arc<Notify>, roles: bool) -> Self {
        Self {
            db,
            outbox,
            changed: Arc::new(Notify::new()),
            roles,
        }
    }

    pub fn db(&self) -> &DatabaseConnection {
        &self.db
    }

    pub fn changed(&self) -> Arc<Notify> {
        self.changed.clone()
    }

    /// Whether enclaves have roles of their own (PostgreSQL with
    /// `exchange.enclave_roles`).
    pub fn roles_in_use(&self) -> bool {
        self.uses_roles()
    }

    /// Whether reads run under the enclave's own role.
    fn uses_roles(&self) -> bool {
        self.roles && self.db.get_database_backend() == DbBackend::Postgres
    }

    fn published(&self) {
        self.outbox.notify_one();
    }

    /// Any tenant's enclave by id (not for answering callers directly).
    pub async fn enclave(&self, id: Uuid) -> Result<Option<Enclave>, EnclaveError> {
        enclave::Entity::find_for_system(OWNERSHIP)
            .filter(enclave::Column::Id.eq(id.to_string()))
            .one(&self.db)
            .await?
            .map(codec::enclave)
            .transpose()
    }

    /// The enclave if it lies in `scope`.
    pub async fn enclave_in(
        &self,
        scope: &TenantScope,
        id: Uuid,
    ) -> Result<Option<Enclave>, EnclaveError> {
        enclave::Entity::find_in(scope)
            .filter(enclave::Column::Id.eq(id.to_string()))
            .one(&self.db)
            .await?
            .map(codec::enclave)
            .transpose()
    }

    pub async fn list(
        &self,
        scope: &TenantScope,
        page: &PageQuery,
    ) -> Result<Page<Enclave>, EnclaveError> {
        let mut query = enclave::Entity::find_in(scope).order_by_asc(enclave::Column::Id);
        if let Some(after) = &page.after {
            query = query.filter(enclave::Column::Id.gt(after.clone()));
        }
        let rows = query.limit(page.fetch_limit()).all(&self.db).await?;
        let enclaves = rows
            .into_iter()
            .map(codec::enclave)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Page::from_rows(enclaves, page, |e| e.id.to_string()))
    }

    async fn enclave_by_request<C: ConnectionTrait>(
        conn: &C,
        tenant: &TenantId,
        request_id: &str,
    ) -> Result<Option<Enclave>, EnclaveError> {
        enclave::Entity::find_in(&TenantScope::tenant(tenant.clone()))
            .filter(enclave::Column::RequestId.eq(request_id))
            .one(conn)
            .await?
            .map(codec::enclave)
            .transpose()
    }

    /// Creates the enclave (its schema and role too) unless its tenant
    /// already made one with the same request id, which is returned.
    pub async fn create_enclave(
        &self,
        new: &Enclave,
        events: Vec<Event>,
    ) -> Result<Enclave, EnclaveError> {
        if let Some(existing) =
            Self::enclave_by_request(&self.db, &new.tenant, &new.request_id).await?
        {
            return Ok(existing);
        }
        let txn = zhongtai_store::begin_write(&self.db).await?;
        if let Some(existing) = Self::enclave_by_request(&txn, &new.tenant, &new.request_id).await?
        {
            return Ok(existing);
        }
        data::create_space(&txn, new.id, self.uses_roles())
            .await
            .map_err(|e| role_refusal(e, self.uses_roles()))?;
        enclave::Entity::insert(codec::enclave_row(new).into_active_model())
            .exec_without_returning(&txn)
            .await?;
        append_events(&txn, events).await?;
        match txn.commit().await {
            Ok(()) => {}
            Err(error) => {
                // A concurrent twin of the request may have won the race.
                if let Some(existing) =
                    Self::enclave_by_request(&self.db, &new.tenant, &new.request_id).await?
                {
                    return Ok(existing);
                }
                return Err(error.into());
            }
        }
        self.published();
        Ok(new.clone())
    }

    pub async fn tables(&self, enclave_id: Uuid) -> Result<Vec<TableDef>, EnclaveError> {
        tables_in(&self.db, enclave_id).await
    }

    pub async fn table(
        &self,
        enclave_id: Uuid,
        name: &str,
    ) -> Result<Option<TableDef>, EnclaveError> {
        table_in(&self.db, enclave_id, name).await
    }

    /// Creates a LOCAL table, or finds the same one there already.
    pub async fn create_table(
        &self,
        enclave_id: Uuid,
        def: &TableDef,
        events: Vec<Event>,
    ) -> Result<TableCreation, EnclaveError> {
        let txn = zhongtai_store::begin_write(&self.db).await?;
        data::lock_enclave(&txn, enclave_id).await?;
        if let Some(existing) = table_in(&txn, enclave_id, &def.name).await? {
            return Ok(if existing.same_definition(def) {
                TableCreation::Unchanged(existing)
            } else {
                TableCreation::Conflict
            });
        }
        data::create_table(&txn, enclave_id, def, self.uses_roles()).await?;
        enclave_table::Entity::insert(
            codec::table_row(enclave_id, def, Utc::now()).into_active_model(),
        )
        .exec_without_returning(&txn)
        .await?;
        append_events(&txn, events).await?;
        txn.commit().await?;
        self.published();
        Ok(TableCreation::Created(def.clone()))
    }

    /// Upserts and deletes rows of a LOCAL table and logs the changes, in
    /// one transaction; a request id seen before returns its first counts.
    pub async fn write_rows(
        &self,
        enclave_id: Uuid,
        def: &TableDef,
        request_id: &str,
        upserts: &[Vec<Column>],
        deletes: &[Vec<Column>],
    ) -> Result<(i64, i64), EnclaveError> {
        if let Some(done) = write_request(&self.db, enclave_id, request_id).await? {
            return Ok(done);
        }
        let txn = zhongtai_store::begin_write(&self.db).await?;
        data::lock_enclave(&txn, enclave_id).await?;
        if let Some(done) = write_request(&txn, enclave_id, request_id).await? {
            return Ok(done);
        }
        let mut logged = Vec::with_capacity(upserts.len() + deletes.len());
        // A key written twice in one request: the last row wins, as if
        // written one after the other.
        let mut latest: HashMap<String, usize> = HashMap::new();
        for (at, row) in upserts.iter().enumerate() {
            latest.insert(format!("{:?}", key_of(def, row)), at);
        }
        let distinct: Vec<Vec<Column>> = upserts
            .iter()
            .enumerate()
            .filter(|(at, row)| latest.get(&format!("{:?}", key_of(def, row))) == Some(at))
            .map(|(_, row)| row.clone())
            .collect();
        let keys: Vec<Vec<Column>> = distinct.iter().map(|row| key_of(def, row)).collect();
        let mut before = data::live_rows_by_key(&txn, enclave_id, def, &keys).await?;
        let mut delta = i64::try_from(keys.len() - before.len()).unwrap_or(0);
        data::upsert_many(&txn, enclave_id, def, &distinct).await?;
        for (row, key) in distinct.iter().zip(keys) {
            let before = before.remove(&data::key_text(&key));
            logged.push(LoggedChange {
                table: def.name.clone(),
                operation: if before.is_some() {
                    Operation::Update
                } else {
                    Operation::Insert
                },
                key,
                before: before.unwrap_or_default(),
                after: row.clone(),
            });
        }
        let mut deleted = 0i64;
        for key in deletes {
            let before = data::select_row(&txn, enclave_id, def, key).await?;
            if data::soft_delete(&txn, enclave_id, def, key).await? {
                deleted += 1;
                logged.push(LoggedChange {
                    table: def.name.clone(),
                    operation: Operation::Delete,
                    key: key.clone(),
                    before: before.unwrap_or_default(),
                    after: Vec::new(),
                });
            }
        }
        let now = Utc::now();
        append_changes(&txn, enclave_id, &logged, now).await?;
        delta -= deleted;
        adjust_row_count(&txn, enclave_id, &def.name, delta).await?;
        let upserted = i64::try_from(upserts.len()).unwrap_or(i64::MAX);
        enclave_write_request::Entity::insert(
            enclave_write_request::Model {
                enclave_id: enclave_id.to_string(),
                request_id: request_id.to_string(),
                table_name: def.name.clone(),
                upserted_count: upserted,
                deleted_count: deleted,
                created_at: now,
            }
            .into_active_model(),
        )
        .exec_without_returning(&txn)
        .await?;
        txn.commit().await?;
        self.changed.notify_waiters();
        Ok((upserted, deleted))
    }

    /// Live rows in key order after `after`, read under the enclave's role.
    pub async fn query_rows(
        &self,
        enclave_id: Uuid,
        def: &TableDef,
        after: Option<&[Column]>,
        limit: u64,
    ) -> Result<Vec<Vec<Column>>, EnclaveError> {
        let txn = self.db.begin().await?;
        if self.uses_roles() {
            data::enter_role(&txn, enclave_id).await?;
        }
        let rows = data::select_rows(&txn, enclave_id, def, after, limit).await?;
        txn.commit().await?;
        Ok(rows)
    }

    /// Records a refused access: the audit record and the event commit
    /// together.
    pub async fn record_refusal(
        &self,
        record: &AuditRecord,
        event: Event,
    ) -> Result<(), EnclaveError> {
        let txn = zhongtai_store::begin_write(&self.db).await?;
        zhongtai_audit::append(&txn, SOURCE, record)
            .await
            .map_err(|e| EnclaveError::Storage(e.to_string()))?;
        append_events(&txn, vec![event]).await?;
        txn.commit().await?;
        self.published();
        Ok(())
    }

    /// Live (not removed) rules of an enclave, oldest first.
    pub async fn rules(&self, enclave_id: Uuid) -> Result<Vec<BackflowRule>, EnclaveError> {
        children::<backflow_rule::Entity>()
            .filter(backflow_rule::Column::EnclaveId.eq(enclave_id.to_string()))
            .filter(backflow_rule::Column::Removed.eq(false))
            .order_by_asc(backflow_rule::Column::CreatedAt)
            .order_by_asc(backflow_rule::Column::Id)
            .all(&self.db)
            .await?
            .into_iter()
            .map(codec::rule)
            .collect()
    }

    /// A rule of the enclave and whether it was removed.
    pub async fn rule(
        &self,
        enclave_id: Uuid,
        rule_id: Uuid,
    ) -> Result<Option<(BackflowRule, bool)>, EnclaveError> {
        let row = children::<backflow_rule::Entity>()
            .filter(backflow_rule::Column::EnclaveId.eq(enclave_id.to_string()))
            .filter(backflow_rule::Column::Id.eq(rule_id.to_string()))
            .one(&self.db)
            .await?;
        row.map(|row| {
            let removed = row.removed;
            codec::rule(row).map(|rule| (rule, removed))
        })
        .transpose()
    }

    /// Stores a rule unless it is there already (same id: same enclave
    /// and request id), returning the stored one.
    pub async fn insert_rule(
        &self,
        rule: &BackflowRule,
        events: Vec<Event>,
    ) -> Result<BackflowRule, EnclaveError> {
        if let Some((existing, _)) = self.rule(rule.enclave_id, rule.id).await? {
            return Ok(existing);
        }
        let txn = zhongtai_store::begin_write(&self.db).await?;
        backflow_rule::Entity::insert(codec::rule_row(rule).into_active_model())
            .exec_without_returning(&txn)
            .await?;
        append_events(&txn, events).await?;
        if let Err(error) = txn.commit().await {
            if let Some((existing, _)) = self.rule(rule.enclave_id, rule.id).await? {
                return Ok(existing);
            }
            return Err(error.into());
        }
        self.published();
        Ok(rule.clone())
    }

    /// Marks a rule removed; false when it already was.
    pub async fn remove_rule(
        &self,
        rule: &BackflowRule,
        events: Vec<Event>,
    ) -> Result<bool, EnclaveError> {
        let txn = zhongtai_store::begin_write(&self.db).await?;
        let row = children::<backflow_rule::Entity>()
            .filter(backflow_rule::Column::Id.eq(rule.id.to_string()))
            .one(&txn)
            .await?;
        let Some(row) = row.filter(|row| !row.removed) else {
            return Ok(false);
        };
        let mut active = row.into_active_model();
        active.removed = Set(true);
        active.removed_at = Set(Some(Utc::now()));
        active.update(&txn).await?;
        append_events(&txn, events).await?;
        txn.commit().await?;
        self.published();
        Ok(true)
    }

    /// The change log of an enclave after `after`, in order.
    pub async fn changes_after(
        &self,
        enclave_id: Uuid,
        tables: &[String],
        after: u64,
        limit: u64,
    ) -> Result<Vec<enclave_change::Model>, DbErr> {
        let mut query = children::<enclave_change::Entity>()
            .filter(enclave_change::Column::EnclaveId.eq(enclave_id.to_string()))
            .filter(enclave_change::Column::Seq.gt(i64::try_from(after).unwrap_or(i64::MAX)));
        if !tables.is_empty() {
            query = query.filter(enclave_change::Column::TableName.is_in(tables.iter().cloned()));
        }
        query
            .order_by_asc(enclave_change::Column::Seq)
            .limit(limit)
            .all(&self.db)
            .await
    }
}

/// CREATE ROLE and CREATE SCHEMA need privileges the center's database
/// user may lack; say which, and how to proceed.
fn role_refusal(error: DbErr, roles: bool) -> EnclaveError {
    let text = error.to_string();
    if !text.contains("permission denied") {
        return EnclaveError::from(error);
    }
    if roles && text.contains("create role") {
        EnclaveError::Precondition(
            "the center's database user may not create roles: grant it CREATEROLE, or set \
             exchange.enclave_roles = false"
                .into(),
        )
    } else {
        EnclaveError::Precondition(format!(
            "the center's database user may not set up the enclave's schema ({text}): grant it \
             CREATE on the database"
        ))
    }
}

pub async fn append_events<C: ConnectionTrait>(
    conn: &C,
    events: Vec<Event>,
) -> Result<(), EnclaveError> {
    zhongtai_events::outbox::append(conn, SOURCE, events)
        .await
        .map(|_| ())
        .map_err(|e| EnclaveError::Storage(e.to_string()))
}

pub async fn tables_in<C: ConnectionTrait>(
    conn: &C,
    enclave_id: Uuid,
) -> Result<Vec<TableDef>, EnclaveError> {
    children::<enclave_table::Entity>()
        .filter(enclave_table::Column::EnclaveId.eq(enclave_id.to_string()))
        .order_by_asc(enclave_table::Column::Name)
        .all(conn)
        .await?
        .into_iter()
        .map(codec::table)
        .collect()
}

pub async fn table_in<C: ConnectionTrait>(
    conn: &C,
    enclave_id: Uuid,
    name: &str,
) -> Result<Option<TableDef>, EnclaveError> {
    children::<enclave_table::Entity>()
        .filter(enclave_table::Column::EnclaveId.eq(enclave_id.to_string()))
        .filter(enclave_table::Column::Name.eq(name))
        .one(conn)
        .await?
        .map(codec::table)
        .transpose()
}

/// Stores a table's definition (created or widened) as it now stands.
pub async fn save_table<C: ConnectionTrait>(
    conn: &C,
    enclave_id: Uuid,
    def: &TableDef,
    created: bool,
) -> Result<(), EnclaveError> {
    let now = Utc::now();
    let row = codec::table_row(enclave_id, def, now);
    if created {
        enclave_table::Entity::insert(row.into_active_model())
            .exec_without_returning(conn)
            .await?;
    } else {
        let mut active = row.into_active_model().reset_all();
        active.created_at = sea_orm::ActiveValue::NotSet;
        active.update(conn).await?;
    }
    Ok(())
}

async fn write_request<C: ConnectionTrait>(
    conn: &C,
    enclave_id: Uuid,
    request_id: &str,
) -> Result<Option<(i64, i64)>, EnclaveError> {
    Ok(children::<enclave_write_request::Entity>()
        .filter(enclave_write_request::Column::EnclaveId.eq(enclave_id.to_string()))
        .filter(enclave_write_request::Column::RequestId.eq(request_id))
        .one(conn)
        .await?
        .map(|done| (done.upserted_count, done.deleted_count)))
}

fn key_of(def: &TableDef, row: &[Column]) -> Vec<Column> {
    def.key_columns
        .iter()
        .filter_map(|k| row.iter().find(|c| &c.name == k).cloned())
        .collect()
}

/// Appends applied changes to the enclave's change log.
pub async fn append_changes<C: ConnectionTrait>(
    conn: &C,
    enclave_id: Uuid,
    changes: &[LoggedChange],
    commit_at: DateTime<Utc>,
) -> Result<(), EnclaveError> {
    // Bounded statements: far below every bind-parameter limit.
    for chunk in changes.chunks(500) {
        let rows = chunk.iter().map(|change| enclave_change::ActiveModel {
            seq: sea_orm::ActiveValue::NotSet,
            enclave_id: Set(enclave_id.to_string()),
            table_name: Set(change.table.clone()),
            operation: Set(change.operation.as_str().to_string()),
            key_columns: Set(codec::columns_json(&change.key)),
            before_columns: Set(codec::columns_json(&change.before)),
            after_columns: Set(codec::columns_json(&change.after)),
            commit_at: Set(commit_at),
        });
        enclave_change::Entity::insert_many(rows)
            .exec_without_returning(conn)
            .await?;
    }
    Ok(())
}

/// Moves the table's row count by `delta` (rows that came to life minus
/// rows deleted), without counting the table.
pub async fn adjust_row_count<C: ConnectionTrait>(
    conn: &C,
    enclave_id: Uuid,
    table: &str,
    delta: i64,
) -> Result<(), EnclaveError> {
    if delta == 0 {
        return Ok(());
    }
    let row = children::<enclave_table::Entity>()
        .filter(enclave_table::Column::EnclaveId.eq(enclave_id.to_string()))
        .filter(enclave_table::Column::Name.eq(table))
        .one(conn)
        .await?;
    if let Some(row) = row {
        let count = row.row_count.saturating_add(delta).max(0);
        let mut active = row.into_active_model();
        active.row_count = Set(count);
        active.updated_at = Set(Utc::now());
        active.update(conn).await?;
    }
    Ok(())
}
