use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Resources {
    Table,
    Id,
    OwnerDivision,
    OwnerDepartment,
    Code,
    Title,
    Layer,
    State,
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
                    .table(Resources::Table)
                    .col(string_len(Resources::Id, 36).primary_key())
                    .col(string_len(Resources::OwnerDivision, 6))
                    .col(string_len(Resources::OwnerDepartment, 64))
                    .col(string_len(Resources::Code, 64))
                    .col(text(Resources::Title))
                    .col(string_len(Resources::Layer, 16))
                    .col(string_len(Resources::State, 16))
                    .col(big_integer(Resources::Version))
                    .col(timestamp_with_time_zone(Resources::CreatedAt))
                    .col(timestamp_with_time_zone(Resources::UpdatedAt))
                    .to_owned(),
            )
            .await?;
        // Also serves the owner filter: division alone is its prefix.
        manager
            .create_index(
                Index::create()
                    .name("resources_owner_code")
                    .table(Resources::Table)
                    .col(Resources::OwnerDivision)
                    .col(Resources::OwnerDepartment)
                    .col(Resources::Code)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("resources_layer_state")
                    .table(Resources::Table)
                    .col(Resources::Layer)
                    .col(Resources::State)
                    .to_owned(),
            )
            .await
    }
}
