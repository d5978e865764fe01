//! Shared fixtures: migrated databases, records, raw reads of the tables.

use std::time::Duration;

use prost::Message;
use sea_orm::{ConnectionTrait, DatabaseConnection, Statement};
use sea_orm_migration::{MigrationTrait, MigratorTrait};
use zhongtai_audit::migration::CreateAuditLog;
use zhongtai_audit::{AuditRecord, Outcome, Sealer, SealerConfig, append_alone};
use zhongtai_events::EventEnvelope;
use zhongtai_events::migration::{CreateInbox, CreateOutbox};
use zhongtai_store::StoreConfig;
use zhongtai_testkit::TestDatabase;

/// Service name the tests record as.
pub const SOURCE: &str = "audit-test";

/// The migrations a service keeping an audit log lists.
pub struct Migrator;

impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(CreateOutbox),
            Box::new(CreateInbox),
            Box::new(CreateAuditLog),
        ]
    }
}

/// A migrated database; holds what keeps it alive.
pub struct TestDb {
    pub db: DatabaseConnection,
    _postgres: Option<TestDatabase>,
    _dir: Option<tempfile::TempDir>,
}

impl TestDb {
    /// A fresh PostgreSQL database.
    pub async fn postgres() -> Self {
        let database = TestDatabase::create().await;
        let db = open(database.url()).await;
        Self {
            db,
            _postgres: Some(database),
            _dir: None,
        }
    }

    /// A SQLite file in a temporary folder.
    pub async fn sqlite() -> Self {
        let dir = tempfile::tempdir().expect("temporary folder");
        let url = format!("sqlite://{}", dir.path().join("audit.sqlite").display());
        let db = open(&url).await;
        Self {
            db,
            _postgres: None,
            _dir: Some(dir),
        }
    }
}

async fn open(url: &str) -> DatabaseConnection {
    zhongtai_testkit::init_tracing();
    let db = zhongtai_store::connect(&StoreConfig {
        url: url.to_owned(),
        ..StoreConfig::default()
    })
    .await
    .expect("database opens");
    zhongtai_store::migrate::<Migrator>(&db)
        .await
        .expect("migrations run");
    db
}

/// Runs `$case(&TestDb)` once on PostgreSQL and once on SQLite, as
/// `<case>::postgres` and `<case>::sqlite`.
macro_rules! on_both_databases {
    ($($case:ident),* $(,)?) => {$(
        mod $case {
            #[tokio::test]
            async fn postgres() {
                let db = crate::support::TestDb::postgres().await;
                super::$case(&db).await;
            }

            #[tokio::test]
            async fn sqlite() {
                let db = crate::support::TestDb::sqlite().await;
                super::$case(&db).await;
            }
        }
    )*};
}
pub(crate) use on_both_databases;

/// A sealer with small batches, so ten records take several.
pub fn sealer(db: &DatabaseConnection) -> Sealer {
    Sealer::new(
        db.clone(),
        SOURCE,
        SealerConfig {
            batch_size: 4,
            poll_interval: Duration::from_millis(50),
        },
    )
}

/// The `n`th test record: every third one a denial with a reason.
pub fn record(n: usize) -> AuditRecord {
    let outcome = if n % 3 == 2 {
        Outcome::Denied
    } else {
        Outcome::Allowed
    };
    let record = AuditRecord::new(
        format!("user-{n}"),
        "331100/housing-fund",
        "/zhongtai.approval.v1.ApprovalService/CreateServiceItem",
        format!("service_item/{n}"),
        outcome,
    )
    .with_trace_id(format!("{n:032x}"))
    .with_peer("10.0.0.7:51234");
    if outcome == Outcome::Denied {
        record.with_reason("ROLE_NOT_ALLOWED")
    } else {
        record
    }
}

/// Appends records `first..first + count`, each in its own transaction.
pub async fn append_records(
    db: &DatabaseConnection,
    first: usize,
    count: usize,
) -> Vec<AuditRecord> {
    let mut records = Vec::with_capacity(count);
    for n in first..first + count {
        let record = record(n);
        append_alone(db, SOURCE, &record)
            .await
            .expect("record is appended");
        records.push(record);
    }
    records
}

/// Appends ten records one by one and seals them.
pub async fn sealed_chain_of_ten(db: &DatabaseConnection) -> Vec<AuditRecord> {
    let records = append_records(db, 0, 10).await;
    assert_eq!(sealer(db).seal_pending().await.expect("sealing works"), 10);
    records
}

/// Runs one statement written for both databases, on a connection or in a
/// transaction.
pub async fn execute<C: ConnectionTrait>(conn: &C, sql: &str) {
    conn.execute_raw(Statement::from_string(conn.get_database_backend(), sql))
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
}

/// One integer a query returns.
pub async fn query_i64(db: &DatabaseConnection, sql: &str) -> i64 {
    let row = db
        .query_one_raw(Statement::from_string(db.get_database_backend(), sql))
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .unwrap_or_else(|| panic!("{sql}: no row"));
    row.try_get_by_index::<i64>(0)
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

/// Every envelope in the outbox, in append order.
pub async fn outbox_events(db: &DatabaseConnection) -> Vec<EventEnvelope> {
    let rows = db
        .query_all_raw(Statement::from_string(
            db.get_database_backend(),
            "SELECT envelope FROM event_outbox ORDER BY seq",
        ))
        .await
        .expect("outbox is readable");
    rows.iter()
        .map(|row| {
            let bytes: Vec<u8> = row.try_get("", "envelope").expect("envelope column");
            EventEnvelope::decode(bytes.as_slice()).expect("envelope decodes")
        })
        .collect()
}
