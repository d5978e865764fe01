use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Issuers {
    Table,
    Id,
    TenantDivision,
    TenantDepartment,
    Name,
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
                    .table(Issuers::Table)
                    .col(string_len(Issuers::Id, 36).primary_key())
                    .col(string_len(Issuers::TenantDivision, 6))
                    .col(string_len(Issuers::TenantDepartment, 64))
                    .col(text(Issuers::Name))
                    .col(string_len(Issuers::State, 16))
                    .col(big_integer(Issuers::Version))
                    .col(timestamp_with_time_zone(Issuers::CreatedAt))
                    .col(timestamp_with_time_zone(Issuers::UpdatedAt))
                    .to_owned(),
            )
            .await?;
        // The tenant filter pages by id, so the id completes the key.
        manager
            .create_index(
                Index::create()
                    .name("issuers_tenant_id")
                    .table(Issuers::Table)
                    .col(Issuers::TenantDivision)
                    .col(Issuers::TenantDepartment)
                    .col(Issuers::Id)
                    .to_owned(),
            )
            .await
    }
}
