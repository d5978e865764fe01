//! When a deleted line's slot and publication were dropped at its source.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum LineRuntime {
    Table,
    SourceReleasedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(LineRuntime::Table)
                    .add_column(timestamp_with_time_zone_null(LineRuntime::SourceReleasedAt))
                    .to_owned(),
            )
            .await
    }
}
