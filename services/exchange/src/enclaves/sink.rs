//! The enclave sink: applies a subscription's changes into its enclave
//! table, one transaction per batch, each change under the per-key
//! position guard so redelivery and reordering change nothing.

use std::collections::{HashMap, HashSet};

use async_trait::async_trait;
use chrono::Utc;

use super::domain::names::unqualified;
use super::domain::{EnclaveState, TableDef, received};
use super::error::EnclaveError;
use super::store::{self, EnclaveStore, LoggedChange, data};
use crate::domain::change::{Change, Column, Operation, Value};
use crate::domain::flow::{Accepted, DeliverySink, FlowError};
use crate::domain::subscription::Subscription;

pub struct EnclaveSink {
    store: EnclaveStore,
}

impl EnclaveSink {
    pub fn new(store: EnclaveStore) -> Self {
        Self { store }
    }
}

fn transient(error: impl std::fmt::Display) -> FlowError {
    FlowError::Transient(format!("enclave apply failed: {error}"))
}

/// A value the database refuses (SQLSTATE class 22, data exception: bad
/// JSON, a number out of range) refuses again on every retry; anything else
/// may pass later.
fn apply_error(error: sea_orm::DbErr) -> FlowError {
    use sea_orm::RuntimeErr;
    if let sea_orm::DbErr::Exec(RuntimeErr::SqlxError(cause))
    | sea_orm::DbErr::Query(RuntimeErr::SqlxError(cause)) = &error
        && let sea_orm::sqlx::Error::Database(database) = cause.as_ref()
        && database.code().is_some_and(|code| code.starts_with("22"))
    {
        return FlowError::Permanent(format!("a change cannot be stored: {database}"));
    }
    transient(error)
}

fn from_enclave_error(error: EnclaveError) -> FlowError {
    transient(error)
}

/// The enclave table a change lands in: the subscription's, or the source
/// table's own name.
fn target_table(configured: &str, change: &Change) -> String {
    if configured.is_empty() {
        unqualified(&change.table).to_string()
    } else {
        configured.to_string()
    }
}

#[async_trait]
impl DeliverySink for EnclaveSink {
    async fn accept(
        &self,
        subscription: &Subscription,
        changes: &[Change],
    ) -> Result<Vec<Accepted>, FlowError> {
        let Some(target) = &subscription.enclave else {
            return Err(FlowError::Permanent(format!(
                "subscription {} has no enclave target",
                subscription.id
            )));
        };
        if changes.is_empty() {
            return Ok(Vec::new());
        }
        let enclave = self
            .store
            .enclave(target.enclave_id)
            .await
            .map_err(from_enclave_error)?
            .ok_or_else(|| {
                FlowError::Permanent(format!("enclave {} does not exist", target.enclave_id))
            })?;
        if enclave.tenant != subscription.subscriber {
            return Err(FlowError::Permanent(format!(
                "enclave {} does not belong to subscriber {}",
                enclave.id, subscription.subscriber
            )));
        }
        if enclave.state == EnclaveState::Frozen {
            return Err(FlowError::Transient(format!(
                "enclave {} is frozen",
                enclave.id
            )));
        }
        let names: Vec<String> = changes
            .iter()
            .map(|change| target_table(&target.table, change))
            .collect();

        let published_at = Utc::now();
        let txn = zhongtai_store::begin_write(self.store.db())
            .await
            .map_err(transient)?;
        data::lock_enclave(&txn, enclave.id)
            .await
            .map_err(transient)?;

        let mut tables: HashMap<String, TableDef> = HashMap::new();
        for name in &names {
            if tables.contains_key(name) {
                continue;
            }
            let batch: Vec<Change> = changes
                .iter()
                .zip(&names)
                .filter(|(_, n)| *n == name)
                .map(|(c, _)| c.clone())
                .collect();
            let existing = store::table_in(&txn, enclave.id, name)
                .await
                .map_err(from_enclave_error)?;
            let plan = received::plan(existing.as_ref(), name, subscription.id, &batch)
                .map_err(FlowError::Permanent)?;
            if plan.create {
                data::create_table(&txn, enclave.id, &plan.table, self.store_roles())
                    .await
                    .map_err(transient)?;
                store::save_table(&txn, enclave.id, &plan.table, true)
                    .await
                    .map_err(from_enclave_error)?;
            } else if !plan.added.is_empty() {
                data::add_columns(&txn, enclave.id, name, &plan.added)
                    .await
                    .map_err(transient)?;
                store::save_table(&txn, enclave.id, &plan.table, false)
                    .await
                    .map_err(from_enclave_error)?;
            }
            tables.insert(name.clone(), plan.table);
        }

        let mut applied = Applied {
            effects: vec![false; changes.len()],
            ..Applied::default()
        };
        let mut group = UpsertGroup::default();
        for (at, (change, name)) in changes.iter().zip(&names).enumerate() {
            let Some(def) = tables.get(name) else {
                return Err(FlowError::Permanent(format!("no table planned for {name}")));
            };
            if group.takes(change, name, def) {
                group.push(at, change, name);
                continue;
            }
            group
                .flush(&txn, enclave.id, &tables, changes, &mut applied)
                .await?;
            if group.takes(change, name, def) {
                group.push(at, change, name);
                continue;
            }
            let deleting = change.operation == Operation::Delete;
            let before = data::select_row(&txn, enclave.id, def, &change.key)
                .await
                .map_err(transient)?;
            let after = (!deleting).then_some(change.after.as_slice());
            let effect =
                data::apply_guarded(&txn, enclave.id, def, &change.key, after, change.order())
                    .await
                    .map_err(apply_error)?;
            if effect {
                *applied.deltas.entry(name.clone()).or_default() +=
                    match (deleting, before.is_some()) {
                        (false, false) => 1,
                        (true, true) => -1,
                        _ => 0,
                    };
                let before = before.unwrap_or_else(|| change.before.clone());
                applied.logged.push(LoggedChange {
                    table: name.clone(),
                    operation: change.operation,
                    key: change.key.clone(),
                    after: if deleting {
                        Vec::new()
                    } else {
                        with_current(&change.after, &before)
                    },
                    before,
                });
            }
            applied.effects[at] = effect;
        }
        group
            .flush(&txn, enclave.id, &tables, changes, &mut applied)
            .await?;
        let commit_at = Utc::now();
        store::append_changes(&txn, enclave.id, &applied.logged, commit_at)
            .await
            .map_err(from_enclave_error)?;
        for (table, delta) in &applied.deltas {
            store::adjust_row_count(&txn, enclave.id, table, *delta)
                .await
                .map_err(from_enclave_error)?;
        }
        txn.commit().await.map_err(transient)?;
        let applied_at = Utc::now();
        if !applied.logged.is_empty() {
            self.store.changed().notify_waiters();
        }
        Ok(applied
            .effects
            .into_iter()
            .map(|had_effect| Accepted {
                published_at,
                delivered_at: Some(applied_at),
                applied_at: Some(applied_at),
                had_effect,
            })
            .collect())
    }
}

impl EnclaveSink {
    fn store_roles(&self) -> bool {
        self.store.roles_in_use()
    }
}

/// What applying a batch did.
#[derive(Default)]
struct Applied {
    /// Per change, in batch order.
    effects: Vec<bool>,
    /// Changes that took effect, in order, for the change log.
    logged: Vec<LoggedChange>,
    /// Rows that came to life minus rows deleted, per table.
    deltas: HashMap<String, i64>,
}

/// Consecutive upserts of one table with the same columns and distinct
/// keys, applied as one statement.
#[derive(Default)]
struct UpsertGroup {
    table: String,
    columns: Vec<String>,
    keys: HashSet<String>,
    members: Vec<usize>,
}

impl UpsertGroup {
    fn takes(&self, change: &Change, table: &str, def: &TableDef) -> bool {
        if change.operation == Operation::Delete
            || change.after.iter().any(|c| c.value == Value::Unchanged)
        {
            return false;
        }
        if self.members.is_empty() {
            return true;
        }
        let limit = data::MAX_STATEMENT_VALUES / (def.columns.len() + 3);
        self.table == table
            && self.members.len() < limit
            && change.after.iter().map(|c| &c.name).eq(self.columns.iter())
            && !self.keys.contains(&key_text(change))
    }

    fn push(&mut self, at: usize, change: &Change, table: &str) {
        if self.members.is_empty() {
            self.table = table.to_string();
            self.columns = change.after.iter().map(|c| c.name.clone()).collect();
        }
        self.keys.insert(key_text(change));
        self.members.push(at);
    }

    async fn flush<C: sea_orm::ConnectionTrait>(
        &mut self,
        conn: &C,
        enclave_id: uuid::Uuid,
        tables: &HashMap<String, TableDef>,
        changes: &[Change],
        applied: &mut Applied,
    ) -> Result<(), FlowError> {
        if self.members.is_empty() {
            return Ok(());
        }
        let Some(def) = tables.get(&self.table) else {
            return Err(FlowError::Permanent(format!(
                "no table planned for {}",
                self.table
            )));
        };
        let rows: Vec<data::GuardedRow<'_>> = self
            .members
            .iter()
            .map(|&at| data::GuardedRow {
                key: &changes[at].key,
                after: &changes[at].after,
                order: changes[at].order(),
            })
            .collect();
        let keys: Vec<Vec<_>> = self
            .members
            .iter()
            .map(|&at| changes[at].key.clone())
            .collect();
        let mut before = data::live_rows_by_key(conn, enclave_id, def, &keys)
            .await
            .map_err(transient)?;
        let took_effect = data::upsert_guarded_many(conn, enclave_id, def, &rows)
            .await
            .map_err(apply_error)?;
        for &at in &self.members {
            let change = &changes[at];
            let effect = took_effect.contains(&change.order());
            applied.effects[at] = effect;
            if effect {
                let live = before.remove(&data::key_text(&change.key));
                if live.is_none() {
                    *applied.deltas.entry(self.table.clone()).or_default() += 1;
                }
                applied.logged.push(LoggedChange {
                    table: self.table.clone(),
                    operation: change.operation,
                    key: change.key.clone(),
                    before: live.unwrap_or_else(|| change.before.clone()),
                    after: change.after.clone(),
                });
            }
        }
        *self = Self::default();
        Ok(())
    }
}

fn key_text(change: &Change) -> String {
    data::key_text(&change.key)
}

/// `after` with unchanged values replaced by the row's current ones, so
/// onward lines carry whole rows their filters can judge.
fn with_current(after: &[Column], before: &[Column]) -> Vec<Column> {
    after
        .iter()
        .map(
            |column| match (&column.value, before.iter().find(|c| c.name == column.name)) {
                (Value::Unchanged, Some(current)) => current.clone(),
                _ => column.clone(),
            },
        )
        .collect()
}
