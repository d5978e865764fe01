//! Process definitions (one row per version), applications (one document
//! each, with indexed SLA moments), their history, tasks and parties.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum ProcessDefinitions {
    Table,
    Id,
    Version,
    TenantDivision,
    TenantDepartment,
    Key,
    Name,
    Description,
    Stages,
    State,
    IsLatest,
    RequestId,
    CreatedBy,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Applications {
    Table,
    Id,
    TenantDivision,
    TenantDepartment,
    ServiceItemId,
    ApplicantDivision,
    ApplicantDepartment,
    SubmittedBy,
    RequestId,
    OriginService,
    Status,
    Document,
    Version,
    RemindTime,
    DueTime,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum ApplicationParties {
    Table,
    Id,
    ApplicationId,
    PartyDivision,
    PartyDepartment,
    PartySubject,
}

#[derive(DeriveIden)]
enum ApplicationTasks {
    Table,
    Id,
    ApplicationId,
    AssigneeDivision,
    AssigneeDepartment,
    AssigneeRole,
    AssigneeUser,
    StageKey,
    Status,
    DueTime,
    DueOrder,
    CreatedAt,
}

#[derive(DeriveIden)]
enum ApplicationHistory {
    Table,
    ApplicationId,
    Sequence,
    TenantDivision,
    TenantDepartment,
    Action,
    RequestId,
    Entry,
    Time,
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
                    .table(ProcessDefinitions::Table)
                    .col(string_len(ProcessDefinitions::Id, 36))
                    .col(big_integer(ProcessDefinitions::Version))
                    .col(string_len(ProcessDefinitions::TenantDivision, 6))
                    .col(string_len(ProcessDefinitions::TenantDepartment, 64))
                    .col(string_len(ProcessDefinitions::Key, 64))
                    .col(text(ProcessDefinitions::Name))
                    .col(text(ProcessDefinitions::Description))
                    .col(json(ProcessDefinitions::Stages))
                    .col(string_len(ProcessDefinitions::State, 32))
                    .col(boolean(ProcessDefinitions::IsLatest))
                    .col(string_len(ProcessDefinitions::RequestId, 128))
                    .col(json(ProcessDefinitions::CreatedBy))
                    .col(timestamp_with_time_zone(ProcessDefinitions::CreatedAt))
                    .primary_key(
                        Index::create()
                            .col(ProcessDefinitions::Id)
                            .col(ProcessDefinitions::Version),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                index(
                    "process_definitions_tenant_key_version",
                    ProcessDefinitions::Table,
                    &["tenant_division", "tenant_department", "key", "version"],
                )
                .unique()
                .to_owned(),
            )
            .await?;
        manager
            .create_index(
                index(
                    "process_definitions_tenant_request",
                    ProcessDefinitions::Table,
                    &["tenant_division", "tenant_department", "request_id"],
                )
                .unique()
                .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Applications::Table)
                    .col(string_len(Applications::Id, 36).primary_key())
                    .col(string_len(Applications::TenantDivision, 6))
                    .col(string_len(Applications::TenantDepartment, 64))
                    .col(string_len(Applications::ServiceItemId, 36))
                    .col(string_len(Applications::ApplicantDivision, 6))
                    .col(string_len(Applications::ApplicantDepartment, 64))
                    .col(text(Applications::SubmittedBy))
                    .col(string_len(Applications::RequestId, 128))
                    .col(string_len(Applications::OriginService, 64))
                    .col(string_len(Applications::Status, 32))
                    .col(json(Applications::Document))
                    .col(big_integer(Applications::Version))
                    .col(timestamp_with_time_zone_null(Applications::RemindTime))
                    .col(timestamp_with_time_zone_null(Applications::DueTime))
                    .col(timestamp_with_time_zone(Applications::CreatedAt))
                    .col(timestamp_with_time_zone(Applications::UpdatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                index(
                    "applications_submission",
                    Applications::Table,
                    &[
                        "applicant_division",
                        "applicant_department",
                        "submitted_by",
                        "request_id",
                    ],
                )
                .unique()
                .to_owned(),
            )
            .await?;
        for (name, column) in [
            ("applications_remind_time", "remind_time"),
            ("applications_due_time", "due_time"),
        ] {
            manager
                .create_index(index(name, Applications::Table, &[column]))
                .await?;
        }

        manager
            .create_table(
                Table::create()
                    .table(ApplicationParties::Table)
                    .col(string_len(ApplicationParties::Id, 256).primary_key())
                    .col(string_len(ApplicationParties::ApplicationId, 36))
                    .col(string_len(ApplicationParties::PartyDivision, 6))
                    .col(string_len(ApplicationParties::PartyDepartment, 64))
                    .col(text(ApplicationParties::PartySubject))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "application_parties_tenant",
                ApplicationParties::Table,
                &["party_division", "party_department", "application_id"],
            ))
            .await?;
        manager
            .create_index(index(
                "application_parties_subject",
                ApplicationParties::Table,
                &["party_subject", "application_id"],
            ))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(ApplicationTasks::Table)
                    .col(string_len(ApplicationTasks::Id, 36).primary_key())
                    .col(string_len(ApplicationTasks::ApplicationId, 36))
                    .col(string_len(ApplicationTasks::AssigneeDivision, 6))
                    .col(string_len(ApplicationTasks::AssigneeDepartment, 64))
                    .col(string_len(ApplicationTasks::AssigneeRole, 32))
                    .col(text(ApplicationTasks::AssigneeUser))
                    .col(string_len(ApplicationTasks::StageKey, 64))
                    .col(string_len(ApplicationTasks::Status, 32))
                    .col(timestamp_with_time_zone_null(ApplicationTasks::DueTime))
                    .col(big_integer(ApplicationTasks::DueOrder))
                    .col(timestamp_with_time_zone(ApplicationTasks::CreatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "application_tasks_assignee_role",
                ApplicationTasks::Table,
                &[
                    "assignee_division",
                    "assignee_department",
                    "status",
                    "due_order",
                ],
            ))
            .await?;
        manager
            .create_index(index(
                "application_tasks_assignee_user",
                ApplicationTasks::Table,
                &["assignee_user", "status", "due_order"],
            ))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(ApplicationHistory::Table)
                    .col(string_len(ApplicationHistory::ApplicationId, 36))
                    .col(big_integer(ApplicationHistory::Sequence))
                    .col(string_len(ApplicationHistory::TenantDivision, 6))
                    .col(string_len(ApplicationHistory::TenantDepartment, 64))
                    .col(string_len(ApplicationHistory::Action, 32))
                    .col(string_len(ApplicationHistory::RequestId, 128))
                    .col(json(ApplicationHistory::Entry))
                    .col(timestamp_with_time_zone(ApplicationHistory::Time))
                    .primary_key(
                        Index::create()
                            .col(ApplicationHistory::ApplicationId)
                            .col(ApplicationHistory::Sequence),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "application_history_request",
                ApplicationHistory::Table,
                &["application_id", "request_id"],
            ))
            .await
    }
}
