//! A log line's source: opens (and if need be creates) the publication and
//! slot, runs the initial snapshot, then streams committed transactions.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use futures::FutureExt;
use uuid::Uuid;
use zhongtai_kit::config::ExchangeConfig;

use crate::domain::change::{Change, Column, HopTimes, Operation, Value, lsn_text};
use crate::domain::flow::{ChangeSource, FlowError, SourceBatch, SourceEvent};
use crate::domain::line::{LogSourceSpec, SnapshotProgress, SnapshotState};

use super::pgoutput::{self, LogicalMessage, OldKind, Relation, TupleValue, postgres_micros};
use super::reader::Reader;
use super::setup::{self, TableInfo, flow_error, query};
use super::snapshot::{SnapshotReader, Step};
use super::values;
use super::wire::{Connection, CopyMessage, WireError, quote_identifier, quote_literal};

/// The floor for idle heartbeats, whatever the line says.
const MIN_HEARTBEAT: Duration = Duration::from_millis(100);
const DEFAULT_HEARTBEAT: Duration = Duration::from_secs(10);
const DROP_ATTEMPTS: u32 = 20;

/// Where a line's source is reopened.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Resume {
    /// Everything at or below it is durably downstream.
    pub confirmed_position: u64,
    pub snapshot: SnapshotProgress,
    /// Most changes per batch (also rows per snapshot fetch).
    pub batch_max_changes: usize,
}

/// Opens log sources on the configured source connections.
#[derive(Clone, Debug)]
pub struct LogCapture {
    config: ExchangeConfig,
}

impl LogCapture {
    pub fn new(config: ExchangeConfig) -> Self {
        Self { config }
    }

    fn source_url(&self, spec: &LogSourceSpec) -> Result<&str, FlowError> {
        self.config.source_url(&spec.connection_ref).ok_or_else(|| {
            FlowError::Permanent(format!(
                "source connection \"{}\" is not configured (set ZHONGTAI_EXCHANGE__SOURCES__{})",
                spec.connection_ref,
                spec.connection_ref.to_ascii_uppercase().replace('-', "_")
            ))
        })
    }

    /// Opens the line's source at `resume.confirmed_position`.
    pub async fn open(
        &self,
        line_id: Uuid,
        spec: &LogSourceSpec,
        resume: Resume,
    ) -> Result<Box<dyn ChangeSource>, FlowError> {
        let url = self.source_url(spec)?;
        let slot = spec.slot_name(line_id);
        setup::check_slot_name(&slot)?;
        let publication = spec.publication_name(line_id);
        let mut connection = Connection::connect(url, true)
            .await
            .map_err(|e| flow_error(&format!("source {}", spec.connection_ref), e))?;

        let tables = setup::inspect_tables(&mut connection, &spec.tables).await?;
        setup::ensure_publication(
            &mut connection,
            &publication,
            spec.owns_publication(),
            &tables,
        )
        .await?;

        let needs_snapshot = spec.snapshot
            && resume.snapshot.state != SnapshotState::Completed
            && resume.confirmed_position == 0;
        let existing = setup::slot_state(&mut connection, &slot).await?;
        if let Some(state) = &existing {
            if let Some(pid) = state.active_pid {
                return Err(FlowError::Transient(format!(
                    "replication slot {slot} is in use by another reader (PID {pid})"
                )));
            }
            if state.plugin != "pgoutput" {
                return Err(FlowError::Permanent(format!(
                    "replication slot {slot} uses the {} plugin; pgoutput is needed",
                    state.plugin
                )));
            }
        }
        let once_read =
            resume.confirmed_position > 0 || resume.snapshot.state == SnapshotState::Completed;
        if existing.is_none() && once_read {
            return Err(FlowError::Permanent(format!(
                "replication slot {slot} was dropped; changes after {} cannot be recovered — \
                 delete and recreate the line",
                lsn_text(resume.confirmed_position)
            )));
        }
        let version = server_major_version(&connection);
        let mut source = LogSource {
            line_id,
            connection: Some(connection),
            slot: slot.clone(),
            publication,
            tables: tables
                .iter()
                .map(|table| (table.qualified(), table.clone()))
                .collect(),
            relations: HashMap::new(),
            phase: Phase::Streaming,
            open: None,
            pending: VecDeque::new(),
            batch_max_changes: resume.batch_max_changes.max(1),
            resume_after: resume.confirmed_position,
            confirmed: resume.confirmed_position,
            server_wal_end: 0,
            heartbeat_interval: heartbeat_interval(spec.heartbeat_interval_ms),
            last_reply_request: Instant::now(),
        };

        if needs_snapshot {
            if existing.is_some() {
                if !spec.owns_slot() {
                    return Err(FlowError::Permanent(format!(
                        "replication slot {slot} already exists; a snapshot needs the slot it \
                         creates itself — drop the slot or turn the snapshot off"
                    )));
                }
                tracing::info!(line = %line_id, slot, "restarting an unfinished snapshot");
                source.drop_own_slot().await?;
            }
            let connection = source.connection()?;
            query(
                connection,
                "BEGIN READ ONLY ISOLATION LEVEL REPEATABLE READ",
            )
            .await?;
            let consistent = create_slot(connection, &slot, version, true).await?;
            tracing::info!(
                line = %line_id, slot, consistent = %lsn_text(consistent),
                "snapshot started"
            );
            source.phase = Phase::Snapshot(Box::new(SnapshotReader::new(
                line_id,
                tables,
                consistent,
                source.batch_max_changes,
            )));
        } else {
            let start = if existing.is_none() {
                let connection = source.connection()?;
                let consistent = create_slot(connection, &slot, version, false).await?;
                tracing::info!(line = %line_id, slot, at = %lsn_text(consistent), "slot created");
                consistent
            } else {
                resume.confirmed_position
            };
            source.start_streaming(start).await?;
        }
        Ok(Box::new(source))
    }

    /// Drops the slot and publication the line created.
    pub async fn drop_source_objects(
        &self,
        line_id: Uuid,
        spec: &LogSourceSpec,
    ) -> Result<(), FlowError> {
        if !spec.owns_slot() && !spec.owns_publication() {
            return Ok(());
        }
        let url = self.source_url(spec)?;
        let mut connection = Connection::connect(url, false)
            .await
            .map_err(|e| flow_error(&format!("source {}", spec.connection_ref), e))?;
        if spec.owns_slot() {
            drop_slot(&mut connection, &spec.slot_name(line_id)).await?;
        }
        if spec.owns_publication() {
            query(
                &mut connection,
                &format!(
                    "DROP PUBLICATION IF EXISTS {}",
                    quote_identifier(&spec.publication_name(line_id))
                ),
            )
            .await?;
        }
        connection.terminate().await;
        Ok(())
    }
}

/// Drops `slot`, ending whoever still reads it.
async fn drop_slot(connection: &mut Connection, slot: &str) -> Result<(), FlowError> {
    let literal = quote_literal(slot);
    for _ in 0..DROP_ATTEMPTS {
        // A role that may not end other sessions can still drop an idle slot.
        if let Err(error) = connection
            .simple_query(&format!(
                "SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots \
                 WHERE slot_name = {literal} AND active_pid IS NOT NULL"
            ))
            .await
        {
            tracing::warn!(slot, error = %error, "cannot end the slot's reader");
        }
        let dropped = connection
            .simple_query(&format!(
                "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots \
                 WHERE slot_name = {literal}"
            ))
            .await;
        match dropped {
            Ok(_) => return Ok(()),
            // Still active: the ended reader has not let go yet.
            Err(error) if error.code() == Some("55006") => {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(error) => return Err(flow_error(&format!("cannot drop slot {slot}"), error)),
        }
    }
    Err(FlowError::Transient(format!(
        "replication slot {slot} stays in use and cannot be dropped yet"
    )))
}

/// `CREATE_REPLICATION_SLOT`; returns the consistent point.
async fn create_slot(
    connection: &mut Connection,
    slot: &str,
    version: u32,
    use_snapshot: bool,
) -> Result<u64, FlowError> {
    let command = match (version >= 15, use_snapshot) {
        (true, true) => format!("CREATE_REPLICATION_SLOT {slot} LOGICAL pgoutput (SNAPSHOT 'use')"),
        (true, false) => {
            format!("CREATE_REPLICATION_SLOT {slot} LOGICAL pgoutput (SNAPSHOT 'nothing')")
        }
        (false, true) => format!("CREATE_REPLICATION_SLOT {slot} LOGICAL pgoutput USE_SNAPSHOT"),
        (false, false) => {
            format!("CREATE_REPLICATION_SLOT {slot} LOGICAL pgoutput NOEXPORT_SNAPSHOT")
        }
    };
    let created = connection
        .simple_query(&command)
        .await
        .map_err(|e| flow_error(&format!("cannot create replication slot {slot}"), e))?;
    created
        .first()
        .and_then(|result| result.rows.first())
        .and_then(|row| row.get(1).cloned().flatten())
        .and_then(|text| crate::domain::change::parse_lsn(&text))
        .ok_or_else(|| {
            FlowError::Transient(format!(
                "slot {slot} was created without a consistent point"
            ))
        })
}

/// The line's idle heartbeat interval; unset means the default.
fn heartbeat_interval(configured_ms: u64) -> Duration {
    if configured_ms == 0 {
        DEFAULT_HEARTBEAT
    } else {
        Duration::from_millis(configured_ms).max(MIN_HEARTBEAT)
    }
}

fn server_major_version(connection: &Connection) -> u32 {
    connection
        .parameter("server_version")
        .and_then(|v| v.split(|c: char| !c.is_ascii_digit()).next())
        .and_then(|major| major.parse().ok())
        .unwrap_or(15)
}

enum Phase {
    Snapshot(Box<SnapshotReader>),
    Streaming,
}

/// A transaction whose Commit has not arrived yet.
struct OpenTransaction {
    xid: u32,
    commit_time: DateTime<Utc>,
    changes: Vec<Change>,
}

struct LogSource {
    line_id: Uuid,
    connection: Option<Connection>,
    slot: String,
    publication: String,
    tables: HashMap<String, TableInfo>,
    relations: HashMap<u32, Relation>,
    phase: Phase,
    open: Option<OpenTransaction>,
    pending: VecDeque<SourceEvent>,
    batch_max_changes: usize,
    /// Transactions ending at or below it were confirmed before: the slot
    /// may send them again.
    resume_after: u64,
    confirmed: u64,
    server_wal_end: u64,
    heartbeat_interval: Duration,
    last_reply_request: Instant,
}

impl LogSource {
    fn connection(&mut self) -> Result<&mut Connection, FlowError> {
        self.connection
            .as_mut()
            .ok_or_else(|| FlowError::Transient("the source is closed".into()))
    }

    async fn drop_own_slot(&mut self) -> Result<(), FlowError> {
        let slot = self.slot.clone();
        drop_slot(self.connection()?, &slot).await
    }

    async fn start_streaming(&mut self, from: u64) -> Result<(), FlowError> {
        let command = format!(
            "START_REPLICATION SLOT {} LOGICAL {} (proto_version '1', publication_names {})",
            self.slot,
            lsn_text(from),
            quote_literal(&quote_identifier(&self.publication))
        );
        let slot = self.slot.clone();
        self.connection()?
            .start_copy_both(&command)
            .await
            .map_err(|error| match error.code() {
                Some("55006") => FlowError::Transient(format!(
                    "replication slot {slot} is in use by another reader"
                )),
                _ => flow_error(&format!("cannot stream from slot {slot}"), error),
            })?;
        self.phase = Phase::Streaming;
        self.last_reply_request = Instant::now();
        Ok(())
    }

    /// Standby status update: written, flushed and applied up to the
    /// confirmed position.
    async fn send_status(&mut self, reply_requested: bool) -> Result<(), FlowError> {
        let position = self.confirmed;
        let mut message = Vec::with_capacity(34);
        message.push(b'r');
        for _ in 0..3 {
            message.extend_from_slice(&position.to_be_bytes());
        }
        message.extend_from_slice(&postgres_micros(Utc::now()).to_be_bytes());
        message.push(u8::from(reply_requested));
        self.connection()?
            .send_copy(&message)
            .await
            .map_err(|e| flow_error("cannot confirm to the source", e))
    }

    async fn next_streamed(&mut self) -> Result<(), FlowError> {
        let wait = self
            .heartbeat_interval
            .saturating_sub(self.last_reply_request.elapsed());
        match tokio::time::timeout(wait, self.connection()?.read_copy()).await {
            Err(_) => {
                // Idle: ask the server where its log ends; the keepalive
                // it answers with becomes a heartbeat.
                self.last_reply_request = Instant::now();
                self.send_status(true).await
            }
            Ok(read) => self.handle_streamed(read).await,
        }
    }

    /// Reads one stream message if the server has already sent it; false
    /// when nothing is waiting. Never blocks: `read_copy` is cancel-safe.
    async fn read_if_ready(&mut self) -> Result<bool, FlowError> {
        let Some(connection) = self.connection.as_mut() else {
            return Ok(false);
        };
        match connection.read_copy().now_or_never() {
            None => Ok(false),
            Some(read) => self.handle_streamed(read).await.map(|()| true),
        }
    }

    async fn handle_streamed(
        &mut self,
        read: Result<CopyMessage, WireError>,
    ) -> Result<(), FlowError> {
        let data = match read {
            Ok(CopyMessage::Data(data)) => data,
            Ok(CopyMessage::Done) => {
                return Err(FlowError::Transient(format!(
                    "the source ended the stream of slot {}",
                    self.slot
                )));
            }
            Err(error) => return Err(streaming_error(&self.slot, error)),
        };
        let mut reader = Reader::new(&data);
        let malformed = |e: super::reader::Malformed| FlowError::Transient(e.to_string());
        match reader.u8().map_err(malformed)? {
            b'w' => {
                let _start = reader.u64().map_err(malformed)?;
                let wal_end = reader.u64().map_err(malformed)?;
                let _sent_at = reader.i64().map_err(malformed)?;
                self.server_wal_end = self.server_wal_end.max(wal_end);
                let message = pgoutput::decode(reader.rest()).map_err(malformed)?;
                self.apply(message)
            }
            b'k' => {
                let wal_end = reader.u64().map_err(malformed)?;
                let _sent_at = reader.i64().map_err(malformed)?;
                let reply = reader.u8().map_err(malformed)? == 1;
                self.server_wal_end = self.server_wal_end.max(wal_end);
                if reply {
                    self.send_status(false).await?;
                }
                // Everything before the keepalive has been read; with no
                // transaction half-read, all of it has been handed out.
                if self.open.is_none() && self.pending.is_empty() && wal_end > 0 {
                    self.pending.push_back(SourceEvent::Heartbeat {
                        position: wal_end,
                        at: Utc::now(),
                    });
                }
                Ok(())
            }
            other => Err(FlowError::Transient(format!(
                "unknown replication message {:?}",
                char::from(other)
            ))),
        }
    }

    /// Whole transactions the server has already sent join `event`'s batch,
    /// up to `batch_max_changes`: behind a backlog, the cost of delivering
    /// and confirming a batch is paid once for many small transactions
    /// instead of once each. Only the last transaction's end is confirmed.
    async fn coalesce(&mut self, event: SourceEvent) -> Result<SourceEvent, FlowError> {
        let SourceEvent::Batch(mut batch) = event else {
            return Ok(event);
        };
        if batch.confirm_position == 0 || !matches!(self.phase, Phase::Streaming) {
            return Ok(SourceEvent::Batch(batch));
        }
        loop {
            if self.pending.is_empty() {
                let reading = self.open.as_ref().map_or(0, |open| open.changes.len());
                if batch.changes.len() + reading >= self.batch_max_changes
                    || !self.read_if_ready().await?
                {
                    break;
                }
                continue;
            }
            let joins = matches!(
                self.pending.front(),
                Some(SourceEvent::Batch(next))
                    if next.confirm_position > 0
                        && batch.changes.len() + next.changes.len() <= self.batch_max_changes
            );
            if !joins {
                break;
            }
            if let Some(SourceEvent::Batch(next)) = self.pending.pop_front() {
                batch.changes.extend(next.changes);
                batch.confirm_position = next.confirm_position;
            }
        }
        Ok(SourceEvent::Batch(batch))
    }

    fn apply(&mut self, message: LogicalMessage) -> Result<(), FlowError> {
        match message {
            LogicalMessage::Begin {
                commit_time, xid, ..
            } => {
                self.open = Some(OpenTransaction {
                    xid,
                    commit_time,
                    changes: Vec::new(),
                });
            }
            LogicalMessage::Commit {
                end_lsn,
                commit_time,
                ..
            } => {
                let Some(transaction) = self.open.take() else {
                    return Err(FlowError::Transient("commit without begin".into()));
                };
                self.finish(transaction, end_lsn, commit_time);
            }
            LogicalMessage::Relation(relation) => self.learn(relation),
            LogicalMessage::Insert { relation_id, new } => {
                self.record(relation_id, Operation::Insert, None, Some(new))?;
            }
            LogicalMessage::Update {
                relation_id,
                old,
                new,
            } => self.record(relation_id, Operation::Update, old, Some(new))?,
            LogicalMessage::Delete { relation_id, old } => {
                self.record(relation_id, Operation::Delete, Some(old), None)?;
            }
            LogicalMessage::Truncate { relation_ids } => {
                let names: Vec<String> = relation_ids
                    .iter()
                    .filter_map(|id| self.relations.get(id))
                    .map(Relation::qualified)
                    .filter(|name| self.tables.contains_key(name))
                    .collect();
                if !names.is_empty() {
                    // Subscribers would silently keep rows the source no
                    // longer has.
                    return Err(FlowError::Permanent(format!(
                        "TRUNCATE of {} is not carried by exchange lines; delete and recreate \
                         the line to copy the table again",
                        names.join(", ")
                    )));
                }
            }
            LogicalMessage::Origin | LogicalMessage::Type | LogicalMessage::Message => {}
        }
        Ok(())
    }

    fn learn(&mut self, relation: Relation) {
        if let Some(known) = self.relations.get(&relation.id)
            && known.columns != relation.columns
        {
            let columns: Vec<&str> = relation.columns.iter().map(|c| c.name.as_str()).collect();
            tracing::info!(
                line = %self.line_id,
                table = %relation.qualified(),
                columns = ?columns,
                "source table changed shape"
            );
        }
        self.relations.insert(relation.id, relation);
    }

    fn record(
        &mut self,
        relation_id: u32,
        operation: Operation,
        old: Option<(OldKind, Vec<TupleValue>)>,
        new: Option<Vec<TupleValue>>,
    ) -> Result<(), FlowError> {
        let relation = self.relations.get(&relation_id).ok_or_else(|| {
            FlowError::Transient(format!("change for unknown relation {relation_id}"))
        })?;
        let table = relation.qualified();
        let Some(info) = self.tables.get(&table) else {
            return Ok(());
        };
        let after = match new {
            Some(values) => columns(relation, values)?,
            None => Vec::new(),
        };
        let before = match old {
            Some((kind, values)) => {
                let mut row = columns(relation, values)?;
                if kind == OldKind::Key {
                    // Only the identity's columns are sent; the rest are NULL.
                    let key_names: Vec<&str> = relation
                        .columns
                        .iter()
                        .filter(|c| c.key)
                        .map(|c| c.name.as_str())
                        .collect();
                    row.retain(|c| key_names.contains(&c.name.as_str()));
                }
                row
            }
            None => Vec::new(),
        };
        let key = info
            .key_columns
            .iter()
            .filter_map(|name| {
                let from_after = after
                    .iter()
                    .find(|c| &c.name == name && c.value != Value::Unchanged);
                from_after
                    .or_else(|| before.iter().find(|c| &c.name == name))
                    .cloned()
            })
            .collect();
        let Some(transaction) = self.open.as_mut() else {
            return Err(FlowError::Transient(
                "row change outside a transaction".into(),
            ));
        };
        let index = u32::try_from(transaction.changes.len()).map_err(|_| {
            FlowError::Permanent(
                "a transaction of more than 4 billion rows is not supported".into(),
            )
        })?;
        transaction.changes.push(Change {
            line_id: self.line_id,
            position: 0,
            index,
            transaction_id: Some(transaction.xid.to_string()),
            table,
            operation,
            key,
            before,
            after,
            hops: HopTimes {
                commit: Some(transaction.commit_time),
                ..HopTimes::default()
            },
            subscription_id: None,
            grant_id: None,
        });
        Ok(())
    }

    /// Hands a committed transaction out in batches; only the last one may
    /// be confirmed, since only then is the whole transaction downstream.
    fn finish(&mut self, transaction: OpenTransaction, end_lsn: u64, commit_time: DateTime<Utc>) {
        if end_lsn <= self.resume_after || transaction.changes.is_empty() {
            return;
        }
        let captured = Utc::now();
        let mut changes = transaction.changes;
        for change in &mut changes {
            change.position = end_lsn;
            change.hops.commit = Some(commit_time);
            change.hops.capture = Some(captured);
        }
        let mut chunks: Vec<Vec<Change>> = Vec::new();
        let mut rest = changes;
        while rest.len() > self.batch_max_changes {
            let tail = rest.split_off(self.batch_max_changes);
            chunks.push(rest);
            rest = tail;
        }
        chunks.push(rest);
        let last = chunks.len() - 1;
        for (number, chunk) in chunks.into_iter().enumerate() {
            self.pending.push_back(SourceEvent::Batch(SourceBatch {
                changes: chunk,
                confirm_position: if number == last { end_lsn } else { 0 },
            }));
        }
    }
}

fn columns(relation: &Relation, values: Vec<TupleValue>) -> Result<Vec<Column>, FlowError> {
    if values.len() != relation.columns.len() {
        return Err(FlowError::Transient(format!(
            "a row of {} has {} values for {} columns",
            relation.qualified(),
            values.len(),
            relation.columns.len()
        )));
    }
    Ok(relation
        .columns
        .iter()
        .zip(values)
        .map(|(column, value)| {
            let value = match value {
                TupleValue::Null => Value::Null,
                TupleValue::Unchanged => Value::Unchanged,
                TupleValue::Text(text) => values::decode(column.type_oid, &text),
            };
            Column::new(column.name.clone(), value)
        })
        .collect())
}

fn streaming_error(slot: &str, error: WireError) -> FlowError {
    // Whatever broke the stream (a dropped slot included), the runner
    // reopens, and reopening tells a lost slot apart.
    FlowError::Transient(format!("streaming from slot {slot} stopped: {error}"))
}

#[async_trait]
impl ChangeSource for LogSource {
    async fn next(&mut self) -> Result<SourceEvent, FlowError> {
        loop {
            if let Some(event) = self.pending.pop_front() {
                return self.coalesce(event).await;
            }
            if let Phase::Snapshot(reader) = &mut self.phase {
                let connection = self
                    .connection
                    .as_mut()
                    .ok_or_else(|| FlowError::Transient("the source is closed".into()))?;
                match reader.step(connection).await? {
                    Step::Event(event) => return Ok(event),
                    Step::Finished(progress) => {
                        let consistent = reader.consistent_position();
                        tracing::info!(
                            line = %self.line_id,
                            rows = progress.rows_done,
                            "snapshot completed"
                        );
                        self.start_streaming(consistent).await?;
                        return Ok(SourceEvent::SnapshotCompleted(progress));
                    }
                }
            }
            self.next_streamed().await?;
        }
    }

    async fn confirm(&mut self, position: u64) -> Result<(), FlowError> {
        if position <= self.confirmed {
            return Ok(());
        }
        self.confirmed = position;
        if matches!(self.phase, Phase::Streaming) {
            self.send_status(false).await?;
        }
        Ok(())
    }

    fn position_text(&self, position: u64) -> String {
        lsn_text(position)
    }

    async fn close(&mut self) {
        if let Some(connection) = self.connection.take() {
            connection.terminate().await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capture::pgoutput::RelationColumn;

    fn source(batch_max_changes: usize, resume_after: u64) -> LogSource {
        let table = TableInfo {
            schema: "public".into(),
            name: "people".into(),
            key_columns: vec!["id".into()],
            estimated_rows: -1,
            partitioned: false,
        };
        LogSource {
            line_id: Uuid::nil(),
            connection: None,
            slot: "s".into(),
            publication: "p".into(),
            tables: HashMap::from([(table.qualified(), table)]),
            relations: HashMap::new(),
            phase: Phase::Streaming,
            open: None,
            pending: VecDeque::new(),
            batch_max_changes,
            resume_after,
            confirmed: resume_after,
            server_wal_end: 0,
            heartbeat_interval: Duration::from_secs(1),
            last_reply_request: Instant::now(),
        }
    }

    fn people(name: &str) -> Relation {
        Relation {
            id: 7,
            schema: "public".into(),
            name: name.into(),
            replica_identity: b'd',
            columns: vec![
                RelationColumn {
                    key: true,
                    name: "id".into(),
                    type_oid: values::INT4,
                    type_modifier: -1,
                },
                RelationColumn {
                    key: false,
                    name: "name".into(),
                    type_oid: values::TEXT,
                    type_modifier: -1,
                },
            ],
        }
    }

    fn row(id: &str, name: Option<&str>) -> Vec<TupleValue> {
        vec![
            TupleValue::Text(id.into()),
            name.map_or(TupleValue::Null, |n| TupleValue::Text(n.into())),
        ]
    }

    fn transaction(source: &mut LogSource, rows: usize, end_lsn: u64) {
        source
            .apply(LogicalMessage::Begin {
                final_lsn: end_lsn - 8,
                commit_time: Utc::now(),
                xid: 5,
            })
            .unwrap();
        for i in 0..rows {
            source
                .apply(LogicalMessage::Insert {
                    relation_id: 7,
                    new: row(&i.to_string(), Some("x")),
                })
                .unwrap();
        }
        source
            .apply(LogicalMessage::Commit {
                commit_lsn: end_lsn - 8,
                end_lsn,
                commit_time: Utc::now(),
            })
            .unwrap();
    }

    fn batches(source: &mut LogSource) -> Vec<SourceBatch> {
        source
            .pending
            .drain(..)
            .filter_map(|event| match event {
                SourceEvent::Batch(batch) => Some(batch),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn a_transaction_is_one_batch_at_its_end_position() {
        let mut source = source(100, 0);
        source
            .apply(LogicalMessage::Relation(people("people")))
            .unwrap();
        transaction(&mut source, 3, 0x100);
        let batches = batches(&mut source);
        assert_eq!(batches.len(), 1);
        assert_eq!(batches[0].confirm_position, 0x100);
        let indexes: Vec<u32> = batches[0].changes.iter().map(|c| c.index).collect();
        assert_eq!(indexes, [0, 1, 2]);
        assert!(batches[0].changes.iter().all(|c| c.position == 0x100));
        assert_eq!(
            batches[0].changes[1].key,
            [Column::new("id", Value::Int(1))]
        );
        assert_eq!(batches[0].changes[0].transaction_id.as_deref(), Some("5"));
    }

    #[test]
    fn large_transactions_split_and_only_the_last_part_confirms() {
        let mut source = source(2, 0);
        source
            .apply(LogicalMessage::Relation(people("people")))
            .unwrap();
        transaction(&mut source, 5, 0x200);
        let batches = batches(&mut source);
        let sizes: Vec<usize> = batches.iter().map(|b| b.changes.len()).collect();
        assert_eq!(sizes, [2, 2, 1]);
        let confirms: Vec<u64> = batches.iter().map(|b| b.confirm_position).collect();
        assert_eq!(confirms, [0, 0, 0x200]);
        assert_eq!(batches[2].changes[0].index, 4);
    }

    /// What `next` hands out, in order, until nothing is pending.
    async fn handed_out(source: &mut LogSource) -> Vec<SourceEvent> {
        let mut events = Vec::new();
        while let Some(event) = source.pending.pop_front() {
            events.push(source.coalesce(event).await.unwrap());
        }
        events
    }

    fn sizes_and_confirms(events: &[SourceEvent]) -> Vec<(usize, u64)> {
        events
            .iter()
            .map(|event| match event {
                SourceEvent::Batch(batch) => (batch.changes.len(), batch.confirm_position),
                _ => (0, 0),
            })
            .collect()
    }

    #[tokio::test]
    async fn waiting_transactions_share_a_batch_up_to_its_limit() {
        let mut source = source(5, 0);
        source
            .apply(LogicalMessage::Relation(people("people")))
            .unwrap();
        transaction(&mut source, 2, 0x100);
        transaction(&mut source, 2, 0x200);
        transaction(&mut source, 2, 0x300);
        let events = handed_out(&mut source).await;
        assert_eq!(sizes_and_confirms(&events), [(4, 0x200), (2, 0x300)]);
        let SourceEvent::Batch(first) = &events[0] else {
            panic!("a batch first");
        };
        let positions: Vec<(u64, u32)> = first
            .changes
            .iter()
            .map(|c| (c.position, c.index))
            .collect();
        assert_eq!(positions, [(0x100, 0), (0x100, 1), (0x200, 0), (0x200, 1)]);
    }

    #[tokio::test]
    async fn parts_of_a_split_transaction_and_heartbeats_are_not_merged() {
        let mut source = source(2, 0);
        source
            .apply(LogicalMessage::Relation(people("people")))
            .unwrap();
        transaction(&mut source, 1, 0x100);
        transaction(&mut source, 3, 0x200);
        source.pending.push_back(SourceEvent::Heartbeat {
            position: 0x280,
            at: Utc::now(),
        });
        transaction(&mut source, 1, 0x300);
        let events = handed_out(&mut source).await;
        assert_eq!(
            sizes_and_confirms(&events),
            [(1, 0x100), (2, 0), (1, 0x200), (0, 0), (1, 0x300)]
        );
        assert!(matches!(
            events[3],
            SourceEvent::Heartbeat {
                position: 0x280,
                ..
            }
        ));
    }

    #[test]
    fn confirmed_transactions_sent_again_are_skipped() {
        let mut source = source(10, 0x200);
        source
            .apply(LogicalMessage::Relation(people("people")))
            .unwrap();
        transaction(&mut source, 1, 0x200);
        assert!(batches(&mut source).is_empty());
        transaction(&mut source, 1, 0x201);
        assert_eq!(batches(&mut source).len(), 1);
    }

    #[test]
    fn other_tables_are_ignored_and_deletes_carry_the_old_key() {
        let mut source = source(10, 0);
        source
            .apply(LogicalMessage::Relation(people("people")))
            .unwrap();
        let mut other = people("other");
        other.id = 8;
        source.apply(LogicalMessage::Relation(other)).unwrap();
        source
            .apply(LogicalMessage::Begin {
                final_lsn: 1,
                commit_time: Utc::now(),
                xid: 1,
            })
            .unwrap();
        source
            .apply(LogicalMessage::Insert {
                relation_id: 8,
                new: row("1", None),
            })
            .unwrap();
        source
            .apply(LogicalMessage::Delete {
                relation_id: 7,
                old: (OldKind::Key, row("9", None)),
            })
            .unwrap();
        source
            .apply(LogicalMessage::Commit {
                commit_lsn: 1,
                end_lsn: 0x30,
                commit_time: Utc::now(),
            })
            .unwrap();
        let batches = batches(&mut source);
        assert_eq!(batches[0].changes.len(), 1);
        let delete = &batches[0].changes[0];
        assert_eq!(delete.operation, Operation::Delete);
        assert_eq!(delete.key, [Column::new("id", Value::Int(9))]);
        assert_eq!(delete.before, [Column::new("id", Value::Int(9))]);
        assert!(delete.after.is_empty());
    }

    #[test]
    fn truncating_a_captured_table_fails_the_line() {
        let mut source = source(10, 0);
        source
            .apply(LogicalMessage::Relation(people("people")))
            .unwrap();
        let error = source
            .apply(LogicalMessage::Truncate {
                relation_ids: vec![7],
            })
            .unwrap_err();
        assert!(error.is_permanent());
        assert!(error.to_string().contains("public.people"));
    }

    #[test]
    fn rows_that_do_not_match_their_relation_are_refused() {
        let mut source = source(10, 0);
        source
            .apply(LogicalMessage::Relation(people("people")))
            .unwrap();
        source
            .apply(LogicalMessage::Begin {
                final_lsn: 1,
                commit_time: Utc::now(),
                xid: 1,
            })
            .unwrap();
        assert!(
            source
                .apply(LogicalMessage::Insert {
                    relation_id: 7,
                    new: vec![TupleValue::Null],
                })
                .is_err()
        );
        assert!(
            source
                .apply(LogicalMessage::Insert {
                    relation_id: 99,
                    new: vec![],
                })
                .is_err()
        );
    }
}
