//! Access requests and the grants they produce. A request belongs to its
//! requester (and is seen by the resource's owner); a grant belongs to the
//! resource's owner (and is seen by its grantee). One grant per request.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum AccessRequests {
    Table,
    Id,
    RequestId,
    ResourceId,
    ResourceVersion,
    OwnerDivision,
    OwnerDepartment,
    RequesterDivision,
    RequesterDepartment,
    GranteeDivision,
    GranteeDepartment,
    Fields,
    Purpose,
    PeriodStart,
    PeriodEnd,
    RowFilter,
    State,
    ApplicationId,
    GrantId,
    RequestedBy,
    DecisionReason,
    Version,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Grants {
    Table,
    Id,
    ResourceId,
    ResourceVersion,
    OwnerDivision,
    OwnerDepartment,
    GranteeDivision,
    GranteeDepartment,
    AccessRequestId,
    ApplicationId,
    Fields,
    RowFilter,
    Purpose,
    PeriodStart,
    PeriodEnd,
    State,
    SubscriptionIds,
    RevokeReason,
    RevokedBy,
    Version,
    CreatedAt,
    UpdatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(AccessRequests::Table)
                    .col(string_len(AccessRequests::Id, 36).primary_key())
                    .col(string_len(AccessRequests::RequestId, 128))
                    .col(string_len(AccessRequests::ResourceId, 36))
                    .col(big_integer(AccessRequests::ResourceVersion))
                    .col(string_len(AccessRequests::OwnerDivision, 6))
                    .col(string_len(AccessRequests::OwnerDepartment, 64))
                    .col(string_len(AccessRequests::RequesterDivision, 6))
                    .col(string_len(AccessRequests::RequesterDepartment, 64))
                    .col(string_len(AccessRequests::GranteeDivision, 6))
                    .col(string_len(AccessRequests::GranteeDepartment, 64))
                    .col(json(AccessRequests::Fields))
                    .col(text(AccessRequests::Purpose))
                    .col(timestamp_with_time_zone(AccessRequests::PeriodStart))
                    .col(timestamp_with_time_zone(AccessRequests::PeriodEnd))
                    .col(json(AccessRequests::RowFilter))
                    .col(string_len(AccessRequests::State, 32))
                    .col(string_len(AccessRequests::ApplicationId, 64))
                    .col(string_len(AccessRequests::GrantId, 36))
                    .col(json(AccessRequests::RequestedBy))
                    .col(text(AccessRequests::DecisionReason))
                    .col(big_integer(AccessRequests::Version))
                    .col(timestamp_with_time_zone(AccessRequests::CreatedAt))
                    .col(timestamp_with_time_zone(AccessRequests::UpdatedAt))
                    .to_owned(),
            )
            .await?;
        for (name, columns) in [
            (
                "access_requests_requester_request",
                vec![
                    AccessRequests::RequesterDivision,
                    AccessRequests::RequesterDepartment,
                    AccessRequests::RequestId,
                ],
            ),
            (
                "access_requests_owner",
                vec![
                    AccessRequests::OwnerDivision,
                    AccessRequests::OwnerDepartment,
                ],
            ),
        ] {
            let mut index = Index::create();
            index.name(name).table(AccessRequests::Table);
            for column in columns {
                index.col(column);
            }
            if name.ends_with("_request") {
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
                    .col(big_integer(Grants::ResourceVersion))
                    .col(string_len(Grants::OwnerDivision, 6))
                    .col(string_len(Grants::OwnerDepartment, 64))
                    .col(string_len(Grants::GranteeDivision, 6))
                    .col(string_len(Grants::GranteeDepartment, 64))
                    .col(string_len(Grants::AccessRequestId, 36).unique_key())
                    .col(string_len(Grants::ApplicationId, 64))
                    .col(json(Grants::Fields))
                    .col(json(Grants::RowFilter))
                    .col(text(Grants::Purpose))
                    .col(timestamp_with_time_zone(Grants::PeriodStart))
                    .col(timestamp_with_time_zone(Grants::PeriodEnd))
                    .col(string_len(Grants::State, 32))
                    .col(json(Grants::SubscriptionIds))
                    .col(text(Grants::RevokeReason))
                    .col(json_null(Grants::RevokedBy))
                    .col(big_integer(Grants::Version))
                    .col(timestamp_with_time_zone(Grants::CreatedAt))
                    .col(timestamp_with_time_zone(Grants::UpdatedAt))
                    .to_owned(),
            )
            .await?;
        for (name, columns) in [
            (
                "grants_owner",
                vec![Grants::OwnerDivision, Grants::OwnerDepartment],
            ),
            (
                "grants_grantee",
                vec![Grants::GranteeDivision, Grants::GranteeDepartment],
            ),
            ("grants_resource", vec![Grants::ResourceId]),
            // The expiry timer looks for usable grants past their end.
            ("grants_state_end", vec![Grants::State, Grants::PeriodEnd]),
        ] {
            let mut index = Index::create();
            index.name(name).table(Grants::Table);
            for column in columns {
                index.col(column);
            }
            manager.create_index(index.to_owned()).await?;
        }
        Ok(())
    }
}
