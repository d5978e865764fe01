//! The `call_audit` table. Ids are UUIDv7 text, so they sort by time on
//! PostgreSQL and SQLite alike.

use sea_orm::entity::prelude::*;

/// One row of `call_audit`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "call_audit")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub time: DateTimeUtc,
    /// Empty when the app could not be identified.
    pub app_id: String,
    pub app_key: String,
    pub capability: String,
    pub capability_version: String,
    pub protocol: String,
    pub http_method: String,
    pub path: String,
    pub http_status: i32,
    pub grpc_code: i32,
    pub outcome: String,
    pub error_reason: String,
    pub latency_us: i64,
    pub request_bytes: i64,
    pub response_bytes: i64,
    pub backend_instance: String,
    pub trace_id: String,
    pub client_ip: String,
    /// The calling app's sponsor ("" when unknown: only the platform sees it).
    pub sponsor_division: String,
    pub sponsor_department: String,
}

/// No relations: the audit outlives the apps it names.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

impl zhongtai_kit::TenantOwned for Entity {
    fn division_column() -> Column {
        Column::SponsorDivision
    }
    fn department_column() -> Column {
        Column::SponsorDepartment
    }
}
