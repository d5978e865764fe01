//! The enclave data tables themselves: DDL and DML built with sea-query
//! from names the domain already checked, so every identifier is quoted
//! by the builder and every value is bound. PostgreSQL keeps an enclave's
//! tables in its own schema; SQLite prefixes their names instead.
//!
//! Every data table carries three hidden columns: `_zt_position` and
//! `_zt_index` (the source order of the change that wrote the row, for the
//! per-key guard) and `_zt_deleted` (deletes are soft, so a deleted key
//! still remembers the position that deleted it).

use std::collections::{HashMap, HashSet};

use sea_orm::sea_query::{
    Alias, ColumnDef as SqlColumn, Condition, Expr, ExprTrait, Index, OnConflict, Query, Table,
    TableName,
};
use sea_orm::{ConnectionTrait, DbBackend, DbErr, QueryResult, Statement};
use uuid::Uuid;
use zhongtai_store::statements::{STATEMENT_BYTES, chunks_within};

use super::super::domain::names::{enclave_ident, prefixed_table};
use super::super::domain::{ColumnDef, ColumnType, TableDef};
use crate::domain::change::{Column, Value};

pub const POSITION: &str = "_zt_position";
pub const INDEX: &str = "_zt_index";
pub const DELETED: &str = "_zt_deleted";

/// Where a table lives on the backend at hand.
#[derive(Debug, Clone)]
pub struct Location {
    backend: DbBackend,
    enclave_id: Uuid,
    table: String,
}

impl Location {
    pub fn new(backend: DbBackend, enclave_id: Uuid, table: &str) -> Self {
        Self {
            backend,
            enclave_id,
            table: table.to_string(),
        }
    }

    fn is_postgres(&self) -> bool {
        self.backend == DbBackend::Postgres
    }

    fn name(&self) -> TableName {
        if self.is_postgres() {
            TableName::from((
                Alias::new(enclave_ident(self.enclave_id)),
                Alias::new(self.table.clone()),
            ))
        } else {
            TableName::from(Alias::new(prefixed_table(self.enclave_id, &self.table)))
        }
    }

    /// The name the row of an `ON CONFLICT … WHERE` is referred to by.
    fn bare(&self) -> Alias {
        if self.is_postgres() {
            Alias::new(self.table.clone())
        } else {
            Alias::new(prefixed_table(self.enclave_id, &self.table))
        }
    }
}

fn sql_type(backend: DbBackend, column_type: ColumnType) -> &'static str {
    let postgres = backend == DbBackend::Postgres;
    match (column_type, postgres) {
        (ColumnType::Text, _) => "text",
        (ColumnType::Bigint, true) => "bigint",
        (ColumnType::Bigint, false) => "integer",
        (ColumnType::Double, true) => "double precision",
        (ColumnType::Double, false) => "real",
        (ColumnType::Numeric, true) => "numeric",
        (ColumnType::Boolean, true) => "boolean",
        (ColumnType::Boolean, false) => "integer",
        (ColumnType::Date, true) => "date",
        (ColumnType::Timestamp, true) => "timestamptz",
        (ColumnType::Bytes, true) => "bytea",
        (ColumnType::Bytes, false) => "blob",
        (ColumnType::Json, true) => "jsonb",
        // SQLite keeps exact numerics, dates, JSON and timestamps as text.
        (
            ColumnType::Numeric | ColumnType::Date | ColumnType::Json | ColumnType::Timestamp,
            false,
        ) => "text",
    }
}

/// PostgreSQL types bound as text and cast on the server.
fn cast_from_text(column_type: ColumnType) -> Option<&'static str> {
    match column_type {
        ColumnType::Numeric => Some("numeric"),
        ColumnType::Date => Some("date"),
        ColumnType::Json => Some("jsonb"),
        _ => None,
    }
}

fn column_sql(backend: DbBackend, def: &ColumnDef, is_key: bool) -> SqlColumn {
    let mut column = SqlColumn::new(Alias::new(def.name.clone()));
    column.custom(Alias::new(sql_type(backend, def.column_type)));
    if is_key || !def.nullable {
        column.not_null();
    } else {
        column.null();
    }
    column
}

/// A value bound for a column of `column_type`; NULL typed so PostgreSQL
/// accepts it.
fn bind(backend: DbBackend, column_type: ColumnType, value: &Value) -> Expr {
    use sea_orm::sea_query::Value as Sql;
    let text = |s: Option<String>| {
        let bound = Expr::val(Sql::String(s));
        match (backend, cast_from_text(column_type)) {
            (DbBackend::Postgres, Some(target)) => bound.cast_as(Alias::new(target)),
            _ => bound,
        }
    };
    match (column_type, value) {
        (ColumnType::Bigint, Value::Int(i)) => Expr::val(Sql::BigInt(Some(*i))),
        (ColumnType::Bigint, _) => Expr::val(Sql::BigInt(None)),
        (ColumnType::Double, Value::Double(d)) => Expr::val(Sql::Double(Some(*d))),
        (ColumnType::Double, _) => Expr::val(Sql::Double(None)),
        (ColumnType::Boolean, Value::Bool(b)) => Expr::val(Sql::Bool(Some(*b))),
        (ColumnType::Boolean, _) => Expr::val(Sql::Bool(None)),
        (ColumnType::Bytes, Value::Bytes(b)) => Expr::val(Sql::Bytes(Some(b.clone()))),
        (ColumnType::Bytes, _) => Expr::val(Sql::Bytes(None)),
        (ColumnType::Timestamp, Value::Timestamp(t)) => Expr::val(Sql::ChronoDateTimeUtc(Some(*t))),
        (ColumnType::Timestamp, _) => Expr::val(Sql::ChronoDateTimeUtc(None)),
        (
            ColumnType::Text | ColumnType::Numeric | ColumnType::Date | ColumnType::Json,
            Value::Text(s) | Value::Numeric(s) | Value::Date(s) | Value::Json(s),
        ) => text(Some(s.clone())),
        (ColumnType::Text | ColumnType::Numeric | ColumnType::Date | ColumnType::Json, _) => {
            text(None)
        }
    }
}

/// PostgreSQL: the enclave's schema and, with `roles`, its own NOLOGIN
/// role, the only one (besides the center, which owns the schema) that may
/// use it. The center is made a member so it can `SET LOCAL ROLE` to it.
pub async fn create_space<C: ConnectionTrait>(
    conn: &C,
    enclave_id: Uuid,
    roles: bool,
) -> Result<(), DbErr> {
    if conn.get_database_backend() != DbBackend::Postgres {
        return Ok(());
    }
    let ident = enclave_ident(enclave_id);
    if roles {
        conn.execute_unprepared(&format!("CREATE ROLE \"{ident}\" NOLOGIN"))
            .await?;
        conn.execute_unprepared(&format!("GRANT \"{ident}\" TO CURRENT_USER"))
            .await?;
    }
    conn.execute_unprepared(&format!("CREATE SCHEMA \"{ident}\""))
        .await?;
    conn.execute_unprepared(&format!("REVOKE ALL ON SCHEMA \"{ident}\" FROM PUBLIC"))
        .await?;
    if roles {
        conn.execute_unprepared(&format!("GRANT USAGE ON SCHEMA \"{ident}\" TO \"{ident}\""))
            .await?;
    }
    Ok(())
}

/// Creates a data table with its hidden columns and the key as primary key.
pub async fn create_table<C: ConnectionTrait>(
    conn: &C,
    enclave_id: Uuid,
    def: &TableDef,
    roles: bool,
) -> Result<(), DbErr> {
    let backend = conn.get_database_backend();
    let location = Location::new(backend, enclave_id, &def.name);
    let mut create = Table::create();
    create.table(location.name());
    for column in &def.columns {
        create.col(column_sql(backend, column, def.is_key(&column.name)));
    }
    let integer = if backend == DbBackend::Postgres {
        "bigint"
    } else {
        "integer"
    };
    for hidden in [POSITION, INDEX] {
        create.col(
            SqlColumn::new(Alias::new(hidden))
                .custom(Alias::new(integer))
                .not_null()
                .default(0),
        );
    }
    create.col(
        SqlColumn::new(Alias::new(DELETED))
            .custom(Alias::new(sql_type(backend, ColumnType::Boolean)))
            .not_null()
            .default(false),
    );
    let mut key = Index::create();
    for column in &def.key_columns {
        key.col(Alias::new(column.clone()));
    }
    create.primary_key(&mut key);
    conn.execute(&create).await?;
    if backend == DbBackend::Postgres && roles {
        let ident = enclave_ident(enclave_id);
        conn.execute_unprepared(&format!(
            "GRANT SELECT, INSERT, UPDATE, DELETE ON \"{ident}\".\"{}\" TO \"{ident}\"",
            def.name
        ))
        .await?;
    }
    Ok(())
}

/// Adds nullable columns (one statement each: SQLite's limit).
pub async fn add_columns<C: ConnectionTrait>(
    conn: &C,
    enclave_id: Uuid,
    table: &str,
    columns: &[ColumnDef],
) -> Result<(), DbErr> {
    let backend = conn.get_database_backend();
    let location = Location::new(backend, enclave_id, table);
    for column in columns {
        let alter = Table::alter()
            .table(location.name())
            .add_column(column_sql(backend, column, false))
            .to_owned();
        conn.execute(&alter).await?;
    }
    Ok(())
}

/// Serialises writers of one enclave's change log, so its sequence numbers
/// become visible in the order they were taken and a reader never skips
/// one that commits late. (SQLite has a single writer anyway.)
pub async fn lock_enclave<C: ConnectionTrait>(conn: &C, enclave_id: Uuid) -> Result<(), DbErr> {
    if conn.get_database_backend() != DbBackend::Postgres {
        return Ok(());
    }
    let mut first = [0u8; 8];
    first.copy_from_slice(&enclave_id.as_bytes()[..8]);
    conn.execute_raw(Statement::from_sql_and_values(
        DbBackend::Postgres,
        "SELECT pg_advisory_xact_lock($1)",
        [i64::from_be_bytes(first).into()],
    ))
    .await?;
    Ok(())
}

/// Switches the transaction to the enclave's role: from here on the
/// database itself refuses anything outside the enclave.
pub async fn enter_role<C: ConnectionTrait>(conn: &C, enclave_id: Uuid) -> Result<(), DbErr> {
    conn.execute_unprepared(&format!("SET LOCAL ROLE \"{}\"", enclave_ident(enclave_id)))
        .await?;
    Ok(())
}

fn guard(location: &Location) -> Expr {
    let own = |c: &str| Expr::col((location.bare(), Alias::new(c)));
    let new = |c: &str| Expr::col((Alias::new("excluded"), Alias::new(c)));
    own(POSITION).lt(new(POSITION)).or(own(POSITION)
        .eq(new(POSITION))
        .and(own(INDEX).lt(new(INDEX))))
}

/// Inserts or replaces rows of a LOCAL table (every column, in table
/// order; distinct keys), undeleting them.
pub async fn upsert_many<C: ConnectionTrait>(
    conn: &C,
    enclave_id: Uuid,
    def: &TableDef,
    rows: &[Vec<Column>],
) -> Result<(), DbErr> {
    let backend = conn.get_database_backend();
    let location = Location::new(backend, enclave_id, &def.name);
    let per_statement = (MAX_STATEMENT_VALUES / (def.columns.len() + 1)).max(1);
    for chunk in chunks_within(rows, per_statement, STATEMENT_BYTES, |row| {
        bound_bytes(row.iter())
    }) {
        let mut names: Vec<Alias> = def
            .columns
            .iter()
            .map(|c| Alias::new(c.name.clone()))
            .collect();
        names.push(Alias::new(DELETED));
        let mut insert = Query::insert();
        insert.into_table(location.name()).columns(names.clone());
        for row in chunk {
            let mut values: Vec<Expr> = def
                .columns
                .iter()
                .map(|column| {
                    let value = row
                        .iter()
                        .find(|c| c.name == column.name)
                        .map_or(Value::Null, |c| c.value.clone());
                    bind(backend, column.column_type, &value)
                })
                .collect();
            values.push(bind(backend, ColumnType::Boolean, &Value::Bool(false)));
            insert
                .values(values)
                .map_err(|e| DbErr::Custom(e.to_string()))?;
        }
        insert.on_conflict(
            OnConflict::columns(def.key_columns.iter().map(|k| Alias::new(k.clone())))
                .update_columns(names.into_iter().filter(|n| !def.is_key(&n.0)))
                .to_owned(),
        );
        conn.execute(&insert).await?;
    }
    Ok(())
}

/// Applies one received change under the per-key guard: it takes effect
/// only when its (position, index) is above the row's. Unchanged values
/// keep the row's; a delete leaves a tombstone. Returns whether it took
/// effect.
pub async fn apply_guarded<C: ConnectionTrait>(
    conn: &C,
    enclave_id: Uuid,
    def: &TableDef,
    key: &[Column],
    after: Option<&[Column]>,
    order: (u64, u32),
) -> Result<bool, DbErr> {
    let backend = conn.get_database_backend();
    let location = Location::new(backend, enclave_id, &def.name);
    let mut names: Vec<Alias> = Vec::new();
    let mut values: Vec<Expr> = Vec::new();
    let mut updated: Vec<Alias> = Vec::new();
    for column in key {
        let Some(column_def) = def.column(&column.name) else {
            continue;
        };
        names.push(Alias::new(column.name.clone()));
        values.push(bind(backend, column_def.column_type, &column.value));
    }
    for column in after.unwrap_or_default() {
        if def.is_key(&column.name) {
            continue;
        }
        // Absent columns were only ever NULL (see the received-table plan).
        let Some(column_def) = def.column(&column.name) else {
            continue;
        };
        names.push(Alias::new(column.name.clone()));
        values.push(bind(backend, column_def.column_type, &column.value));
        if column.value != Value::Unchanged {
            updated.push(Alias::new(column.name.clone()));
        }
    }
    let position =
        i64::try_from(order.0).map_err(|_| DbErr::Custom("position beyond i64".into()))?;
    for (name, value) in [
        (POSITION, Expr::val(position)),
        (INDEX, Expr::val(i64::from(order.1))),
        (
            DELETED,
            bind(backend, ColumnType::Boolean, &Value::Bool(after.is_none())),
        ),
    ] {
        names.push(Alias::new(name));
        values.push(value);
        updated.push(Alias::new(name));
    }
    let insert = Query::insert()
        .into_table(location.name())
        .columns(names)
        .values(values)
        .map_err(|e| DbErr::Custom(e.to_string()))?
        .on_conflict(
            OnConflict::columns(def.key_columns.iter().map(|k| Alias::new(k.clone())))
                .update_columns(updated)
                .action_and_where(guard(&location))
                .to_owned(),
        )
        .to_owned();
    Ok(conn.execute(&insert).await?.rows_affected() > 0)
}

/// One received upsert for [`upsert_guarded_many`].
pub struct GuardedRow<'a> {
    pub key: &'a [Column],
    pub after: &'a [Column],
    pub order: (u64, u32),
}

/// Applies many received upserts, each under the per-key guard, in as few
/// statements as their size allows, and returns the (position, index) of
/// those that took effect. The rows must have distinct keys and the same
/// columns, and carry no unchanged values (the caller groups them so).
pub async fn upsert_guarded_many<C: ConnectionTrait>(
    conn: &C,
    enclave_id: Uuid,
    def: &TableDef,
    rows: &[GuardedRow<'_>],
) -> Result<HashSet<(u64, u32)>, DbErr> {
    let mut applied = HashSet::new();
    for chunk in chunks_within(rows, rows.len(), STATEMENT_BYTES, |row| {
        bound_bytes(row.key.iter().chain(row.after))
    }) {
        applied.extend(upsert_guarded_statement(conn, enclave_id, def, chunk).await?);
    }
    Ok(applied)
}

/// Roughly what the values of `columns` take in a statement's parameters.
fn bound_bytes<'a>(columns: impl Iterator<Item = &'a Column>) -> usize {
    // Each parameter carries a 4-byte length; the guard's three hidden
    // columns are counted as one more value.
    columns
        .map(|column| {
            4 + match &column.value {
                Value::Null | Value::Unchanged => 0,
                Value::Bool(_) => 1,
                Value::Int(_) | Value::Double(_) | Value::Timestamp(_) => 8,
                Value::Text(s) | Value::Numeric(s) | Value::Date(s) | Value::Json(s) => s.len(),
                Value::Bytes(b) => b.len(),
            }
        })
        .sum::<usize>()
        + 24
}

async fn upsert_guarded_statement<C: ConnectionTrait>(
    conn: &C,
    enclave_id: Uuid,
    def: &TableDef,
    rows: &[GuardedRow<'_>],
) -> Result<HashSet<(u64, u32)>, DbErr> {
    let Some(first) = rows.first() else {
        return Ok(HashSet::new());
    };
    let backend = conn.get_database_backend();
    let location = Location::new(backend, enclave_id, &def.name);
    let columns: Vec<&ColumnDef> = def
        .key_columns
        .iter()
        .chain(
            first
                .after
                .iter()
                .map(|c| &c.name)
                .filter(|name| !def.is_key(name)),
        )
        .filter_map(|name| def.column(name))
        .collect();
    let mut names: Vec<Alias> = columns.iter().map(|c| Alias::new(c.name.clone())).collect();
    let updated: Vec<Alias> = columns
        .iter()
        .filter(|c| !def.is_key(&c.name))
        .map(|c| Alias::new(c.name.clone()))
        .chain([POSITION, INDEX, DELETED].map(Alias::new))
        .collect();
    names.extend([POSITION, INDEX, DELETED].map(Alias::new));
    let mut insert = Query::insert();
    insert.into_table(location.name()).columns(names);
    for row in rows {
        let mut values: Vec<Expr> = columns
            .iter()
            .map(|def_column| {
                let value = row
                    .key
                    .iter()
                    .chain(row.after)
                    .find(|c| c.name == def_column.name)
                    .map_or(Value::Null, |c| c.value.clone());
                bind(backend, def_column.column_type, &value)
            })
            .collect();
        let position =
            i64::try_from(row.order.0).map_err(|_| DbErr::Custom("position beyond i64".into()))?;
        values.push(Expr::val(position));
        values.push(Expr::val(i64::from(row.order.1)));
        values.push(bind(backend, ColumnType::Boolean, &Value::Bool(false)));
        insert
            .values(values)
            .map_err(|e| DbErr::Custom(e.to_string()))?;
    }
    insert
        .on_conflict(
            OnConflict::columns(def.key_columns.iter().map(|k| Alias::new(k.clone())))
                .update_columns(updated)
                .action_and_where(guard(&location))
                .to_owned(),
        )
        .returning(Query::returning().columns([Alias::new(POSITION), Alias::new(INDEX)]));
    let applied = conn.query_all(&insert).await?;
    applied
        .iter()
        .map(|row| {
            let position = row.try_get_by_index::<i64>(0)?;
            let index = row.try_get_by_index::<i64>(1)?;
            Ok((
                u64::try_from(position).unwrap_or_default(),
                u32::try_from(index).unwrap_or_default(),
            ))
        })
        .collect()
}

/// Bind parameters one statement may carry on every backend (SQLite's
/// limit is 32,766).
pub const MAX_STATEMENT_VALUES: usize = 30_000;

/// Soft-deletes a live row of a LOCAL table; false when there was none.
pub async fn soft_delete<C: ConnectionTrait>(
    conn: &C,
    enclave_id: Uuid,
    def: &TableDef,
    key: &[Column],
) -> Result<bool, DbErr> {
    let backend = conn.get_database_backend();
    let location = Location::new(backend, enclave_id, &def.name);
    let mut update = Query::update();
    update
        .table(location.name())
        .value(
            Alias::new(DELETED),
            bind(backend, ColumnType::Boolean, &Value::Bool(true)),
        )
        .and_where(Expr::col(Alias::new(DELETED)).eq(bind(
            backend,
            ColumnType::Boolean,
            &Value::Bool(false),
        )));
    for condition in key_equals(backend, def, key) {
        update.and_where(condition);
    }
    Ok(conn.execute(&update).await?.rows_affected() > 0)
}

fn key_equals(backend: DbBackend, def: &TableDef, key: &[Column]) -> Vec<Expr> {
    key.iter()
        .filter_map(|column| {
            let column_def = def.column(&column.name)?;
            Some(Expr::col(Alias::new(column.name.clone())).eq(bind(
                backend,
                column_def.column_type,
                &column.value,
            )))
        })
        .collect()
}

/// Live rows in key order, after `after` (a full key) when given.
pub async fn select_rows<C: ConnectionTrait>(
    conn: &C,
    enclave_id: Uuid,
    def: &TableDef,
    after: Option<&[Column]>,
    limit: u64,
) -> Result<Vec<Vec<Column>>, DbErr> {
    let backend = conn.get_database_backend();
    let mut select = live_rows(backend, enclave_id, def);
    if let Some(after) = after {
        let keys: Vec<Expr> = def
            .key_columns
            .iter()
            .map(|k| Expr::col(Alias::new(k.clone())))
            .collect();
        let values: Vec<Expr> = def
            .key_defs()
            .into_iter()
            .map(|k| {
                let value = after
                    .iter()
                    .find(|c| c.name == k.name)
                    .map_or(Value::Null, |c| c.value.clone());
                bind(backend, k.column_type, &value)
            })
            .collect();
        select.and_where(Expr::tuple(keys).gt(Expr::tuple(values)));
    }
    for key in &def.key_columns {
        select.order_by(Alias::new(key.clone()), sea_orm::sea_query::Order::Asc);
    }
    select.limit(limit);
    let rows = conn.query_all(&select).await?;
    rows.iter().map(|row| read_row(def, row)).collect()
}

/// The live row with `key`, if any.
pub async fn select_row<C: ConnectionTrait>(
    conn: &C,
    enclave_id: Uuid,
    def: &TableDef,
    key: &[Column],
) -> Result<Option<Vec<Column>>, DbErr> {
    let backend = conn.get_database_backend();
    let mut select = live_rows(backend, enclave_id, def);
    for condition in key_equals(backend, def, key) {
        select.and_where(condition);
    }
    let row = conn.query_one(&select).await?;
    row.map(|row| read_row(def, &row)).transpose()
}

/// A key as comparable text (type-tagged, so 1 and "1" differ).
pub fn key_text(key: &[Column]) -> String {
    format!("{key:?}")
}

/// The live rows with the given keys, by [`key_text`] of their key.
pub async fn live_rows_by_key<C: ConnectionTrait>(
    conn: &C,
    enclave_id: Uuid,
    def: &TableDef,
    keys: &[Vec<Column>],
) -> Result<HashMap<String, Vec<Column>>, DbErr> {
    let backend = conn.get_database_backend();
    let mut found = HashMap::new();
    // A single-column key is one flat IN list; composite keys become OR
    // terms, kept few per statement (rendering nests them).
    let single = def
        .key_defs()
        .into_iter()
        .next()
        .filter(|_| def.key_columns.len() == 1);
    let per_statement = if single.is_some() { 1_000 } else { 50 };
    for chunk in keys.chunks(per_statement) {
        let condition = match single {
            Some(column) => Condition::all().add(Expr::col(Alias::new(column.name.clone())).is_in(
                chunk.iter().map(|key| {
                    let value = key
                        .iter()
                        .find(|c| c.name == column.name)
                        .map_or(Value::Null, |c| c.value.clone());
                    bind(backend, column.column_type, &value)
                }),
            )),
            None => chunk.iter().fold(Condition::any(), |any, key| {
                any.add(
                    key_equals(backend, def, key)
                        .into_iter()
                        .fold(Condition::all(), Condition::add),
                )
            }),
        };
        let mut select = live_rows(backend, enclave_id, def);
        select.cond_where(condition);
        for row in conn.query_all(&select).await? {
            let row = read_row(def, &row)?;
            let key: Vec<Column> = def
                .key_columns
                .iter()
                .filter_map(|k| row.iter().find(|c| &c.name == k).cloned())
                .collect();
            found.insert(key_text(&key), row);
        }
    }
    Ok(found)
}

/// How many live rows the table holds.
pub async fn count_rows<C: ConnectionTrait>(
    conn: &C,
    enclave_id: Uuid,
    def: &TableDef,
) -> Result<i64, DbErr> {
    let backend = conn.get_database_backend();
    let location = Location::new(backend, enclave_id, &def.name);
    let select = Query::select()
        .expr_as(Expr::cust("COUNT(*)"), Alias::new("n"))
        .from(location.name())
        .and_where(Expr::col(Alias::new(DELETED)).eq(bind(
            backend,
            ColumnType::Boolean,
            &Value::Bool(false),
        )))
        .to_owned();
    let row = conn.query_one(&select).await?;
    Ok(match row {
        Some(row) => row.try_get_by_index::<i64>(0)?,
        None => 0,
    })
}

fn live_rows(
    backend: DbBackend,
    enclave_id: Uuid,
    def: &TableDef,
) -> sea_orm::sea_query::SelectStatement {
    let location = Location::new(backend, enclave_id, &def.name);
    let mut select = Query::select();
    for (i, column) in def.columns.iter().enumerate() {
        let expr = Expr::col(Alias::new(column.name.clone()));
        let expr = match (backend, cast_from_text(column.column_type)) {
            (DbBackend::Postgres, Some(_)) => expr.cast_as(Alias::new("text")),
            _ => expr,
        };
        select.expr_as(expr, Alias::new(format!("c{i}")));
    }
    select
        .from(location.name())
        .and_where(Expr::col(Alias::new(DELETED)).eq(bind(
            backend,
            ColumnType::Boolean,
            &Value::Bool(false),
        )));
    select
}

fn read_row(def: &TableDef, row: &QueryResult) -> Result<Vec<Column>, DbErr> {
    def.columns
        .iter()
        .enumerate()
        .map(|(i, column)| {
            let value = match column.column_type {
                ColumnType::Bigint => row.try_get_by_index::<Option<i64>>(i)?.map(Value::Int),
                ColumnType::Double => row.try_get_by_index::<Option<f64>>(i)?.map(Value::Double),
                ColumnType::Boolean => row.try_get_by_index::<Option<bool>>(i)?.map(Value::Bool),
                ColumnType::Bytes => row
                    .try_get_by_index::<Option<Vec<u8>>>(i)?
                    .map(Value::Bytes),
                ColumnType::Timestamp => row
                    .try_get_by_index::<Option<chrono::DateTime<chrono::Utc>>>(i)?
                    .map(Value::Timestamp),
                ColumnType::Text => row.try_get_by_index::<Option<String>>(i)?.map(Value::Text),
                ColumnType::Numeric => row
                    .try_get_by_index::<Option<String>>(i)?
                    .map(Value::Numeric),
                ColumnType::Date => row.try_get_by_index::<Option<String>>(i)?.map(Value::Date),
                ColumnType::Json => row.try_get_by_index::<Option<String>>(i)?.map(Value::Json),
            };
            Ok(Column::new(
                column.name.clone(),
                value.unwrap_or(Value::Null),
            ))
        })
        .collect()
}
