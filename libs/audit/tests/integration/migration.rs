//! The audit log migration applies, is idempotent, and rolls back.

use sea_orm::{ConnectionTrait, DatabaseConnection, Statement};
use sea_orm_migration::MigratorTrait;
use zhongtai_audit::verify;

use crate::support::{Migrator, TestDb, append_records, on_both_databases, sealer};

on_both_databases!(migration_applies_twice_and_rolls_back);

async fn table_exists(db: &DatabaseConnection, table: &str) -> bool {
    db.query_one_raw(Statement::from_string(
        db.get_database_backend(),
        format!("SELECT COUNT(*) FROM {table}"),
    ))
    .await
    .is_ok()
}

async fn migration_applies_twice_and_rolls_back(test: &TestDb) {
    let db = &test.db;
    Migrator::up(db, None)
        .await
        .expect("applying again is a no-op");
    append_records(db, 0, 2).await;
    assert_eq!(sealer(db).seal_pending().await.expect("sealing works"), 2);

    Migrator::down(db, None)
        .await
        .expect("migrations roll back");
    assert!(!table_exists(db, "audit_log").await);
    assert!(!table_exists(db, "audit_chain_head").await);

    Migrator::up(db, None)
        .await
        .expect("migrations apply again");
    let report = verify(db).await.expect("verification runs");
    assert_eq!((report.sealed, report.pending, report.head), (0, 0, None));
}
