//! Every app belongs to the tenant that sponsors it on the platform; its
//! administrators see and manage only their own apps.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Apps {
    Table,
    Id,
    SponsorDivision,
    SponsorDepartment,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // SQLite adds one column per statement.
        manager
            .alter_table(
                Table::alter()
                    .table(Apps::Table)
                    .add_column(string_len(Apps::SponsorDivision, 6).default(""))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Apps::Table)
                    .add_column(string_len(Apps::SponsorDepartment, 64).default(""))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("apps_sponsor_id")
                    .table(Apps::Table)
                    .col(Apps::SponsorDivision)
                    .col(Apps::SponsorDepartment)
                    .col(Apps::Id)
                    .to_owned(),
            )
            .await
    }
}
