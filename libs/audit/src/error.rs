//! Errors of the audit log.

use zhongtai_events::EventError;

/// Failure to record, seal or verify audit records.
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    /// The database refused or failed a statement.
    #[error("audit log storage failed: {0}")]
    Storage(#[from] sea_orm::DbErr),
    /// The outbox refused the audit event.
    #[error("audit event could not enter the outbox: {0}")]
    Outbox(#[from] EventError),
    /// The stored chain head cannot be extended (not a sequence number or not
    /// a SHA-256 hex hash). Sealing stops rather than start a second chain;
    /// [`verify`](crate::verify) shows what is wrong.
    #[error("audit chain head is unusable: {0}")]
    CorruptHead(String),
    /// A record this sealer was sealing had been sealed meanwhile: something
    /// wrote to the chain without holding the sealing lock. The batch was
    /// rolled back.
    #[error("audit record {record_id} was sealed by someone else during this batch")]
    SealRace {
        /// The record found already sealed.
        record_id: uuid::Uuid,
    },
}

impl AuditError {
    /// The database error behind this one, if a statement failed.
    pub fn database(&self) -> Option<&sea_orm::DbErr> {
        match self {
            Self::Storage(error) => Some(error),
            Self::Outbox(error) => error.database(),
            _ => None,
        }
    }
}
