//! Databases for the tests: a migrated PostgreSQL database per test or a
//! SQLite file, each with an `effects` table the test handlers write one row
//! per handled event into, so double effects are countable.

use std::collections::HashMap;

use sea_orm::{
    ConnectionTrait, Database, DatabaseConnection, DbBackend, Statement, TransactionTrait, Value,
};
use sea_orm_migration::{MigrationTrait, MigratorTrait};
use zhongtai_events::migration::{CreateInbox, CreateOutbox};
use zhongtai_events::{EventEnvelope, outbox};
use zhongtai_testkit::TestDatabase;

use super::events::numbered;

/// The migrations a service lists to append and consume events.
pub struct Migrator;

impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![Box::new(CreateOutbox), Box::new(CreateInbox)]
    }
}

/// A fresh PostgreSQL database with the events tables and `effects`; keep
/// the `TestDatabase` alive as long as the connection is used.
pub async fn postgres() -> (TestDatabase, DatabaseConnection) {
    let database = TestDatabase::create().await;
    let db = Database::connect(database.url())
        .await
        .expect("test database accepts connections");
    prepare(&db).await;
    (database, db)
}

/// A SQLite database in `dir` with the events tables and `effects`.
pub async fn sqlite(dir: &tempfile::TempDir) -> DatabaseConnection {
    let path = dir.path().join("events.sqlite");
    let db = Database::connect(format!("sqlite://{}?mode=rwc", path.display()))
        .await
        .expect("SQLite database opens");
    prepare(&db).await;
    db
}

async fn prepare(db: &DatabaseConnection) {
    Migrator::up(db, None).await.expect("events migrations run");
    let position = match db.get_database_backend() {
        DbBackend::Sqlite => "position INTEGER PRIMARY KEY AUTOINCREMENT",
        _ => "position BIGSERIAL PRIMARY KEY",
    };
    db.execute_unprepared(&format!(
        "CREATE TABLE effects ({position}, consumer TEXT NOT NULL, event_id TEXT NOT NULL, subject TEXT NOT NULL)"
    ))
    .await
    .expect("effects table is created");
}

/// Records one effect of `event` by `consumer` through `conn` (the handler's
/// transaction).
pub async fn record_effect<C: ConnectionTrait>(
    conn: &C,
    consumer: &str,
    event: &EventEnvelope,
) -> Result<(), sea_orm::DbErr> {
    let backend = conn.get_database_backend();
    let sql = match backend {
        DbBackend::Postgres => {
            "INSERT INTO effects (consumer, event_id, subject) VALUES ($1, $2, $3)"
        }
        _ => "INSERT INTO effects (consumer, event_id, subject) VALUES (?, ?, ?)",
    };
    conn.execute_raw(Statement::from_sql_and_values(
        backend,
        sql,
        [
            Value::from(consumer),
            Value::from(event.id.as_str()),
            Value::from(event.subject.as_str()),
        ],
    ))
    .await?;
    Ok(())
}

/// Event ids in the order their effects were committed.
pub async fn effects_in_order(db: &DatabaseConnection) -> Vec<String> {
    let rows = db
        .query_all_raw(Statement::from_string(
            db.get_database_backend(),
            "SELECT event_id FROM effects ORDER BY position",
        ))
        .await
        .expect("effects are readable");
    rows.iter()
        .map(|row| {
            row.try_get::<String>("", "event_id")
                .expect("event_id column")
        })
        .collect()
}

/// How many effects each event had.
pub async fn effect_counts(db: &DatabaseConnection) -> HashMap<String, usize> {
    let mut counts = HashMap::new();
    for id in effects_in_order(db).await {
        *counts.entry(id).or_default() += 1;
    }
    counts
}

/// `(event id, published)` of every outbox row, in `seq` order.
pub async fn outbox_rows(db: &DatabaseConnection) -> Vec<(String, bool)> {
    let rows = db
        .query_all_raw(Statement::from_string(
            db.get_database_backend(),
            "SELECT id, published_at IS NOT NULL AS published FROM event_outbox ORDER BY seq",
        ))
        .await
        .expect("outbox is readable");
    rows.iter()
        .map(|row| {
            let id = row.try_get::<String>("", "id").expect("id column");
            let published = row
                .try_get::<bool>("", "published")
                .expect("published column");
            (id, published)
        })
        .collect()
}

/// Appends events numbered `first..first + count` about `subject` in one
/// transaction and commits it.
pub async fn append_committed(
    db: &DatabaseConnection,
    subject: &str,
    first: i64,
    count: i64,
) -> Vec<EventEnvelope> {
    let txn = db.begin().await.expect("transaction begins");
    let appended = outbox::append(&txn, "events-test", numbered(subject, first, count))
        .await
        .expect("events are appended");
    txn.commit().await.expect("transaction commits");
    appended
}

/// Like [`append_committed`], but the transaction is rolled back.
pub async fn append_rolled_back(
    db: &DatabaseConnection,
    subject: &str,
    first: i64,
    count: i64,
) -> Vec<EventEnvelope> {
    let txn = db.begin().await.expect("transaction begins");
    let appended = outbox::append(&txn, "events-test", numbered(subject, first, count))
        .await
        .expect("events are appended");
    txn.rollback().await.expect("transaction rolls back");
    appended
}
