//! Table mappings. Ids are UUID text, so the same entities work on
//! PostgreSQL and SQLite.

pub mod line {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "lines")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub owner_division: String,
        /// Empty when the division as a whole owns the line.
        pub owner_department: String,
        pub name: String,
        pub description: String,
        pub state: String,
        pub resource_id: Option<String>,
        pub version: i64,
        pub created_at: DateTimeUtc,
        pub updated_at: DateTimeUtc,
        /// `log`, `push` or `enclave`.
        pub source_kind: String,
        /// JSON of the domain `SourceSpec`.
        #[sea_orm(column_type = "Text")]
        pub source_spec: String,
        #[sea_orm(column_type = "Text")]
        pub state_reason: String,
        pub request_id: Option<String>,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}

    impl zhongtai_kit::TenantOwned for Entity {
        fn division_column() -> Column {
            Column::OwnerDivision
        }
        fn department_column() -> Column {
            Column::OwnerDepartment
        }
    }
}

pub mod line_runtime {
    use sea_orm::entity::prelude::*;

    /// Positions and progress of a running line, written by its runner.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "line_runtime")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub line_id: String,
        /// u64 positions stored as i64 (LSNs and sequences stay below 2^63).
        pub confirmed_position: i64,
        pub source_position: i64,
        pub captured_total: i64,
        /// JSON of the domain `SnapshotProgress`.
        #[sea_orm(column_type = "Text")]
        pub snapshot: String,
        pub last_activity_at: Option<DateTimeUtc>,
        pub last_commit_at: Option<DateTimeUtc>,
        pub last_capture_at: Option<DateTimeUtc>,
        pub lease_owner: Option<String>,
        pub lease_until: Option<DateTimeUtc>,
        pub updated_at: DateTimeUtc,
        /// When a deleted line's slot and publication were dropped.
        pub source_released_at: Option<DateTimeUtc>,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod subscription {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "subscriptions")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub line_id: String,
        pub subscriber_division: String,
        pub subscriber_department: String,
        pub grant_id: Option<String>,
        pub queue: Option<String>,
        pub enclave_id: Option<String>,
        pub enclave_table: Option<String>,
        pub state: String,
        #[sea_orm(column_type = "Text")]
        pub state_reason: String,
        /// JSON of the domain `DeliveryPolicy`.
        #[sea_orm(column_type = "Text")]
        pub policy: String,
        pub delivered_position: i64,
        pub last_delivered_commit_at: Option<DateTimeUtc>,
        pub last_lag_ms: i64,
        pub request_id: Option<String>,
        pub created_at: DateTimeUtc,
        pub updated_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}

    impl zhongtai_kit::TenantOwned for Entity {
        fn division_column() -> Column {
            Column::SubscriberDivision
        }
        fn department_column() -> Column {
            Column::SubscriberDepartment
        }
    }
}

pub mod grant {
    use sea_orm::entity::prelude::*;

    /// A catalog grant as its events announced it.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "grants")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub resource_id: String,
        pub owner_division: String,
        pub owner_department: String,
        pub grantee_division: String,
        pub grantee_department: String,
        #[sea_orm(column_type = "Text")]
        pub policy: String,
        pub state: String,
        pub valid_until: Option<DateTimeUtc>,
        pub version: i64,
        pub updated_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}
