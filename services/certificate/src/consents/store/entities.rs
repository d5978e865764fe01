//! Table mappings of the consents part. Both tables belong to the
//! consent's custodian tenant.

pub mod consent {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "consents")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub custodian_division: String,
        pub custodian_department: String,
        pub app_id: String,
        pub request_id: String,
        pub request_fingerprint: String,
        pub requester_name: String,
        pub holder: Json,
        pub holder_key: String,
        pub certificate_types: Json,
        pub claims: Json,
        pub purpose: String,
        pub starts_at: DateTimeUtc,
        pub ends_at: DateTimeUtc,
        pub read_limit: i64,
        pub read_count: i64,
        pub state: String,
        pub custodian_unlocked_at: Option<DateTimeUtc>,
        pub custodian_unlocked_by: Option<Json>,
        pub platform_unlocked_at: Option<DateTimeUtc>,
        pub platform_unlocked_by: Option<Json>,
        pub holder_unlocked_at: Option<DateTimeUtc>,
        pub holder_unlocked_by: Option<Json>,
        pub ended_by: Option<String>,
        pub end_reason: String,
        pub signed_record: String,
        pub version: i64,
        pub created_at: DateTimeUtc,
        pub updated_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}

    impl zhongtai_kit::TenantOwned for Entity {
        fn division_column() -> Column {
            Column::CustodianDivision
        }
        fn department_column() -> Column {
            Column::CustodianDepartment
        }
    }
}

pub mod usage {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "consent_usage")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub consent_id: String,
        pub custodian_division: String,
        pub custodian_department: String,
        pub app_id: String,
        pub reader: Json,
        pub outcome: String,
        pub read_number: i64,
        pub reads_remaining: i64,
        pub certificate_ids: Json,
        pub claims: Json,
        /// What an allowed read returned, to return it again on a retry.
        pub disclosed: Option<Json>,
        pub request_id: String,
        /// The request id of an allowed read; NULL for refused attempts.
        pub counted_request_id: Option<String>,
        pub at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}

    impl zhongtai_kit::TenantOwned for Entity {
        fn division_column() -> Column {
            Column::CustodianDivision
        }
        fn department_column() -> Column {
            Column::CustodianDepartment
        }
    }
}
