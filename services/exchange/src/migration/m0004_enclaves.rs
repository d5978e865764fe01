//! Enclaves: their metadata (enclaves, tables, backflow rules), the change
//! log backflow lines read, and the record that makes row writes idempotent.
//! The enclave data tables themselves are created at run time, one schema
//! (PostgreSQL) or one table-name prefix (SQLite) per enclave.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Enclaves {
    Table,
    Id,
    TenantDivision,
    TenantDepartment,
    Name,
    State,
    RequestId,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum EnclaveTables {
    Table,
    EnclaveId,
    Name,
    /// `received` or `local`.
    Origin,
    SubscriptionId,
    /// JSON list of `{name, type, nullable}`.
    Columns,
    /// JSON list of key column names.
    KeyColumns,
    RowCount,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum BackflowRules {
    Table,
    Id,
    EnclaveId,
    SourceTable,
    TargetDivision,
    TargetDepartment,
    TargetEnclaveId,
    TargetTable,
    /// JSON of the domain `DeliveryPolicy` (fields and row filter).
    Policy,
    LineId,
    SubscriptionId,
    RequestId,
    CreatedAt,
    Removed,
    RemovedAt,
}

#[derive(DeriveIden)]
enum EnclaveChanges {
    Table,
    Seq,
    EnclaveId,
    TableName,
    Operation,
    /// JSON of the typed key columns.
    KeyColumns,
    /// JSON of the typed row before the change, when there was one.
    BeforeColumns,
    /// JSON of the typed row after the change (empty for deletes).
    AfterColumns,
    CommitAt,
}

#[derive(DeriveIden)]
enum EnclaveWriteRequests {
    Table,
    EnclaveId,
    RequestId,
    TableName,
    UpsertedCount,
    DeletedCount,
    CreatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Enclaves::Table)
                    .col(string_len(Enclaves::Id, 36).primary_key())
                    .col(string_len(Enclaves::TenantDivision, 6))
                    .col(string_len(Enclaves::TenantDepartment, 64))
                    .col(string_len(Enclaves::Name, 200))
                    .col(string_len(Enclaves::State, 16))
                    .col(string_len(Enclaves::RequestId, 128))
                    .col(timestamp_with_time_zone(Enclaves::CreatedAt))
                    .col(timestamp_with_time_zone(Enclaves::UpdatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("enclaves_request")
                    .table(Enclaves::Table)
                    .col(Enclaves::TenantDivision)
                    .col(Enclaves::TenantDepartment)
                    .col(Enclaves::RequestId)
                    .unique()
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(EnclaveTables::Table)
                    .col(string_len(EnclaveTables::EnclaveId, 36))
                    .col(string_len(EnclaveTables::Name, 63))
                    .col(string_len(EnclaveTables::Origin, 16))
                    .col(string_len_null(EnclaveTables::SubscriptionId, 36))
                    .col(text(EnclaveTables::Columns))
                    .col(text(EnclaveTables::KeyColumns))
                    .col(big_integer(EnclaveTables::RowCount).default(0))
                    .col(timestamp_with_time_zone(EnclaveTables::CreatedAt))
                    .col(timestamp_with_time_zone(EnclaveTables::UpdatedAt))
                    .primary_key(
                        Index::create()
                            .col(EnclaveTables::EnclaveId)
                            .col(EnclaveTables::Name),
                    )
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(BackflowRules::Table)
                    .col(string_len(BackflowRules::Id, 36).primary_key())
                    .col(string_len(BackflowRules::EnclaveId, 36))
                    .col(string_len(BackflowRules::SourceTable, 63))
                    .col(string_len(BackflowRules::TargetDivision, 6))
                    .col(string_len(BackflowRules::TargetDepartment, 64))
                    .col(string_len(BackflowRules::TargetEnclaveId, 36))
                    .col(string_len(BackflowRules::TargetTable, 63))
                    .col(text(BackflowRules::Policy))
                    .col(string_len(BackflowRules::LineId, 36))
                    .col(string_len(BackflowRules::SubscriptionId, 36))
                    .col(string_len(BackflowRules::RequestId, 128))
                    .col(timestamp_with_time_zone(BackflowRules::CreatedAt))
                    .col(boolean(BackflowRules::Removed).default(false))
                    .col(timestamp_with_time_zone_null(BackflowRules::RemovedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("backflow_rules_request")
                    .table(BackflowRules::Table)
                    .col(BackflowRules::EnclaveId)
                    .col(BackflowRules::RequestId)
                    .unique()
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(EnclaveChanges::Table)
                    .col(big_pk_auto(EnclaveChanges::Seq))
                    .col(string_len(EnclaveChanges::EnclaveId, 36))
                    .col(string_len(EnclaveChanges::TableName, 63))
                    .col(string_len(EnclaveChanges::Operation, 16))
                    .col(text(EnclaveChanges::KeyColumns))
                    .col(text(EnclaveChanges::BeforeColumns))
                    .col(text(EnclaveChanges::AfterColumns))
                    .col(timestamp_with_time_zone(EnclaveChanges::CommitAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("enclave_changes_source")
                    .table(EnclaveChanges::Table)
                    .col(EnclaveChanges::EnclaveId)
                    .col(EnclaveChanges::Seq)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(EnclaveWriteRequests::Table)
                    .col(string_len(EnclaveWriteRequests::EnclaveId, 36))
                    .col(string_len(EnclaveWriteRequests::RequestId, 128))
                    .col(string_len(EnclaveWriteRequests::TableName, 63))
                    .col(big_integer(EnclaveWriteRequests::UpsertedCount))
                    .col(big_integer(EnclaveWriteRequests::DeletedCount))
                    .col(timestamp_with_time_zone(EnclaveWriteRequests::CreatedAt))
                    .primary_key(
                        Index::create()
                            .col(EnclaveWriteRequests::EnclaveId)
                            .col(EnclaveWriteRequests::RequestId),
                    )
                    .to_owned(),
            )
            .await
    }
}
