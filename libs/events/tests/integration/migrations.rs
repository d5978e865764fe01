//! The outbox and inbox migrations on both databases services run on: they
//! apply, the tables work, and they roll back and apply again.

use sea_orm::{ConnectionTrait, Database, DatabaseConnection, Statement, TransactionTrait};
use sea_orm_migration::MigratorTrait;
use zhongtai_events::outbox;
use zhongtai_testkit::TestDatabase;

use crate::support::db::Migrator;
use crate::support::events::numbered;

async fn table_exists(db: &DatabaseConnection, table: &str) -> bool {
    db.query_one_raw(Statement::from_string(
        db.get_database_backend(),
        format!("SELECT COUNT(*) FROM {table}"),
    ))
    .await
    .is_ok()
}

async fn migrations_apply_work_and_roll_back(db: &DatabaseConnection) {
    Migrator::up(db, None).await.expect("migrations apply");
    assert!(table_exists(db, "event_outbox").await);
    assert!(table_exists(db, "event_inbox").await);
    // Applying again is a no-op, as when a service restarts.
    Migrator::up(db, None)
        .await
        .expect("migrations apply twice");

    let txn = db.begin().await.expect("transaction begins");
    let appended = outbox::append(&txn, "migration-test", numbered("s", 1, 3))
        .await
        .expect("the outbox takes events");
    txn.commit().await.expect("commit");
    assert_eq!(appended.len(), 3);
    assert_eq!(outbox::pending_count(db).await.expect("outbox readable"), 3);
    assert_eq!(
        zhongtai_events::purge_inbox(db, std::time::Duration::from_secs(60))
            .await
            .expect("the inbox is usable"),
        0
    );

    Migrator::down(db, None)
        .await
        .expect("migrations roll back");
    assert!(!table_exists(db, "event_outbox").await);
    assert!(!table_exists(db, "event_inbox").await);
    Migrator::up(db, None)
        .await
        .expect("migrations apply again");
    assert_eq!(outbox::pending_count(db).await.expect("outbox readable"), 0);
}

#[tokio::test]
async fn migrations_run_on_sqlite_in_memory() {
    let db = Database::connect("sqlite::memory:")
        .await
        .expect("in-memory SQLite opens");
    migrations_apply_work_and_roll_back(&db).await;
}

#[tokio::test]
async fn migrations_run_on_a_sqlite_file() {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("m.sqlite").display()
    );
    let db = Database::connect(url).await.expect("SQLite file opens");
    migrations_apply_work_and_roll_back(&db).await;
}

#[tokio::test]
async fn migrations_run_on_postgres() {
    let database = TestDatabase::create().await;
    let db = Database::connect(database.url())
        .await
        .expect("test database accepts connections");
    migrations_apply_work_and_roll_back(&db).await;
}
