use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Lines {
    Table,
    Id,
    OwnerDivision,
    OwnerDepartment,
    Name,
    Description,
    State,
    ResourceId,
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
                    .table(Lines::Table)
                    .col(string_len(Lines::Id, 36).primary_key())
                    .col(string_len(Lines::OwnerDivision, 6))
                    .col(string_len(Lines::OwnerDepartment, 64))
                    .col(string_len(Lines::Name, 64))
                    .col(text(Lines::Description))
                    .col(string_len(Lines::State, 16))
                    .col(string_len_null(Lines::ResourceId, 36))
                    .col(big_integer(Lines::Version))
                    .col(timestamp_with_time_zone(Lines::CreatedAt))
                    .col(timestamp_with_time_zone(Lines::UpdatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("lines_owner_name")
                    .table(Lines::Table)
                    .col(Lines::OwnerDivision)
                    .col(Lines::OwnerDepartment)
                    .col(Lines::Name)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("lines_state")
                    .table(Lines::Table)
                    .col(Lines::State)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("lines_resource")
                    .table(Lines::Table)
                    .col(Lines::ResourceId)
                    .to_owned(),
            )
            .await
    }
}
