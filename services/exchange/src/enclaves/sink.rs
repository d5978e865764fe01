//! The enclave sink: applies a subscription's changes into its enclave
//! table, one transaction per batch, each change under the per-key
//! position guard so redelivery and reordering change nothing.

use std::collections::HashMap;

use async_trait::async_trait;
use chrono::Utc;

use super::domain::names::unqualified;
use super::domain::{EnclaveState, TableDef, received};
use super::error::EnclaveError;
use super::store::{self, EnclaveStore, LoggedChange, data};
use crate::domain::change::{Change, Operation};
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

        let mut effects = Vec::with_capacity(changes.len());
        let mut logged = Vec::new();
        for (change, name) in changes.iter().zip(&names) {
            let Some(def) = tables.get(name) else {
                return Err(FlowError::Permanent(format!("no table planned for {name}")));
            };
            let deleting = change.operation == Operation::Delete;
            let before = if deleting {
                data::select_row(&txn, enclave.id, def, &change.key)
                    .await
                    .map_err(transient)?
            } else {
                None
            };
            let after = (!deleting).then_some(change.after.as_slice());
            let effect =
                data::apply_guarded(&txn, enclave.id, def, &change.key, after, change.order())
                    .await
                    .map_err(transient)?;
            if effect {
                logged.push(LoggedChange {
                    table: name.clone(),
                    operation: change.operation,
                    key: change.key.clone(),
                    row: if deleting {
                        before.unwrap_or_else(|| change.before.clone())
                    } else {
                        change.after.clone()
                    },
                });
            }
            effects.push(effect);
        }
        let commit_at = Utc::now();
        store::append_changes(&txn, enclave.id, &logged, commit_at)
            .await
            .map_err(from_enclave_error)?;
        for def in tables.values() {
            store::refresh_row_count(&txn, enclave.id, def)
                .await
                .map_err(from_enclave_error)?;
        }
        txn.commit().await.map_err(transient)?;
        let applied_at = Utc::now();
        if !logged.is_empty() {
            self.store.changed().notify_waiters();
        }
        Ok(effects
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
