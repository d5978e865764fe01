//! What lines read and whom they deliver to: line sources, runtime
//! positions, subscriptions, and the catalog grants they run under.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Lines {
    Table,
    SourceKind,
    SourceSpec,
    StateReason,
    RequestId,
}

#[derive(DeriveIden)]
enum LineRuntime {
    Table,
    LineId,
    /// Everything at or below it is durably downstream (u64 as i64).
    ConfirmedPosition,
    /// Latest position seen from the source.
    SourcePosition,
    CapturedTotal,
    /// JSON of the domain `SnapshotProgress`.
    Snapshot,
    LastActivityAt,
    /// Commit time of the last captured change, for capture lag.
    LastCommitAt,
    LastCaptureAt,
    /// Runner instance holding the line, and until when.
    LeaseOwner,
    LeaseUntil,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Subscriptions {
    Table,
    Id,
    LineId,
    SubscriberDivision,
    SubscriberDepartment,
    GrantId,
    Queue,
    EnclaveId,
    EnclaveTable,
    State,
    StateReason,
    /// JSON of the domain `DeliveryPolicy`.
    Policy,
    DeliveredPosition,
    /// Commit time and commit-to-accept lag of the last delivered change.
    LastDeliveredCommitAt,
    LastLagMs,
    RequestId,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Grants {
    Table,
    Id,
    ResourceId,
    OwnerDivision,
    OwnerDepartment,
    GranteeDivision,
    GranteeDepartment,
    Policy,
    State,
    ValidUntil,
    Version,
    UpdatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // SQLite takes one column per ALTER TABLE.
        for column in [
            string_len(Lines::SourceKind, 16).default("log").to_owned(),
            text(Lines::SourceSpec).default("{}").to_owned(),
            text(Lines::StateReason).default("").to_owned(),
            string_len_null(Lines::RequestId, 128),
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Lines::Table)
                        .add_column(column)
                        .to_owned(),
                )
                .await?;
        }
        manager
            .create_index(
                Index::create()
                    .name("lines_request")
                    .table(Lines::Table)
                    .col(Alias::new("owner_division"))
                    .col(Alias::new("owner_department"))
                    .col(Lines::RequestId)
                    .unique()
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(LineRuntime::Table)
                    .col(string_len(LineRuntime::LineId, 36).primary_key())
                    .col(big_integer(LineRuntime::ConfirmedPosition).default(0))
                    .col(big_integer(LineRuntime::SourcePosition).default(0))
                    .col(big_integer(LineRuntime::CapturedTotal).default(0))
                    .col(text(LineRuntime::Snapshot).default("{}"))
                    .col(timestamp_with_time_zone_null(LineRuntime::LastActivityAt))
                    .col(timestamp_with_time_zone_null(LineRuntime::LastCommitAt))
                    .col(timestamp_with_time_zone_null(LineRuntime::LastCaptureAt))
                    .col(string_len_null(LineRuntime::LeaseOwner, 128))
                    .col(timestamp_with_time_zone_null(LineRuntime::LeaseUntil))
                    .col(timestamp_with_time_zone(LineRuntime::UpdatedAt))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Subscriptions::Table)
                    .col(string_len(Subscriptions::Id, 36).primary_key())
                    .col(string_len(Subscriptions::LineId, 36))
                    .col(string_len(Subscriptions::SubscriberDivision, 6))
                    .col(string_len(Subscriptions::SubscriberDepartment, 64))
                    .col(string_len_null(Subscriptions::GrantId, 36))
                    .col(string_len_null(Subscriptions::Queue, 255))
                    .col(string_len_null(Subscriptions::EnclaveId, 36))
                    .col(string_len_null(Subscriptions::EnclaveTable, 63))
                    .col(string_len(Subscriptions::State, 16))
                    .col(text(Subscriptions::StateReason))
                    .col(text(Subscriptions::Policy))
                    .col(big_integer(Subscriptions::DeliveredPosition).default(0))
                    .col(timestamp_with_time_zone_null(
                        Subscriptions::LastDeliveredCommitAt,
                    ))
                    .col(big_integer(Subscriptions::LastLagMs).default(0))
                    .col(string_len_null(Subscriptions::RequestId, 128))
                    .col(timestamp_with_time_zone(Subscriptions::CreatedAt))
                    .col(timestamp_with_time_zone(Subscriptions::UpdatedAt))
                    .to_owned(),
            )
            .await?;
        for (name, columns, unique) in [
            ("subscriptions_line", vec![Subscriptions::LineId], false),
            ("subscriptions_grant", vec![Subscriptions::GrantId], false),
            (
                "subscriptions_subscriber",
                vec![
                    Subscriptions::SubscriberDivision,
                    Subscriptions::SubscriberDepartment,
                ],
                false,
            ),
            (
                "subscriptions_request",
                vec![
                    Subscriptions::SubscriberDivision,
                    Subscriptions::SubscriberDepartment,
                    Subscriptions::RequestId,
                ],
                true,
            ),
        ] {
            let mut index = Index::create();
            index.name(name).table(Subscriptions::Table);
            for column in columns {
                index.col(column);
            }
            if unique {
                index.unique();
            }
            manager.create_index(index.to_owned()).await?;
        }

        manager
            .create_table(
                Table::create()
                    .table(Grants::Table)
                    .col(string_len(Grants::Id, 36).primary_key())
                    .col(string_len(Grants::ResourceId, 36))
                    .col(string_len(Grants::OwnerDivision, 6))
                    .col(string_len(Grants::OwnerDepartment, 64))
                    .col(string_len(Grants::GranteeDivision, 6))
                    .col(string_len(Grants::GranteeDepartment, 64))
                    .col(text(Grants::Policy))
                    .col(string_len(Grants::State, 16))
                    .col(timestamp_with_time_zone_null(Grants::ValidUntil))
                    .col(big_integer(Grants::Version))
                    .col(timestamp_with_time_zone(Grants::UpdatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("grants_resource")
                    .table(Grants::Table)
                    .col(Grants::ResourceId)
                    .to_owned(),
            )
            .await
    }
}
