//! The certificate center's consents, their unlocks and usage log.
//!
//! A consent belongs to its custodian tenant; the holder key and app id
//! columns let its other parties find it. The three parties' unlocks are
//! columns of the consent (at most one each), so "waiting for this party"
//! is a plain filter. Usage rows carry the custodian too, and the request
//! id of an allowed read a second time in `counted_request_id`, whose
//! uniqueness per consent makes a retried read count once (refused
//! attempts leave it NULL, which never collides).

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Consents {
    Table,
    Id,
    CustodianDivision,
    CustodianDepartment,
    AppId,
    RequestId,
    RequestFingerprint,
    RequesterName,
    Holder,
    HolderKey,
    CertificateTypes,
    Claims,
    Purpose,
    StartsAt,
    EndsAt,
    ReadLimit,
    ReadCount,
    State,
    CustodianUnlockedAt,
    CustodianUnlockedBy,
    PlatformUnlockedAt,
    PlatformUnlockedBy,
    HolderUnlockedAt,
    HolderUnlockedBy,
    EndedBy,
    EndReason,
    SignedRecord,
    Version,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum ConsentUsage {
    Table,
    Id,
    ConsentId,
    CustodianDivision,
    CustodianDepartment,
    AppId,
    Reader,
    Outcome,
    ReadNumber,
    ReadsRemaining,
    CertificateIds,
    Claims,
    Disclosed,
    RequestId,
    CountedRequestId,
    At,
}

fn index(name: &str, table: impl IntoIden, columns: &[&'static str]) -> IndexCreateStatement {
    let mut index = Index::create();
    index.name(name).table(table);
    for column in columns {
        index.col(Alias::new(*column));
    }
    index.to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Consents::Table)
                    .col(string_len(Consents::Id, 36).primary_key())
                    .col(string_len(Consents::CustodianDivision, 6))
                    .col(string_len(Consents::CustodianDepartment, 64))
                    .col(string_len(Consents::AppId, 128))
                    .col(string_len(Consents::RequestId, 128))
                    .col(text(Consents::RequestFingerprint))
                    .col(text(Consents::RequesterName))
                    .col(json(Consents::Holder))
                    .col(string_len(Consents::HolderKey, 200))
                    .col(json(Consents::CertificateTypes))
                    .col(json(Consents::Claims))
                    .col(text(Consents::Purpose))
                    .col(timestamp_with_time_zone(Consents::StartsAt))
                    .col(timestamp_with_time_zone(Consents::EndsAt))
                    .col(big_integer(Consents::ReadLimit))
                    .col(big_integer(Consents::ReadCount))
                    .col(string_len(Consents::State, 16))
                    .col(timestamp_with_time_zone_null(Consents::CustodianUnlockedAt))
                    .col(json_null(Consents::CustodianUnlockedBy))
                    .col(timestamp_with_time_zone_null(Consents::PlatformUnlockedAt))
                    .col(json_null(Consents::PlatformUnlockedBy))
                    .col(timestamp_with_time_zone_null(Consents::HolderUnlockedAt))
                    .col(json_null(Consents::HolderUnlockedBy))
                    .col(string_len_null(Consents::EndedBy, 16))
                    .col(text(Consents::EndReason))
                    .col(text(Consents::SignedRecord))
                    .col(big_integer(Consents::Version))
                    .col(timestamp_with_time_zone(Consents::CreatedAt))
                    .col(timestamp_with_time_zone(Consents::UpdatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                index(
                    "consents_app_request",
                    Consents::Table,
                    &["app_id", "request_id"],
                )
                .unique()
                .to_owned(),
            )
            .await?;
        // Lists page newest first by id (UUIDv7) within each party's rows.
        for (name, columns) in [
            (
                "consents_custodian_id",
                &["custodian_division", "custodian_department", "id"][..],
            ),
            ("consents_holder_id", &["holder_key", "id"][..]),
            ("consents_app_id", &["app_id", "id"][..]),
            ("consents_state_ends_at", &["state", "ends_at"][..]),
        ] {
            manager
                .create_index(index(name, Consents::Table, columns))
                .await?;
        }

        manager
            .create_table(
                Table::create()
                    .table(ConsentUsage::Table)
                    .col(string_len(ConsentUsage::Id, 36).primary_key())
                    .col(string_len(ConsentUsage::ConsentId, 36))
                    .col(string_len(ConsentUsage::CustodianDivision, 6))
                    .col(string_len(ConsentUsage::CustodianDepartment, 64))
                    .col(text(ConsentUsage::AppId))
                    .col(json(ConsentUsage::Reader))
                    .col(string_len(ConsentUsage::Outcome, 32))
                    .col(big_integer(ConsentUsage::ReadNumber))
                    .col(big_integer(ConsentUsage::ReadsRemaining))
                    .col(json(ConsentUsage::CertificateIds))
                    .col(json(ConsentUsage::Claims))
                    .col(json_null(ConsentUsage::Disclosed))
                    .col(text(ConsentUsage::RequestId))
                    .col(string_len_null(ConsentUsage::CountedRequestId, 128))
                    .col(timestamp_with_time_zone(ConsentUsage::At))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                index(
                    "consent_usage_counted_request",
                    ConsentUsage::Table,
                    &["consent_id", "counted_request_id"],
                )
                .unique()
                .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "consent_usage_consent_id",
                ConsentUsage::Table,
                &["consent_id", "id"],
            ))
            .await
    }
}
