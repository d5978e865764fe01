//! The certificate center's certificates, status-list groups and their bits.
//!
//! A certificate's status bits are not stored separately: a list's bit is
//! set exactly when the certificate at that index has the list's status
//! (`revoked` or `suspended`), so the lists are read from `certificates`
//! and `status_lists` only keeps each list's version.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Certificates {
    Table,
    Id,
    SerialNumber,
    CertificateType,
    IssuerId,
    TenantDivision,
    TenantDepartment,
    KeyId,
    HolderKey,
    Holder,
    Claims,
    IssuedAt,
    ValidFrom,
    ValidUntil,
    Status,
    StatusReason,
    StatusGroup,
    StatusIndex,
    Token,
    ApplicationId,
    RequestId,
    Version,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum StatusListGroups {
    Table,
    Seq,
    Size,
    Capacity,
    Allocated,
    CreatedAt,
}

#[derive(DeriveIden)]
enum StatusLists {
    Table,
    Id,
    GroupSeq,
    Purpose,
    Version,
    UpdatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Certificates::Table)
                    .col(string_len(Certificates::Id, 36).primary_key())
                    .col(string_len(Certificates::SerialNumber, 32))
                    .col(string_len(Certificates::CertificateType, 64))
                    .col(string_len(Certificates::IssuerId, 36))
                    .col(string_len(Certificates::TenantDivision, 6))
                    .col(string_len(Certificates::TenantDepartment, 64))
                    .col(text(Certificates::KeyId))
                    .col(text(Certificates::HolderKey))
                    .col(json(Certificates::Holder))
                    .col(json(Certificates::Claims))
                    .col(timestamp_with_time_zone(Certificates::IssuedAt))
                    .col(timestamp_with_time_zone(Certificates::ValidFrom))
                    .col(timestamp_with_time_zone_null(Certificates::ValidUntil))
                    .col(string_len(Certificates::Status, 16))
                    .col(text(Certificates::StatusReason))
                    .col(string_len(Certificates::StatusGroup, 32))
                    .col(big_integer(Certificates::StatusIndex))
                    .col(text(Certificates::Token))
                    .col(string_len_null(Certificates::ApplicationId, 36))
                    .col(string_len(Certificates::RequestId, 128))
                    .col(big_integer(Certificates::Version))
                    .col(timestamp_with_time_zone(Certificates::UpdatedAt))
                    .to_owned(),
            )
            .await?;
        let unique = |name: &str, columns: Vec<Certificates>| {
            let mut index = Index::create();
            index.name(name).table(Certificates::Table).unique();
            for column in columns {
                index.col(column);
            }
            index.to_owned()
        };
        // Serial numbers are unique per type; one certificate per status
        // position, request id and application.
        for index in [
            unique(
                "certificates_type_serial",
                vec![Certificates::CertificateType, Certificates::SerialNumber],
            ),
            unique(
                "certificates_status_entry",
                vec![Certificates::StatusGroup, Certificates::StatusIndex],
            ),
            unique("certificates_request_id", vec![Certificates::RequestId]),
            unique(
                "certificates_application_id",
                vec![Certificates::ApplicationId],
            ),
        ] {
            manager.create_index(index).await?;
        }
        // Lists page newest first by id (UUIDv7), so the id completes each key.
        for (name, columns) in [
            (
                "certificates_holder_id",
                vec![Certificates::HolderKey, Certificates::Id],
            ),
            (
                "certificates_tenant_id",
                vec![
                    Certificates::TenantDivision,
                    Certificates::TenantDepartment,
                    Certificates::Id,
                ],
            ),
            // The latest expiry of what a key signed bounds its verify-until.
            (
                "certificates_key_valid_until",
                vec![Certificates::KeyId, Certificates::ValidUntil],
            ),
            (
                "certificates_group_status",
                vec![Certificates::StatusGroup, Certificates::Status],
            ),
        ] {
            let mut index = Index::create();
            index.name(name).table(Certificates::Table);
            for column in columns {
                index.col(column);
            }
            manager.create_index(index.to_owned()).await?;
        }

        manager
            .create_table(
                Table::create()
                    .table(StatusListGroups::Table)
                    .col(big_integer(StatusListGroups::Seq).primary_key())
                    .col(big_integer(StatusListGroups::Size))
                    .col(big_integer(StatusListGroups::Capacity))
                    .col(big_integer(StatusListGroups::Allocated))
                    .col(timestamp_with_time_zone(StatusListGroups::CreatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(StatusLists::Table)
                    .col(string_len(StatusLists::Id, 48).primary_key())
                    .col(big_integer(StatusLists::GroupSeq))
                    .col(string_len(StatusLists::Purpose, 16))
                    .col(big_integer(StatusLists::Version))
                    .col(timestamp_with_time_zone(StatusLists::UpdatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("status_lists_group")
                    .table(StatusLists::Table)
                    .col(StatusLists::GroupSeq)
                    .to_owned(),
            )
            .await
    }
}
