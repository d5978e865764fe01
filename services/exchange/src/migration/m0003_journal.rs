//! The journal: one row per captured change and per delivery to a
//! subscription (identity, key and hashes; never row values), and the
//! stored reconciliation reports.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum JournalChanges {
    Table,
    ChangeId,
    LineId,
    /// u64 positions stored as i64.
    Position,
    Idx,
    TableName,
    Operation,
    /// Key columns as canonical JSON (sorted by column name), so a trace by
    /// key is an equality lookup.
    KeyJson,
    CommitAt,
    CaptureAt,
    /// Hex SHA-256 of the captured content.
    ContentHash,
}

#[derive(DeriveIden)]
enum JournalDeliveries {
    Table,
    SubscriptionId,
    ChangeId,
    LineId,
    Position,
    Idx,
    CommitAt,
    FilteredOut,
    /// Hex SHA-256 of the delivered (projected) content.
    ContentHash,
    PublishedAt,
    DeliveredAt,
    AppliedAt,
    Attempts,
    /// Applies that changed the subscriber's table; above one is a
    /// duplicate effect.
    Effects,
}

#[derive(DeriveIden)]
enum ReconciliationReports {
    Table,
    Id,
    LineId,
    WindowStart,
    WindowEnd,
    GeneratedAt,
    Verdict,
    /// The contract `ReconciliationReport`, protobuf-encoded.
    Report,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(JournalChanges::Table)
                    .col(string_len(JournalChanges::ChangeId, 80))
                    .col(string_len(JournalChanges::LineId, 36))
                    .col(big_integer(JournalChanges::Position))
                    .col(integer(JournalChanges::Idx))
                    .col(string_len(JournalChanges::TableName, 255))
                    .col(string_len(JournalChanges::Operation, 16))
                    .col(text(JournalChanges::KeyJson))
                    .col(timestamp_with_time_zone(JournalChanges::CommitAt))
                    .col(timestamp_with_time_zone(JournalChanges::CaptureAt))
                    .col(string_len(JournalChanges::ContentHash, 64))
                    // The change id is `<line>:<position>:<index>`; keyed by
                    // its parts, one index serves lookups by id, by position
                    // and by line.
                    .primary_key(
                        Index::create()
                            .col(JournalChanges::LineId)
                            .col(JournalChanges::Position)
                            .col(JournalChanges::Idx),
                    )
                    .to_owned(),
            )
            .await?;
        for (name, columns) in [
            (
                "journal_changes_commit",
                vec![JournalChanges::LineId, JournalChanges::CommitAt],
            ),
            (
                "journal_changes_key",
                vec![
                    JournalChanges::LineId,
                    JournalChanges::TableName,
                    JournalChanges::KeyJson,
                ],
            ),
        ] {
            let mut index = Index::create();
            index.name(name).table(JournalChanges::Table);
            for column in columns {
                index.col(column);
            }
            manager.create_index(index.to_owned()).await?;
        }

        manager
            .create_table(
                Table::create()
                    .table(JournalDeliveries::Table)
                    .col(string_len(JournalDeliveries::SubscriptionId, 36))
                    .col(string_len(JournalDeliveries::ChangeId, 80))
                    .col(string_len(JournalDeliveries::LineId, 36))
                    .col(big_integer(JournalDeliveries::Position))
                    .col(integer(JournalDeliveries::Idx))
                    .col(timestamp_with_time_zone(JournalDeliveries::CommitAt))
                    .col(boolean(JournalDeliveries::FilteredOut))
                    .col(string_len(JournalDeliveries::ContentHash, 64))
                    .col(timestamp_with_time_zone_null(
                        JournalDeliveries::PublishedAt,
                    ))
                    .col(timestamp_with_time_zone_null(
                        JournalDeliveries::DeliveredAt,
                    ))
                    .col(timestamp_with_time_zone_null(JournalDeliveries::AppliedAt))
                    .col(integer(JournalDeliveries::Attempts))
                    .col(integer(JournalDeliveries::Effects))
                    .primary_key(
                        Index::create()
                            .col(JournalDeliveries::SubscriptionId)
                            .col(JournalDeliveries::ChangeId),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("journal_deliveries_commit")
                    .table(JournalDeliveries::Table)
                    .col(JournalDeliveries::LineId)
                    .col(JournalDeliveries::CommitAt)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(ReconciliationReports::Table)
                    .col(string_len(ReconciliationReports::Id, 36).primary_key())
                    .col(string_len(ReconciliationReports::LineId, 36))
                    .col(timestamp_with_time_zone(ReconciliationReports::WindowStart))
                    .col(timestamp_with_time_zone(ReconciliationReports::WindowEnd))
                    .col(timestamp_with_time_zone(ReconciliationReports::GeneratedAt))
                    .col(string_len(ReconciliationReports::Verdict, 16))
                    .col(blob(ReconciliationReports::Report))
                    .to_owned(),
            )
            .await?;
        // One report per line and window, so a restarted instance (or a
        // second one) never stores a window twice.
        manager
            .create_index(
                Index::create()
                    .name("reconciliation_reports_window")
                    .table(ReconciliationReports::Table)
                    .col(ReconciliationReports::LineId)
                    .col(ReconciliationReports::WindowStart)
                    .unique()
                    .to_owned(),
            )
            .await
    }
}
