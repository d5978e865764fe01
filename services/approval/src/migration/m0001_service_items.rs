use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum ServiceItems {
    Table,
    Id,
    TenantDivision,
    TenantDepartment,
    Code,
    Name,
    Description,
    Materials,
    CertificateType,
    Process,
    FormFields,
    Kind,
    State,
    Version,
    RequestId,
    CreatedAt,
    UpdatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(ServiceItems::Table)
                    .col(string_len(ServiceItems::Id, 36).primary_key())
                    .col(string_len(ServiceItems::TenantDivision, 6))
                    .col(string_len(ServiceItems::TenantDepartment, 64))
                    .col(string_len(ServiceItems::Code, 64))
                    .col(text(ServiceItems::Name))
                    .col(text(ServiceItems::Description))
                    .col(json(ServiceItems::Materials))
                    .col(string_len_null(ServiceItems::CertificateType, 64))
                    .col(json_null(ServiceItems::Process))
                    .col(json(ServiceItems::FormFields))
                    .col(string_len(ServiceItems::Kind, 32))
                    .col(string_len(ServiceItems::State, 32))
                    .col(big_integer(ServiceItems::Version))
                    .col(string_len(ServiceItems::RequestId, 128))
                    .col(timestamp_with_time_zone(ServiceItems::CreatedAt))
                    .col(timestamp_with_time_zone(ServiceItems::UpdatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("service_items_tenant_code")
                    .table(ServiceItems::Table)
                    .col(ServiceItems::TenantDivision)
                    .col(ServiceItems::TenantDepartment)
                    .col(ServiceItems::Code)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("service_items_tenant_request")
                    .table(ServiceItems::Table)
                    .col(ServiceItems::TenantDivision)
                    .col(ServiceItems::TenantDepartment)
                    .col(ServiceItems::RequestId)
                    .unique()
                    .to_owned(),
            )
            .await
    }
}
