//! Shared by the certificate center's handler-level tests: the center on a
//! fresh PostgreSQL database (or SQLite file), callers, and a look behind
//! the API at the tables.

#![allow(dead_code, unused_imports, clippy::unwrap_used)] // test helpers; not every test uses every one

mod fixtures;
mod issued;

pub use fixtures::*;
pub use issued::*;

use std::sync::Arc;

use sea_orm::{ConnectionTrait, DatabaseConnection};
use tokio_util::sync::CancellationToken;
use tonic::Request;
use zhongtai_certificate::codes::CodeApi;
use zhongtai_certificate::consents::ConsentApi;
use zhongtai_certificate::migration::Migrator;
use zhongtai_certificate::{Center, CertificateApi};
use zhongtai_kit::config::CertificateConfig;
use zhongtai_kit::{Caller, Role, TenantId};
use zhongtai_store::{StoreConfig, connect, migrate};
use zhongtai_testkit::TestDatabase;

/// A fixed key encryption key (base64 of 32 bytes).
pub const TEST_KEY_ENCRYPTION_KEY: &str = "dGVzdC1rZXktZW5jcnlwdGlvbi1rZXktMzItYnl0ZXM=";

pub fn config() -> CertificateConfig {
    CertificateConfig {
        key_encryption_key: TEST_KEY_ENCRYPTION_KEY.to_string().into(),
        refresh_interval_ms: 50,
        scan_batch_linger_ms: 2,
        ..CertificateConfig::default()
    }
}

/// The center on its own database, with its background work running until
/// the harness is dropped.
pub struct Harness {
    pub center: Arc<Center>,
    pub api: CertificateApi,
    pub codes: CodeApi,
    pub consents: ConsentApi,
    pub db: DatabaseConnection,
    stop: CancellationToken,
    _postgres: Option<TestDatabase>,
    _sqlite: Option<tempfile::TempDir>,
}

impl Drop for Harness {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

impl Harness {
    pub async fn postgres() -> Self {
        Self::postgres_with(config()).await
    }

    pub async fn postgres_with(config: CertificateConfig) -> Self {
        zhongtai_testkit::init_tracing();
        let database = TestDatabase::create().await;
        let db = open(database.url()).await;
        Self::on(db, config, Some(database), None)
    }

    pub async fn sqlite() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let db = open(&format!(
            "sqlite://{}",
            dir.path().join("certificate.db").display()
        ))
        .await;
        Self::on(db, config(), None, Some(dir))
    }

    /// A second center (another instance) on the same database.
    pub fn another_instance(&self) -> Arc<Center> {
        let center = Center::new(
            self.db.clone(),
            Arc::new(tokio::sync::Notify::new()),
            config(),
        )
        .unwrap();
        let center = Arc::new(center);
        for task in center.background(self.stop.clone()) {
            tokio::spawn(task);
        }
        center
    }

    fn on(
        db: DatabaseConnection,
        config: CertificateConfig,
        postgres: Option<TestDatabase>,
        sqlite: Option<tempfile::TempDir>,
    ) -> Self {
        let center = Arc::new(
            Center::new(db.clone(), Arc::new(tokio::sync::Notify::new()), config).unwrap(),
        );
        let stop = CancellationToken::new();
        for task in center.background(stop.clone()) {
            tokio::spawn(task);
        }
        Self {
            api: center.certificate_api(),
            codes: center.codes.api(),
            consents: center.consents.api(),
            center,
            db,
            stop,
            _postgres: postgres,
            _sqlite: sqlite,
        }
    }

    /// `SELECT COUNT(*) FROM <query>`.
    pub async fn count(&self, query: &str) -> i64 {
        let row = self
            .db
            .query_one_raw(sea_orm::Statement::from_string(
                self.db.get_database_backend(),
                format!("SELECT COUNT(*) AS n FROM {query}"),
            ))
            .await
            .unwrap()
            .unwrap();
        row.try_get::<i64>("", "n").unwrap()
    }
}

async fn open(url: &str) -> DatabaseConnection {
    let db = connect(&StoreConfig {
        url: url.to_string(),
        ..StoreConfig::default()
    })
    .await
    .unwrap();
    migrate::<Migrator>(&db).await.unwrap();
    db
}

/// `message` as a request made by `caller`.
pub fn by<T>(caller: &Caller, message: T) -> Request<T> {
    zhongtai_kit::auth::acting_as(Request::new(message), caller.clone())
}

/// A caller of `tenant` (`331100/market-regulation`) with `roles`.
pub fn staff(subject: &str, tenant: &str, roles: &[Role]) -> Caller {
    Caller::new(subject, TenantId::from_key(tenant).unwrap(), roles)
}

/// A citizen signed in as the person with this resident identity card
/// number (subject `person:resident-id-card:<number>`).
pub fn citizen(id_number: &str) -> Caller {
    Caller::new(
        format!("person:resident-id-card:{id_number}"),
        TenantId::parse("331100", "").unwrap(),
        &[Role::Viewer],
    )
}

/// A fresh request id.
pub fn rid() -> String {
    uuid::Uuid::new_v4().to_string()
}
