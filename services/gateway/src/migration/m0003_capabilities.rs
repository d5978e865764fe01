//! Everything the gateway needs beyond app names: owners and contacts,
//! credentials (secrets sealed), capabilities, policies, the configuration
//! revision every instance polls, shared limit counters, nonces and the
//! call audit.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Apps {
    Table,
    Owner,
    Contact,
    DisabledReason,
    RequestId,
}

#[derive(DeriveIden)]
enum Credentials {
    Table,
    AppKey,
    AppId,
    State,
    SealedSecret,
    SecretHint,
    CreatedAt,
    ExpiresAt,
    RevokedAt,
    RevokeReason,
    LastUsedAt,
}

#[derive(DeriveIden)]
enum Capabilities {
    Table,
    Name,
    Version,
    Title,
    Description,
    HttpMethod,
    RouteTemplate,
    Body,
    BackendService,
    GrpcMethod,
    TimeoutMs,
    Idempotent,
    Priority,
    Published,
    ConsentRequired,
    Revision,
    RequestId,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Policies {
    Table,
    Id,
    AppId,
    Capability,
    Limits,
    Version,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum ConfigRevision {
    Table,
    Id,
    Revision,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum QuotaCounters {
    Table,
    AppId,
    Capability,
    Window,
    WindowStart,
    Used,
}

#[derive(DeriveIden)]
enum RateStates {
    Table,
    AppId,
    Capability,
    TheoreticalArrivalUs,
}

#[derive(DeriveIden)]
enum RequestNonces {
    Table,
    AppKey,
    Nonce,
    ExpiresAt,
}

#[derive(DeriveIden)]
enum CallAudit {
    Table,
    Id,
    Time,
    AppId,
    AppKey,
    Capability,
    CapabilityVersion,
    Protocol,
    HttpMethod,
    Path,
    HttpStatus,
    GrpcCode,
    Outcome,
    ErrorReason,
    LatencyUs,
    RequestBytes,
    ResponseBytes,
    BackendInstance,
    TraceId,
    ClientIp,
    SponsorDivision,
    SponsorDepartment,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // SQLite adds one column per statement.
        for column in [
            text(Apps::Owner).default("{}").to_owned(),
            text(Apps::Contact).default("{}").to_owned(),
            text(Apps::DisabledReason).default("").to_owned(),
            text_null(Apps::RequestId).to_owned(),
        ] {
            let mut column = column;
            manager
                .alter_table(
                    Table::alter()
                        .table(Apps::Table)
                        .add_column(&mut column)
                        .to_owned(),
                )
                .await?;
        }
        manager
            .create_index(
                Index::create()
                    .name("apps_request_id")
                    .table(Apps::Table)
                    .col(Apps::RequestId)
                    .unique()
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Credentials::Table)
                    .col(string_len(Credentials::AppKey, 64).primary_key())
                    .col(string_len(Credentials::AppId, 36))
                    .col(string_len(Credentials::State, 16))
                    // base64 of nonce ‖ ciphertext ‖ tag, bound to the app key.
                    .col(text(Credentials::SealedSecret))
                    .col(string_len(Credentials::SecretHint, 8))
                    .col(timestamp_with_time_zone(Credentials::CreatedAt))
                    .col(timestamp_with_time_zone_null(Credentials::ExpiresAt))
                    .col(timestamp_with_time_zone_null(Credentials::RevokedAt))
                    .col(text(Credentials::RevokeReason).default(""))
                    .col(timestamp_with_time_zone_null(Credentials::LastUsedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("credentials_app")
                    .table(Credentials::Table)
                    .col(Credentials::AppId)
                    .col(Credentials::CreatedAt)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Capabilities::Table)
                    .col(string_len(Capabilities::Name, 100))
                    .col(string_len(Capabilities::Version, 32))
                    .col(text(Capabilities::Title))
                    .col(text(Capabilities::Description))
                    .col(string_len(Capabilities::HttpMethod, 8))
                    .col(text(Capabilities::RouteTemplate))
                    .col(text(Capabilities::Body))
                    .col(string_len(Capabilities::BackendService, 64))
                    .col(text(Capabilities::GrpcMethod))
                    .col(big_integer(Capabilities::TimeoutMs))
                    .col(boolean(Capabilities::Idempotent))
                    .col(string_len(Capabilities::Priority, 16))
                    .col(boolean(Capabilities::Published))
                    .col(boolean(Capabilities::ConsentRequired))
                    .col(big_integer(Capabilities::Revision))
                    .col(text_null(Capabilities::RequestId))
                    .col(timestamp_with_time_zone(Capabilities::CreatedAt))
                    .col(timestamp_with_time_zone(Capabilities::UpdatedAt))
                    .primary_key(
                        Index::create()
                            .col(Capabilities::Name)
                            .col(Capabilities::Version),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("capabilities_request_id")
                    .table(Capabilities::Table)
                    .col(Capabilities::RequestId)
                    .unique()
                    .to_owned(),
            )
            .await?;
        // One capability per external route, whatever its name.
        manager
            .create_index(
                Index::create()
                    .name("capabilities_route")
                    .table(Capabilities::Table)
                    .col(Capabilities::HttpMethod)
                    .col(Capabilities::RouteTemplate)
                    .unique()
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Policies::Table)
                    .col(string_len(Policies::Id, 36).primary_key())
                    .col(string_len(Policies::AppId, 36))
                    .col(string_len(Policies::Capability, 100))
                    // JSON: {"rate_limit": {...}|null, "quotas": [...], "max_concurrency": n}
                    .col(text(Policies::Limits))
                    .col(big_integer(Policies::Version))
                    .col(timestamp_with_time_zone(Policies::CreatedAt))
                    .col(timestamp_with_time_zone(Policies::UpdatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("policies_app_capability")
                    .table(Policies::Table)
                    .col(Policies::AppId)
                    .col(Policies::Capability)
                    .unique()
                    .to_owned(),
            )
            .await?;

        // One row; every configuration change bumps it in its transaction,
        // and every instance reloads when it moves.
        manager
            .create_table(
                Table::create()
                    .table(ConfigRevision::Table)
                    .col(integer(ConfigRevision::Id).primary_key())
                    .col(big_integer(ConfigRevision::Revision))
                    .col(timestamp_with_time_zone(ConfigRevision::UpdatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .exec_stmt(
                Query::insert()
                    .into_table(ConfigRevision::Table)
                    .columns([
                        ConfigRevision::Id,
                        ConfigRevision::Revision,
                        ConfigRevision::UpdatedAt,
                    ])
                    .values_panic([1.into(), 0i64.into(), chrono::Utc::now().into()])
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(QuotaCounters::Table)
                    .col(string_len(QuotaCounters::AppId, 36))
                    .col(string_len(QuotaCounters::Capability, 100))
                    .col(string_len(QuotaCounters::Window, 8))
                    .col(timestamp_with_time_zone(QuotaCounters::WindowStart))
                    .col(big_integer(QuotaCounters::Used))
                    .primary_key(
                        Index::create()
                            .col(QuotaCounters::AppId)
                            .col(QuotaCounters::Capability)
                            .col(QuotaCounters::Window)
                            .col(QuotaCounters::WindowStart),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(RateStates::Table)
                    .col(string_len(RateStates::AppId, 36))
                    .col(string_len(RateStates::Capability, 100))
                    // GCRA theoretical arrival time, microseconds since the epoch.
                    .col(big_integer(RateStates::TheoreticalArrivalUs))
                    .primary_key(
                        Index::create()
                            .col(RateStates::AppId)
                            .col(RateStates::Capability),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(RequestNonces::Table)
                    .col(string_len(RequestNonces::AppKey, 64))
                    .col(string_len(RequestNonces::Nonce, 128))
                    .col(timestamp_with_time_zone(RequestNonces::ExpiresAt))
                    .primary_key(
                        Index::create()
                            .col(RequestNonces::AppKey)
                            .col(RequestNonces::Nonce),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("request_nonces_expiry")
                    .table(RequestNonces::Table)
                    .col(RequestNonces::ExpiresAt)
                    .to_owned(),
            )
            .await?;
        if manager.get_database_backend() == DbBackend::Postgres {
            // Nonces live only as long as the clock-skew window; after a
            // crash the window is lost with them, which costs replay
            // protection for minutes at most, and every request saves a WAL
            // flush.
            manager
                .get_connection()
                .execute_unprepared("ALTER TABLE request_nonces SET UNLOGGED")
                .await?;
        }

        manager
            .create_table(
                Table::create()
                    .table(CallAudit::Table)
                    // UUIDv7 text: ordered by time.
                    .col(string_len(CallAudit::Id, 36).primary_key())
                    .col(timestamp_with_time_zone(CallAudit::Time))
                    .col(string_len(CallAudit::AppId, 36))
                    .col(string_len(CallAudit::AppKey, 64))
                    .col(string_len(CallAudit::Capability, 100))
                    .col(string_len(CallAudit::CapabilityVersion, 32))
                    .col(string_len(CallAudit::Protocol, 16))
                    .col(string_len(CallAudit::HttpMethod, 8))
                    .col(text(CallAudit::Path))
                    .col(integer(CallAudit::HttpStatus))
                    .col(integer(CallAudit::GrpcCode))
                    .col(string_len(CallAudit::Outcome, 32))
                    .col(string_len(CallAudit::ErrorReason, 64))
                    .col(big_integer(CallAudit::LatencyUs))
                    .col(big_integer(CallAudit::RequestBytes))
                    .col(big_integer(CallAudit::ResponseBytes))
                    .col(text(CallAudit::BackendInstance))
                    .col(string_len(CallAudit::TraceId, 32))
                    .col(text(CallAudit::ClientIp))
                    // The calling app's sponsor, copied at call time so the
                    // audit is scoped like the apps without a join.
                    .col(string_len(CallAudit::SponsorDivision, 6).default(""))
                    .col(string_len(CallAudit::SponsorDepartment, 64).default(""))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("call_audit_app_id")
                    .table(CallAudit::Table)
                    .col(CallAudit::AppId)
                    .col(CallAudit::Id)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("call_audit_sponsor")
                    .table(CallAudit::Table)
                    .col(CallAudit::SponsorDivision)
                    .col(CallAudit::SponsorDepartment)
                    .col(CallAudit::Id)
                    .to_owned(),
            )
            .await?;
        // Usage buckets read one app's calls over a period.
        manager
            .create_index(
                Index::create()
                    .name("call_audit_app_time")
                    .table(CallAudit::Table)
                    .col(CallAudit::AppId)
                    .col(CallAudit::Time)
                    .to_owned(),
            )
            .await
    }
}
