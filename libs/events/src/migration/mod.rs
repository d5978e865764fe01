//! Schema migrations for the outbox and inbox tables. Every service that
//! appends or consumes events lists [`CreateOutbox`] and/or [`CreateInbox`]
//! in its own `Migrator`. Both work on PostgreSQL and SQLite.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::{
    big_pk_auto, blob, integer, string, string_len, string_len_uniq, text_null,
    timestamp_with_time_zone, timestamp_with_time_zone_null,
};

#[derive(DeriveIden)]
enum EventOutbox {
    Table,
    Seq,
    Id,
    EventType,
    Tenant,
    Subject,
    Envelope,
    CreatedAt,
    PublishedAt,
    Attempts,
    LastError,
}

#[derive(DeriveIden)]
enum EventInbox {
    Table,
    Consumer,
    EventId,
    ProcessedAt,
}

/// Longest text form of a UUID.
const UUID_TEXT_LEN: u32 = 36;

/// Creates `event_outbox`, indexed for the relay's scan of unpublished rows
/// in `seq` order and for the retention sweep by `published_at`.
pub struct CreateOutbox;

impl MigrationName for CreateOutbox {
    fn name(&self) -> &str {
        "m20250101_000001_zhongtai_events_create_outbox"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for CreateOutbox {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(EventOutbox::Table)
                    .if_not_exists()
                    .col(big_pk_auto(EventOutbox::Seq))
                    .col(string_len_uniq(EventOutbox::Id, UUID_TEXT_LEN))
                    .col(string(EventOutbox::EventType))
                    .col(string(EventOutbox::Tenant))
                    .col(string(EventOutbox::Subject))
                    .col(blob(EventOutbox::Envelope))
                    .col(timestamp_with_time_zone(EventOutbox::CreatedAt))
                    .col(timestamp_with_time_zone_null(EventOutbox::PublishedAt))
                    .col(integer(EventOutbox::Attempts).default(0))
                    .col(text_null(EventOutbox::LastError))
                    .to_owned(),
            )
            .await?;
        // Serves both `published_at IS NULL ORDER BY seq` (the relay) and
        // `published_at < cutoff` (retention).
        manager
            .create_index(
                Index::create()
                    .name("idx_event_outbox_published_at_seq")
                    .table(EventOutbox::Table)
                    .col(EventOutbox::PublishedAt)
                    .col(EventOutbox::Seq)
                    .if_not_exists()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(
                Table::drop()
                    .table(EventOutbox::Table)
                    .if_exists()
                    .to_owned(),
            )
            .await
    }
}

/// Creates `event_inbox`: one row per (consumer, event id) processed, the
/// primary key that makes a redelivered event a no-op.
pub struct CreateInbox;

impl MigrationName for CreateInbox {
    fn name(&self) -> &str {
        "m20250101_000002_zhongtai_events_create_inbox"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for CreateInbox {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(EventInbox::Table)
                    .if_not_exists()
                    .col(string(EventInbox::Consumer))
                    .col(string_len(EventInbox::EventId, UUID_TEXT_LEN))
                    .col(timestamp_with_time_zone(EventInbox::ProcessedAt))
                    .primary_key(
                        Index::create()
                            .col(EventInbox::Consumer)
                            .col(EventInbox::EventId),
                    )
                    .to_owned(),
            )
            .await?;
        // For purging old inbox rows.
        manager
            .create_index(
                Index::create()
                    .name("idx_event_inbox_processed_at")
                    .table(EventInbox::Table)
                    .col(EventInbox::ProcessedAt)
                    .if_not_exists()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(
                Table::drop()
                    .table(EventInbox::Table)
                    .if_exists()
                    .to_owned(),
            )
            .await
    }
}
