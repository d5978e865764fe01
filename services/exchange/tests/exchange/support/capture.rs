//! A department's own database on the logical-replication cluster, and a
//! log capture configured to read it.

use std::collections::BTreeMap;
use std::time::Duration;

use sea_orm::{ConnectionTrait, Database, DatabaseConnection};
use uuid::Uuid;
use zhongtai_exchange::capture::{LogCapture, Resume};
use zhongtai_exchange::domain::{
    Change, ChangeSource, FlowError, LogSourceSpec, SourceBatch, SourceEvent, SourceTable,
};
use zhongtai_kit::config::ExchangeConfig;
use zhongtai_kit::secret::Secret;
use zhongtai_testkit::TestDatabase;

/// Waiting for one event longer than this is a failure.
pub const EVENT_TIMEOUT: Duration = Duration::from_secs(30);

/// A fresh source database with a capture reading it as `dept`.
pub struct Department {
    pub database: TestDatabase,
    pub sql: DatabaseConnection,
    pub capture: LogCapture,
}

impl Department {
    pub async fn create() -> Self {
        zhongtai_testkit::init_tracing();
        let database = TestDatabase::create_source().await;
        let sql = Database::connect(database.url()).await.unwrap();
        let capture = capture_with_url(database.url());
        Self {
            database,
            sql,
            capture,
        }
    }

    pub async fn exec(&self, statements: &str) {
        self.sql
            .execute_unprepared(statements)
            .await
            .unwrap_or_else(|e| panic!("{statements}: {e}"));
    }

    /// Opens a line's source, waiting out a previous reader that has not
    /// let go of the slot yet.
    pub async fn open(
        &self,
        line_id: Uuid,
        spec: &LogSourceSpec,
        resume: Resume,
    ) -> Result<Box<dyn ChangeSource>, FlowError> {
        let deadline = std::time::Instant::now() + Duration::from_secs(15);
        loop {
            match self.capture.open(line_id, spec, resume.clone()).await {
                Err(FlowError::Transient(reason))
                    if reason.contains("in use") && std::time::Instant::now() < deadline =>
                {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                other => return other,
            }
        }
    }

    /// Whether the replication slot exists.
    pub async fn slot_exists(&self, slot: &str) -> bool {
        let row = self
            .sql
            .query_one_raw(sea_orm::Statement::from_string(
                sea_orm::DatabaseBackend::Postgres,
                format!("SELECT count(*)::bigint AS n FROM pg_replication_slots WHERE slot_name = '{slot}'"),
            ))
            .await
            .unwrap()
            .unwrap();
        row.try_get::<i64>("", "n").unwrap() == 1
    }

    pub async fn publication_exists(&self, publication: &str) -> bool {
        let row = self
            .sql
            .query_one_raw(sea_orm::Statement::from_string(
                sea_orm::DatabaseBackend::Postgres,
                format!("SELECT count(*)::bigint AS n FROM pg_publication WHERE pubname = '{publication}'"),
            ))
            .await
            .unwrap()
            .unwrap();
        row.try_get::<i64>("", "n").unwrap() == 1
    }
}

/// A capture whose `dept` connection is `url`.
pub fn capture_with_url(url: &str) -> LogCapture {
    let mut sources = BTreeMap::new();
    sources.insert("dept".to_owned(), Secret::new(url.to_owned()));
    LogCapture::new(ExchangeConfig {
        sources,
        ..ExchangeConfig::default()
    })
}

/// A line spec over `tables` (public schema, primary keys).
pub fn spec(tables: &[&str], snapshot: bool) -> LogSourceSpec {
    LogSourceSpec {
        connection_ref: "dept".into(),
        publication: String::new(),
        slot: String::new(),
        tables: tables
            .iter()
            .map(|name| SourceTable {
                schema: "public".into(),
                name: (*name).into(),
                key_columns: Vec::new(),
            })
            .collect(),
        snapshot,
        heartbeat_interval_ms: 200,
    }
}

pub fn resume(confirmed_position: u64) -> Resume {
    Resume {
        confirmed_position,
        batch_max_changes: 1000,
        ..Resume::default()
    }
}

/// The next event, failing the test after [`EVENT_TIMEOUT`].
pub async fn next_event(source: &mut Box<dyn ChangeSource>) -> SourceEvent {
    tokio::time::timeout(EVENT_TIMEOUT, source.next())
        .await
        .expect("no event from the source in time")
        .expect("the source failed")
}

/// The next batch, skipping heartbeats and progress; fails the test after
/// [`EVENT_TIMEOUT`].
pub async fn next_batch(source: &mut Box<dyn ChangeSource>) -> SourceBatch {
    tokio::time::timeout(EVENT_TIMEOUT, async {
        loop {
            if let SourceEvent::Batch(batch) = source.next().await.expect("the source failed") {
                return batch;
            }
        }
    })
    .await
    .expect("no batch from the source in time")
}

/// The next `count` changes, however the source batches them (transactions
/// already waiting share a batch); fails the test after [`EVENT_TIMEOUT`].
pub async fn next_changes(source: &mut Box<dyn ChangeSource>, count: usize) -> Vec<Change> {
    let mut changes = Vec::new();
    while changes.len() < count {
        changes.extend(next_batch(source).await.changes);
    }
    changes
}
