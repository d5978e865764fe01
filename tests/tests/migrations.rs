//! Every service's migrations apply to PostgreSQL and to SQLite, and applying
//! them again (a restart) is a no-op.

#![allow(clippy::unwrap_used)] // helpers outside #[test] fns may panic: they are test code

use sea_orm_migration::MigratorTrait;
use zhongtai_store::{StoreConfig, connect, migrate};
use zhongtai_testkit::TestDatabase;

/// Applies `M` twice to its own database, as two starts would.
async fn apply<M: MigratorTrait>(service: &str, url: &str) {
    let db = connect(&StoreConfig {
        url: url.to_string(),
        ..StoreConfig::default()
    })
    .await
    .unwrap_or_else(|e| panic!("{service}: {e}"));
    for start in 1..=2 {
        migrate::<M>(&db)
            .await
            .unwrap_or_else(|e| panic!("{service}, start {start}: {e}"));
    }
    let pending = M::get_pending_migrations(&db)
        .await
        .expect("migration history readable");
    assert!(
        pending.is_empty(),
        "{service}: {} migrations still pending",
        pending.len()
    );
    let applied = M::get_applied_migrations(&db)
        .await
        .expect("migration history readable");
    assert_eq!(applied.len(), M::migrations().len(), "{service}");
}

/// Each service owns its database, as in production.
async fn apply_all(url_for: impl Fn(&str) -> String) {
    apply::<zhongtai_approval::migration::Migrator>("approval", &url_for("approval")).await;
    apply::<zhongtai_catalog::migration::Migrator>("catalog", &url_for("catalog")).await;
    apply::<zhongtai_certificate::migration::Migrator>("certificate", &url_for("certificate"))
        .await;
    apply::<zhongtai_exchange::migration::Migrator>("exchange", &url_for("exchange")).await;
    apply::<zhongtai_gateway::migration::Migrator>("gateway", &url_for("gateway")).await;
}

#[tokio::test]
async fn every_service_migrates_on_postgres() {
    let mut databases = std::collections::HashMap::new();
    for service in ["approval", "catalog", "certificate", "exchange", "gateway"] {
        databases.insert(service, TestDatabase::create().await);
    }
    apply_all(|service| databases[service].url().to_string()).await;
}

#[tokio::test]
async fn every_service_migrates_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    apply_all(|service| {
        format!(
            "sqlite://{}",
            dir.path().join(format!("{service}.db")).display()
        )
    })
    .await;
}
