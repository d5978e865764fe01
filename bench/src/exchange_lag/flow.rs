//! Rows in at the source, messages out of the subscription's queue: the
//! open-loop producer, the queue consumer, and matching each receipt to the
//! commit of its row.

use std::collections::HashSet;
use std::ops::Range;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use futures::StreamExt as _;
use lapin::options::{BasicConsumeOptions, QueueDeclareOptions};
use lapin::types::FieldTable;
use prost::Message as _;
use sea_orm::{ConnectionTrait as _, DatabaseConnection};
use tokio::sync::mpsc;
use zhongtai_contracts::exchange::v1 as pb;

use crate::stats::{self, Latencies};

/// One source transaction: rows `first_id..first_id + rows`, and when its
/// COMMIT returned to the producer.
#[derive(Debug, Clone, Copy)]
pub struct Commit {
    pub first_id: i64,
    pub rows: i64,
    pub at: Instant,
}

/// Inserts rows with consecutive ids, one statement (and so one
/// transaction) per commit.
pub struct Producer {
    db: DatabaseConnection,
    table: String,
    next_id: i64,
}

impl Producer {
    pub fn new(db: DatabaseConnection, table: &str) -> Self {
        Self {
            db,
            table: table.to_owned(),
            next_id: 1,
        }
    }

    /// The id the next row gets.
    pub fn next_id(&self) -> i64 {
        self.next_id
    }

    /// Commits `rows` rows in one transaction.
    pub async fn commit(&mut self, rows: i64) -> anyhow::Result<Commit> {
        let first_id = self.next_id;
        let last_id = first_id + rows - 1;
        // A department database commits with PostgreSQL's default
        // synchronous_commit = on; the test cluster turns it off, which
        // holds WAL back from walsenders for up to wal_writer_delay (200 ms).
        self.db
            .execute_unprepared(&format!(
                "SET synchronous_commit = on; INSERT INTO public.{} (id, payload) \
                 SELECT g, 'exchange benchmark row ' || g FROM generate_series({first_id}, {last_id}) g",
                self.table
            ))
            .await
            .context("cannot insert into the source table")?;
        let at = Instant::now();
        self.next_id = last_id + 1;
        Ok(Commit { first_id, rows, at })
    }

    /// Open loop: a commit of `rows_per_commit` rows every `interval` for
    /// `duration`, on schedule whatever the previous commit took (a late
    /// commit is followed by the missed ones at once).
    pub async fn fixed_rate(
        &mut self,
        rows_per_commit: i64,
        interval: Duration,
        duration: Duration,
    ) -> anyhow::Result<Vec<Commit>> {
        let ticks = (duration.as_nanos() / interval.as_nanos().max(1)).max(1);
        let mut schedule = tokio::time::interval(interval);
        schedule.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
        let mut commits = Vec::with_capacity(usize::try_from(ticks).unwrap_or(0));
        for _ in 0..ticks {
            schedule.tick().await;
            commits.push(self.commit(rows_per_commit).await?);
        }
        Ok(commits)
    }

    /// `rows` rows as fast as one connection commits them, `per_commit` a
    /// transaction.
    pub async fn burst(&mut self, rows: i64, per_commit: i64) -> anyhow::Result<Vec<Commit>> {
        let mut commits = Vec::new();
        let mut left = rows;
        while left > 0 {
            let now = left.min(per_commit);
            commits.push(self.commit(now).await?);
            left -= now;
        }
        Ok(commits)
    }
}

/// A row's message taken off the queue.
#[derive(Debug, Clone, Copy)]
pub struct Receipt {
    pub id: i64,
    /// The source position of its change (the commit LSN).
    pub position: u64,
    pub at: Instant,
}

/// Consumes the subscription's queue (auto-acknowledged: the benchmark
/// keeps nothing) and sends each row's id with its receipt time.
pub struct QueueConsumer {
    connection: lapin::Connection,
    pub receipts: mpsc::UnboundedReceiver<Receipt>,
    /// Messages that were not a ChangeRecord with an integer `id` key.
    pub unreadable: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

impl QueueConsumer {
    pub async fn start(amqp_url: &str, queue: &str) -> anyhow::Result<Self> {
        let connection =
            lapin::Connection::connect(amqp_url, lapin::ConnectionProperties::default())
                .await
                .with_context(|| format!("cannot connect to RabbitMQ at {amqp_url}"))?;
        let channel = connection.create_channel().await?;
        channel
            .queue_declare(
                queue.into(),
                QueueDeclareOptions {
                    durable: true,
                    ..QueueDeclareOptions::default()
                },
                FieldTable::default(),
            )
            .await
            .with_context(|| format!("cannot declare queue {queue}"))?;
        let mut consumer = channel
            .basic_consume(
                queue.into(),
                "zt-bench-p5".into(),
                BasicConsumeOptions {
                    no_ack: true,
                    ..BasicConsumeOptions::default()
                },
                FieldTable::default(),
            )
            .await
            .with_context(|| format!("cannot consume queue {queue}"))?;
        let (sender, receipts) = mpsc::unbounded_channel();
        let unreadable = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
        let unreadable_count = unreadable.clone();
        tokio::spawn(async move {
            // The channel lives as long as the consumer reads from it.
            let _channel = channel;
            while let Some(Ok(delivery)) = consumer.next().await {
                let at = Instant::now();
                match row_change(&delivery.data) {
                    Some((id, position)) => {
                        if sender.send(Receipt { id, position, at }).is_err() {
                            return;
                        }
                    }
                    None => {
                        unreadable_count.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    }
                }
            }
        });
        Ok(Self {
            connection,
            receipts,
            unreadable,
        })
    }

    /// Receipts of rows `ids`, until each has arrived or `patience` has
    /// passed without one; then a short while longer for duplicates.
    pub async fn collect(&mut self, ids: Range<i64>, patience: Duration) -> Vec<Receipt> {
        let wanted = usize::try_from(ids.end - ids.start).unwrap_or(0);
        let mut seen = HashSet::with_capacity(wanted);
        let mut receipts = Vec::with_capacity(wanted);
        while seen.len() < wanted {
            match tokio::time::timeout(patience, self.receipts.recv()).await {
                Ok(Some(receipt)) => {
                    if ids.contains(&receipt.id) {
                        seen.insert(receipt.id);
                        receipts.push(receipt);
                    }
                }
                Ok(None) | Err(_) => return receipts,
            }
        }
        let linger = Instant::now() + Duration::from_millis(300);
        while let Ok(Some(receipt)) =
            tokio::time::timeout_at(linger.into(), self.receipts.recv()).await
        {
            if ids.contains(&receipt.id) {
                receipts.push(receipt);
            }
        }
        receipts
    }

    pub async fn close(self) {
        let _ = self.connection.close(200, "done".into()).await;
    }
}

/// The row id and source position of a queue message.
fn row_change(body: &[u8]) -> Option<(i64, u64)> {
    let record = pb::ChangeRecord::decode(body).ok()?;
    let id = record
        .key
        .iter()
        .find(|column| column.name == "id")
        .and_then(|column| match column.value {
            Some(pb::column_value::Value::IntValue(id)) => Some(id),
            _ => None,
        })?;
    Some((id, record.position))
}

/// The highest source position among `receipts`.
pub fn last_position(receipts: &[Receipt]) -> Option<u64> {
    receipts.iter().map(|receipt| receipt.position).max()
}

/// What one measured stretch delivered.
#[derive(Debug, Clone)]
pub struct Delivered {
    pub committed: u64,
    /// Distinct rows received.
    pub delivered: u64,
    pub lost: u64,
    pub duplicates: u64,
    /// Receipt − commit of each distinct row (its first receipt).
    pub latencies: Latencies,
    /// First commit to last commit.
    pub commit_span: Duration,
    /// First commit to the last first-receipt.
    pub delivery_span: Duration,
    /// First first-receipt to last first-receipt.
    pub receipt_span: Duration,
}

/// Matches receipts to commits.
pub fn delivered(commits: &[Commit], receipts: &[Receipt]) -> Delivered {
    let committed: i64 = commits.iter().map(|c| c.rows).sum();
    let mut first_receipts = std::collections::HashMap::with_capacity(receipts.len());
    let mut duplicates = 0u64;
    for receipt in receipts {
        match first_receipts.entry(receipt.id) {
            std::collections::hash_map::Entry::Occupied(_) => duplicates += 1,
            std::collections::hash_map::Entry::Vacant(entry) => {
                entry.insert(receipt.at);
            }
        }
    }
    let mut nanos = Vec::with_capacity(first_receipts.len());
    for (&id, &at) in &first_receipts {
        let index = commits.partition_point(|c| c.first_id + c.rows <= id);
        if let Some(commit) = commits.get(index).filter(|c| c.first_id <= id) {
            nanos.push(stats::nanos(at.saturating_duration_since(commit.at)));
        }
    }
    let first_commit = commits.first().map(|c| c.at);
    let last_commit = commits.last().map(|c| c.at);
    let first_receipt = first_receipts.values().min().copied();
    let last_receipt = first_receipts.values().max().copied();
    let span = |from: Option<Instant>, to: Option<Instant>| {
        from.zip(to).map_or(Duration::ZERO, |(from, to)| {
            to.saturating_duration_since(from)
        })
    };
    let delivered = first_receipts.len() as u64;
    let committed = u64::try_from(committed).unwrap_or(0);
    Delivered {
        committed,
        delivered,
        lost: committed.saturating_sub(delivered),
        duplicates,
        latencies: Latencies::from_nanos(nanos),
        commit_span: span(first_commit, last_commit),
        delivery_span: span(first_commit, last_receipt),
        receipt_span: span(first_receipt, last_receipt),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn receipts_are_matched_to_the_commit_of_their_row() {
        let start = Instant::now();
        let commits = [
            Commit {
                first_id: 1,
                rows: 2,
                at: start,
            },
            Commit {
                first_id: 3,
                rows: 1,
                at: start + Duration::from_millis(10),
            },
        ];
        let receipts = [
            Receipt {
                id: 1,
                position: 1,
                at: start + Duration::from_millis(4),
            },
            Receipt {
                id: 3,
                position: 2,
                at: start + Duration::from_millis(12),
            },
            Receipt {
                id: 1,
                position: 1,
                at: start + Duration::from_millis(20),
            },
        ];
        let figures = delivered(&commits, &receipts);
        assert_eq!(figures.committed, 3);
        assert_eq!(figures.delivered, 2);
        assert_eq!(figures.lost, 1);
        assert_eq!(figures.duplicates, 1);
        // Row 1's first receipt counts (4 ms); row 3 took 2 ms.
        assert_eq!(figures.latencies.quantile_micros(0.5), Some(2_000.0));
        assert_eq!(figures.latencies.quantile_micros(1.0), Some(4_000.0));
        assert_eq!(figures.delivery_span, Duration::from_millis(12));
    }

    #[test]
    fn a_message_without_an_integer_key_is_unreadable() {
        let record = pb::ChangeRecord {
            position: 7,
            key: vec![pb::ColumnValue {
                name: "id".into(),
                value: Some(pb::column_value::Value::IntValue(42)),
                ..Default::default()
            }],
            ..Default::default()
        };
        assert_eq!(row_change(&record.encode_to_vec()), Some((42, 7)));
        assert_eq!(row_change(b"not protobuf at all \xff\xff"), None);
        assert_eq!(
            row_change(&pb::ChangeRecord::default().encode_to_vec()),
            None
        );
    }
}
