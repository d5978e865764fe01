//! Enclave tables as a line's source: the enclave's change log read in
//! sequence order. The position is the log sequence; the runner stores the
//! confirmed one, so confirming here has nothing to release.

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use chrono::Utc;
use tokio::sync::Notify;
use uuid::Uuid;

use super::entities::enclave_change;
use super::store::{EnclaveStore, codec};
use crate::domain::change::{Change, HopTimes, Operation};
use crate::domain::flow::{ChangeSource, FlowError, SourceBatch, SourceEvent};

/// Changes per batch.
pub const BATCH_LIMIT: u64 = 5_000;
/// How often an idle source looks again (writes in this process wake it
/// sooner).
const POLL_INTERVAL: Duration = Duration::from_millis(50);
/// How long an idle source stays silent before a heartbeat.
const HEARTBEAT_INTERVAL: Duration = Duration::from_secs(1);

pub struct EnclaveSource {
    store: EnclaveStore,
    changed: Arc<Notify>,
    line_id: Uuid,
    enclave_id: Uuid,
    tables: Vec<String>,
    /// Last sequence handed out.
    cursor: u64,
    last_event: Instant,
}

impl EnclaveSource {
    pub fn new(
        store: EnclaveStore,
        line_id: Uuid,
        enclave_id: Uuid,
        tables: Vec<String>,
        confirmed_position: u64,
    ) -> Self {
        Self {
            changed: store.changed(),
            store,
            line_id,
            enclave_id,
            tables,
            cursor: confirmed_position,
            last_event: Instant::now(),
        }
    }

    fn change(&self, row: enclave_change::Model) -> Result<Change, FlowError> {
        let unreadable = |e: String| {
            FlowError::Permanent(format!("enclave change {} is unreadable: {e}", row.seq))
        };
        let operation = Operation::from_name(&row.operation)
            .ok_or_else(|| unreadable(format!("operation {}", row.operation)))?;
        let key = codec::columns_from_json(&row.key_columns).map_err(unreadable)?;
        let before = codec::columns_from_json(&row.before_columns).map_err(unreadable)?;
        let after = codec::columns_from_json(&row.after_columns).map_err(unreadable)?;
        Ok(Change {
            line_id: self.line_id,
            position: u64::try_from(row.seq).unwrap_or_default(),
            index: 0,
            transaction_id: None,
            table: row.table_name,
            operation,
            key,
            before,
            after,
            hops: HopTimes {
                commit: Some(row.commit_at),
                capture: Some(Utc::now()),
                ..HopTimes::default()
            },
            subscription_id: None,
            grant_id: None,
        })
    }
}

#[async_trait]
impl ChangeSource for EnclaveSource {
    async fn next(&mut self) -> Result<SourceEvent, FlowError> {
        loop {
            // Registered before reading, so a commit between the read and
            // the wait still wakes us.
            let woken = self.changed.notified();
            let rows = self
                .store
                .changes_after(self.enclave_id, &self.tables, self.cursor, BATCH_LIMIT)
                .await
                .map_err(|e| {
                    FlowError::Transient(format!("cannot read the enclave change log: {e}"))
                })?;
            if !rows.is_empty() {
                let changes = rows
                    .into_iter()
                    .map(|row| self.change(row))
                    .collect::<Result<Vec<_>, _>>()?;
                if let Some(last) = changes.last() {
                    self.cursor = last.position;
                }
                self.last_event = Instant::now();
                return Ok(SourceEvent::Batch(SourceBatch {
                    changes,
                    confirm_position: self.cursor,
                }));
            }
            if self.last_event.elapsed() >= HEARTBEAT_INTERVAL {
                self.last_event = Instant::now();
                return Ok(SourceEvent::Heartbeat {
                    position: self.cursor,
                    at: Utc::now(),
                });
            }
            let _ = tokio::time::timeout(POLL_INTERVAL, woken).await;
        }
    }

    async fn confirm(&mut self, _position: u64) -> Result<(), FlowError> {
        Ok(())
    }

    fn position_text(&self, position: u64) -> String {
        position.to_string()
    }
}
