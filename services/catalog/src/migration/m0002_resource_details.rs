//! Resources gain everything a requester needs to judge them: description,
//! field schema, sharing and open attributes, update frequency, the line
//! feeding them, tags, and the idempotency key they were registered with.
//! Rows from before get the most closed settings (not shared, closed).

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Resources {
    Table,
    OwnerDivision,
    OwnerDepartment,
    Description,
    Fields,
    Sharing,
    SharingConditions,
    Open,
    UpdateFrequency,
    LineId,
    SourceTable,
    Tags,
    RequestId,
    Title,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One column per statement: SQLite alters a table one change at a
        // time.
        let columns = [
            text(Resources::Description).default("").to_owned(),
            json(Resources::Fields).default("[]").to_owned(),
            string_len(Resources::Sharing, 16)
                .default("not_shared")
                .to_owned(),
            text(Resources::SharingConditions).default("").to_owned(),
            string_len(Resources::Open, 16).default("closed").to_owned(),
            string_len(Resources::UpdateFrequency, 16)
                .default("irregular")
                .to_owned(),
            string_len(Resources::LineId, 36).default("").to_owned(),
            string_len(Resources::SourceTable, 128)
                .default("")
                .to_owned(),
            json(Resources::Tags).default("[]").to_owned(),
            string_len_null(Resources::RequestId, 128).to_owned(),
        ];
        for mut column in columns {
            manager
                .alter_table(
                    Table::alter()
                        .table(Resources::Table)
                        .add_column(&mut column)
                        .to_owned(),
                )
                .await?;
        }
        // NULL keys (rows from before) do not collide in a unique index.
        manager
            .create_index(
                Index::create()
                    .name("resources_owner_request")
                    .table(Resources::Table)
                    .col(Resources::OwnerDivision)
                    .col(Resources::OwnerDepartment)
                    .col(Resources::RequestId)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("resources_title")
                    .table(Resources::Table)
                    .col(Resources::Title)
                    .to_owned(),
            )
            .await
    }
}
