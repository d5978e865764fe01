//! The certificate center's dependant links, offline codes, venues and scans.
//!
//! Personal and family codes are not stored: they are signed on request and
//! verified from the trust list alone. Offline codes are, because they live
//! for months and can be revoked one by one. Scan times are kept as
//! microseconds since the epoch, so windows and paging compare integers the
//! same way on PostgreSQL and SQLite.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum DependantLinks {
    Table,
    Id,
    GuardianKey,
    Guardian,
    DependantKey,
    Dependant,
    Relationship,
    EvidenceCertificateId,
    State,
    /// The dependant's key while the link is active, the link id once
    /// removed: one active link per guardian and dependant, on both
    /// databases, without a partial index.
    ActiveKey,
    RequestId,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum OfflineCodes {
    Table,
    Id,
    TenantDivision,
    TenantDepartment,
    HolderKey,
    Holder,
    KeyId,
    IssuedAt,
    ExpiresAt,
    RevokedAt,
    RevokeReason,
    /// The signed claim set (masked holder, no signature): re-signing it
    /// answers a repeated request with the same code.
    Payload,
    RequestId,
    IssuedBy,
}

#[derive(DeriveIden)]
enum Venues {
    Table,
    Id,
    TenantDivision,
    TenantDepartment,
    Name,
    Address,
    DivisionCode,
    RequestId,
    CreatedAt,
}

#[derive(DeriveIden)]
enum VenueScans {
    Table,
    ScanId,
    TenantDivision,
    TenantDepartment,
    VenueId,
    CodeId,
    CodeKind,
    HolderKey,
    Holder,
    Outcome,
    HolderStatus,
    ScanTimeUs,
    RecordTimeUs,
    DeviceId,
    ScannedBy,
}

fn index<T: IntoIden + 'static>(
    name: &str,
    table: T,
    columns: Vec<T>,
    unique: bool,
) -> IndexCreateStatement {
    let mut index = Index::create();
    index.name(name).table(table);
    if unique {
        index.unique();
    }
    for column in columns {
        index.col(column);
    }
    index.to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(DependantLinks::Table)
                    .col(string_len(DependantLinks::Id, 36).primary_key())
                    .col(text(DependantLinks::GuardianKey))
                    .col(json(DependantLinks::Guardian))
                    .col(text(DependantLinks::DependantKey))
                    .col(json(DependantLinks::Dependant))
                    .col(string_len(DependantLinks::Relationship, 32))
                    .col(string_len(DependantLinks::EvidenceCertificateId, 36))
                    .col(string_len(DependantLinks::State, 16))
                    .col(text(DependantLinks::ActiveKey))
                    .col(string_len(DependantLinks::RequestId, 128))
                    .col(timestamp_with_time_zone(DependantLinks::CreatedAt))
                    .col(timestamp_with_time_zone(DependantLinks::UpdatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(OfflineCodes::Table)
                    .col(string_len(OfflineCodes::Id, 36).primary_key())
                    .col(string_len(OfflineCodes::TenantDivision, 6))
                    .col(string_len(OfflineCodes::TenantDepartment, 64))
                    .col(text(OfflineCodes::HolderKey))
                    .col(json(OfflineCodes::Holder))
                    .col(text(OfflineCodes::KeyId))
                    .col(timestamp_with_time_zone(OfflineCodes::IssuedAt))
                    .col(timestamp_with_time_zone(OfflineCodes::ExpiresAt))
                    .col(timestamp_with_time_zone_null(OfflineCodes::RevokedAt))
                    .col(text(OfflineCodes::RevokeReason))
                    .col(json(OfflineCodes::Payload))
                    .col(string_len(OfflineCodes::RequestId, 128))
                    .col(json(OfflineCodes::IssuedBy))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Venues::Table)
                    .col(string_len(Venues::Id, 36).primary_key())
                    .col(string_len(Venues::TenantDivision, 6))
                    .col(string_len(Venues::TenantDepartment, 64))
                    .col(text(Venues::Name))
                    .col(text(Venues::Address))
                    .col(string_len(Venues::DivisionCode, 6))
                    .col(string_len(Venues::RequestId, 128))
                    .col(timestamp_with_time_zone(Venues::CreatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(VenueScans::Table)
                    .col(string_len(VenueScans::ScanId, 36).primary_key())
                    .col(string_len(VenueScans::TenantDivision, 6))
                    .col(string_len(VenueScans::TenantDepartment, 64))
                    .col(string_len(VenueScans::VenueId, 36))
                    .col(text(VenueScans::CodeId))
                    .col(string_len(VenueScans::CodeKind, 16))
                    .col(text(VenueScans::HolderKey))
                    .col(json_null(VenueScans::Holder))
                    .col(string_len(VenueScans::Outcome, 32))
                    .col(string_len(VenueScans::HolderStatus, 16))
                    .col(big_integer(VenueScans::ScanTimeUs))
                    .col(big_integer(VenueScans::RecordTimeUs))
                    .col(text(VenueScans::DeviceId))
                    .col(json(VenueScans::ScannedBy))
                    .to_owned(),
            )
            .await?;

        use DependantLinks as D;
        use OfflineCodes as O;
        use VenueScans as S;
        use Venues as V;
        for statement in [
            // Idempotency keys are the guardian's own; one active link per
            // guardian and dependant; a guardian's list pages by id.
            index(
                "dependant_links_request",
                D::Table,
                vec![D::GuardianKey, D::RequestId],
                true,
            ),
            index(
                "dependant_links_active",
                D::Table,
                vec![D::GuardianKey, D::ActiveKey],
                true,
            ),
            index(
                "dependant_links_guardian",
                D::Table,
                vec![D::GuardianKey, D::Id],
                false,
            ),
            index(
                "offline_codes_request",
                O::Table,
                vec![O::TenantDivision, O::TenantDepartment, O::RequestId],
                true,
            ),
            // Each instance re-reads recent revocations.
            index("offline_codes_revoked", O::Table, vec![O::RevokedAt], false),
            index(
                "venues_request",
                V::Table,
                vec![V::TenantDivision, V::TenantDepartment, V::RequestId],
                true,
            ),
            index(
                "venues_tenant",
                V::Table,
                vec![V::TenantDivision, V::TenantDepartment, V::Id],
                false,
            ),
            // Who was at a venue, where a holder was: windows by scan
            // time, paged by (time, scan id).
            index(
                "venue_scans_venue_time",
                S::Table,
                vec![S::VenueId, S::ScanTimeUs, S::ScanId],
                false,
            ),
            index(
                "venue_scans_holder_time",
                S::Table,
                vec![S::HolderKey, S::ScanTimeUs, S::ScanId],
                false,
            ),
        ] {
            manager.create_index(statement).await?;
        }
        Ok(())
    }
}
