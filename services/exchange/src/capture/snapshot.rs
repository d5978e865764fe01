//! The initial snapshot: every row of every table, read in the transaction
//! whose snapshot the replication slot was created with, so that the rows
//! and the changes streamed after the slot's consistent point together are
//! the table exactly once.

use std::time::{Duration, Instant};

use chrono::Utc;
use uuid::Uuid;

use crate::domain::change::{Change, Column, HopTimes, Operation, lsn_text};
use crate::domain::flow::{FlowError, SourceBatch, SourceEvent};
use crate::domain::line::{SnapshotProgress, SnapshotState, TableSnapshotProgress};

use super::setup::{TableInfo, flow_error, query};
use super::values;
use super::wire::Connection;

/// Progress is reported at most this often.
const PROGRESS_INTERVAL: Duration = Duration::from_millis(500);
const CURSOR: &str = "zhongtai_snapshot";

/// What a snapshot step produced.
pub enum Step {
    Event(SourceEvent),
    /// Every row was read; the transaction is committed.
    Finished(SnapshotProgress),
}

/// Reads the snapshot batch by batch.
pub struct SnapshotReader {
    line_id: Uuid,
    tables: Vec<TableInfo>,
    current: usize,
    cursor_open: bool,
    consistent_position: u64,
    batch_rows: usize,
    next_index: u32,
    progress: SnapshotProgress,
    started: Instant,
    last_progress: Option<Instant>,
}

impl SnapshotReader {
    /// For a transaction that has just created the slot at
    /// `consistent_position` with its snapshot.
    pub fn new(
        line_id: Uuid,
        tables: Vec<TableInfo>,
        consistent_position: u64,
        batch_rows: usize,
    ) -> Self {
        let table_progress: Vec<TableSnapshotProgress> = tables
            .iter()
            .map(|t| TableSnapshotProgress {
                table: t.qualified(),
                rows_done: 0,
                rows_total: t.estimated_rows,
                completed: false,
            })
            .collect();
        let rows_total = if table_progress.iter().any(|t| t.rows_total < 0) {
            -1
        } else {
            table_progress.iter().map(|t| t.rows_total).sum()
        };
        Self {
            line_id,
            tables,
            current: 0,
            cursor_open: false,
            consistent_position,
            batch_rows: batch_rows.max(1),
            next_index: 0,
            progress: SnapshotProgress {
                state: SnapshotState::Running,
                rows_done: 0,
                rows_total,
                rows_per_second: 0.0,
                eta_secs: None,
                started_at: Some(Utc::now()),
                completed_at: None,
                tables: table_progress,
                consistent_position: lsn_text(consistent_position),
            },
            started: Instant::now(),
            last_progress: None,
        }
    }

    pub fn consistent_position(&self) -> u64 {
        self.consistent_position
    }

    /// Reads the next batch of rows, or reports progress when it is due.
    pub async fn step(&mut self, connection: &mut Connection) -> Result<Step, FlowError> {
        if self
            .last_progress
            .is_none_or(|at| at.elapsed() >= PROGRESS_INTERVAL)
        {
            self.last_progress = Some(Instant::now());
            self.refresh_rates();
            return Ok(Step::Event(SourceEvent::Progress(self.progress.clone())));
        }
        loop {
            let Some(table) = self.tables.get(self.current).cloned() else {
                query(connection, "COMMIT").await?;
                self.refresh_rates();
                self.progress.state = SnapshotState::Completed;
                self.progress.completed_at = Some(Utc::now());
                self.progress.eta_secs = Some(0.0);
                return Ok(Step::Finished(self.progress.clone()));
            };
            if !self.cursor_open {
                query(
                    connection,
                    &format!(
                        "DECLARE {CURSOR} NO SCROLL CURSOR FOR SELECT * FROM {}",
                        table.quoted()
                    ),
                )
                .await?;
                self.cursor_open = true;
            }
            let rows = connection
                .simple_query(&format!("FETCH FORWARD {} FROM {CURSOR}", self.batch_rows))
                .await
                .map_err(|e| flow_error(&format!("snapshot of {} failed", table.qualified()), e))?
                .pop()
                .unwrap_or_default();
            if rows.rows.is_empty() {
                query(connection, &format!("CLOSE {CURSOR}")).await?;
                self.cursor_open = false;
                if let Some(progress) = self.progress.tables.get_mut(self.current) {
                    progress.completed = true;
                    progress.rows_total = progress.rows_total.max(progress.rows_done);
                }
                self.current += 1;
                continue;
            }
            let now = Utc::now();
            let mut changes = Vec::with_capacity(rows.rows.len());
            for row in rows.rows {
                let after: Vec<Column> = rows
                    .columns
                    .iter()
                    .zip(row)
                    .map(|((name, oid), text)| {
                        let value = match text {
                            Some(text) => values::decode(*oid, &text),
                            None => crate::domain::change::Value::Null,
                        };
                        Column::new(name.clone(), value)
                    })
                    .collect();
                let key = table
                    .key_columns
                    .iter()
                    .filter_map(|name| after.iter().find(|c| &c.name == name).cloned())
                    .collect();
                let index = self.next_index;
                self.next_index = self.next_index.checked_add(1).ok_or_else(|| {
                    FlowError::Permanent(
                        "a snapshot of more than 4 billion rows is not supported".into(),
                    )
                })?;
                changes.push(Change {
                    line_id: self.line_id,
                    position: self.consistent_position,
                    index,
                    transaction_id: None,
                    table: table.qualified(),
                    operation: Operation::Snapshot,
                    key,
                    before: Vec::new(),
                    after,
                    hops: HopTimes {
                        commit: Some(now),
                        capture: Some(now),
                        ..HopTimes::default()
                    },
                    subscription_id: None,
                    grant_id: None,
                });
            }
            let count = i64::try_from(changes.len()).unwrap_or(i64::MAX);
            self.progress.rows_done += count;
            if let Some(progress) = self.progress.tables.get_mut(self.current) {
                progress.rows_done += count;
            }
            return Ok(Step::Event(SourceEvent::Batch(SourceBatch {
                changes,
                // Nothing can be confirmed before streaming starts.
                confirm_position: 0,
            })));
        }
    }

    fn refresh_rates(&mut self) {
        let elapsed = self.started.elapsed().as_secs_f64();
        let rate = if elapsed > 0.0 {
            self.progress.rows_done as f64 / elapsed
        } else {
            0.0
        };
        self.progress.rows_per_second = rate;
        self.progress.eta_secs = (self.progress.rows_total >= 0 && rate > 0.0)
            .then(|| (self.progress.rows_total - self.progress.rows_done).max(0) as f64 / rate);
    }
}
