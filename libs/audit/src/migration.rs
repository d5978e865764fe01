//! Schema of the audit log. Every service that keeps one lists
//! [`CreateAuditLog`] in its own `Migrator`; it works on PostgreSQL and
//! SQLite.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::{
    big_integer, big_integer_null, big_pk_auto, integer, string_len, string_len_null, text,
    timestamp_with_time_zone, timestamp_with_time_zone_null, uuid_uniq,
};

use crate::entity::chain_head::ROW_ID;

#[derive(DeriveIden)]
enum AuditLog {
    Table,
    Id,
    RecordId,
    At,
    Actor,
    Tenant,
    Action,
    Target,
    Outcome,
    Reason,
    TraceId,
    Peer,
    Seq,
    PrevHash,
    Hash,
    SealedAt,
}

#[derive(DeriveIden)]
enum AuditChainHead {
    Table,
    Id,
    Seq,
    Hash,
    UpdatedAt,
}

/// Length of a hex SHA-256 hash.
const HASH_HEX_LEN: u32 = 64;

/// Longest stored outcome (`allowed`), with room to spare.
const OUTCOME_LEN: u32 = 16;

/// Creates `audit_log` and `audit_chain_head`.
pub struct CreateAuditLog;

impl MigrationName for CreateAuditLog {
    fn name(&self) -> &str {
        "m0000_audit_log"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for CreateAuditLog {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(AuditLog::Table)
                    .if_not_exists()
                    .col(big_pk_auto(AuditLog::Id))
                    .col(uuid_uniq(AuditLog::RecordId))
                    .col(timestamp_with_time_zone(AuditLog::At))
                    .col(text(AuditLog::Actor))
                    .col(text(AuditLog::Tenant))
                    .col(text(AuditLog::Action))
                    .col(text(AuditLog::Target))
                    .col(string_len(AuditLog::Outcome, OUTCOME_LEN))
                    .col(text(AuditLog::Reason))
                    .col(text(AuditLog::TraceId))
                    .col(text(AuditLog::Peer))
                    // Unique, so its index also serves verification's scan
                    // in sequence order, and two sealers can never give out
                    // the same number.
                    .col(big_integer_null(AuditLog::Seq).unique_key())
                    .col(string_len_null(AuditLog::PrevHash, HASH_HEX_LEN))
                    .col(string_len_null(AuditLog::Hash, HASH_HEX_LEN))
                    .col(timestamp_with_time_zone_null(AuditLog::SealedAt))
                    .to_owned(),
            )
            .await?;
        // The sealer's `seq IS NULL ORDER BY id`: partial, so it holds only
        // the few pending rows however long the log grows.
        manager
            .create_index(
                Index::create()
                    .name("idx_audit_log_pending")
                    .table(AuditLog::Table)
                    .col(AuditLog::Id)
                    .and_where(Expr::col(AuditLog::Seq).is_null())
                    .if_not_exists()
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(AuditChainHead::Table)
                    .if_not_exists()
                    .col(
                        integer(AuditChainHead::Id)
                            .primary_key()
                            .check(Expr::col(AuditChainHead::Id).eq(ROW_ID)),
                    )
                    .col(big_integer(AuditChainHead::Seq))
                    .col(string_len(AuditChainHead::Hash, HASH_HEX_LEN))
                    .col(timestamp_with_time_zone(AuditChainHead::UpdatedAt))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(
                Table::drop()
                    .table(AuditChainHead::Table)
                    .if_exists()
                    .to_owned(),
            )
            .await?;
        manager
            .drop_table(Table::drop().table(AuditLog::Table).if_exists().to_owned())
            .await
    }
}
