/// Why a store could not be opened or migrated.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The URL names no supported database.
    #[error("database url {url:?} is not supported: {reason}")]
    UnsupportedUrl { url: String, reason: String },
    /// The folder for a SQLite file could not be created.
    #[error("cannot create the folder for {path}: {source}")]
    CreateFolder {
        path: String,
        source: std::io::Error,
    },
    /// The database did not accept a connection.
    #[error("cannot connect to {url}: {source}")]
    Connect { url: String, source: sea_orm::DbErr },
    /// A migration failed; the schema is as the last successful one left it.
    #[error("migration failed: {0}")]
    Migrate(sea_orm::DbErr),
}
