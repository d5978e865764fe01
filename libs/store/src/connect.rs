use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DatabaseTransaction, DbErr,
    SqliteTransactionMode, TransactionOptions, TransactionTrait,
};
use sea_orm_migration::MigratorTrait;

use crate::config::sqlite_file;
use crate::{Backend, StoreConfig, StoreError, redact_url};

/// Opens a connection pool: one attempt, so callers decide how to retry.
///
/// A SQLite file (and its folder) is created when missing and switched to
/// write-ahead logging, so readers never block the single writer.
pub async fn connect(config: &StoreConfig) -> Result<DatabaseConnection, StoreError> {
    let backend = Backend::of_url(&config.url)?;
    let mut url = config.url.clone();
    let mut max_connections = config.max_connections.max(1);
    if backend == Backend::Sqlite {
        match sqlite_file(&url) {
            Some(path) => {
                if let Some(folder) = std::path::Path::new(path).parent()
                    && !folder.as_os_str().is_empty()
                {
                    std::fs::create_dir_all(folder).map_err(|source| StoreError::CreateFolder {
                        path: path.to_string(),
                        source,
                    })?;
                }
                if !url.contains("mode=") {
                    url.push_str(if url.contains('?') {
                        "&mode=rwc"
                    } else {
                        "?mode=rwc"
                    });
                }
            }
            // Every connection to `:memory:` is its own empty database.
            None => max_connections = 1,
        }
    }
    let mut options = ConnectOptions::new(url);
    options
        .max_connections(max_connections)
        .min_connections(0)
        .connect_timeout(config.connect_timeout)
        .acquire_timeout(config.acquire_timeout)
        .sqlx_logging(false);
    let db = Database::connect(options)
        .await
        .map_err(|source| StoreError::Connect {
            url: redact_url(&config.url),
            source,
        })?;
    if backend == Backend::Sqlite && sqlite_file(&config.url).is_some() {
        db.execute_unprepared("PRAGMA journal_mode=WAL")
            .await
            .map_err(|source| StoreError::Connect {
                url: redact_url(&config.url),
                source,
            })?;
    }
    Ok(db)
}

/// Starts a transaction that will write. On SQLite it takes the write lock
/// at `BEGIN` (`IMMEDIATE`): a deferred transaction that reads and then
/// writes fails at once with "database is locked" when another connection
/// wrote in between, whereas an immediate one waits its turn. PostgreSQL
/// ignores the mode.
pub async fn begin_write(db: &DatabaseConnection) -> Result<DatabaseTransaction, DbErr> {
    db.begin_with_options(TransactionOptions {
        sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
        ..TransactionOptions::default()
    })
    .await
}

/// Applies the service's pending migrations.
pub async fn migrate<M: MigratorTrait>(db: &DatabaseConnection) -> Result<(), StoreError> {
    M::up(db, None).await.map_err(StoreError::Migrate)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn sqlite_files_and_folders_are_created() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nested/approval.db");
        let db = connect(&StoreConfig {
            url: format!("sqlite://{}", path.display()),
            ..StoreConfig::default()
        })
        .await
        .unwrap();
        db.execute_unprepared("CREATE TABLE t (id INTEGER)")
            .await
            .unwrap();
        assert!(path.exists());
    }

    #[tokio::test]
    async fn unreachable_postgres_is_an_error_naming_the_redacted_url() {
        let port = zhongtai_testkit::free_port();
        let err = connect(&StoreConfig {
            url: format!("postgres://app:hunter2@127.0.0.1:{port}/zt"),
            connect_timeout: std::time::Duration::from_secs(2),
            acquire_timeout: std::time::Duration::from_secs(2),
            ..StoreConfig::default()
        })
        .await
        .unwrap_err()
        .to_string();
        assert!(err.contains(&format!("app:***@127.0.0.1:{port}")), "{err}");
        assert!(!err.contains("hunter2"), "{err}");
    }
}
