use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Apps {
    Table,
    Id,
    Name,
    State,
    AllowedCapabilities,
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
                    .table(Apps::Table)
                    .col(string_len(Apps::Id, 36).primary_key())
                    .col(text(Apps::Name))
                    .col(string_len(Apps::State, 16))
                    // A JSON array of names, as text so both engines store it
                    // alike; the capability filter matches it with LIKE.
                    .col(text(Apps::AllowedCapabilities))
                    .col(big_integer(Apps::Version))
                    .col(timestamp_with_time_zone(Apps::CreatedAt))
                    .col(timestamp_with_time_zone(Apps::UpdatedAt))
                    .to_owned(),
            )
            .await?;
        // The state filter pages by id, so the id completes the key.
        manager
            .create_index(
                Index::create()
                    .name("apps_state_id")
                    .table(Apps::Table)
                    .col(Apps::State)
                    .col(Apps::Id)
                    .to_owned(),
            )
            .await
    }
}
