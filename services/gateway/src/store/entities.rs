//! Table mappings. Ids are UUID text and lists JSON text, so the same
//! entities work on PostgreSQL and SQLite.

pub mod app {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "apps")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub name: String,
        pub state: String,
        /// JSON array of capability names, e.g. `["certificate.verify"]`.
        pub allowed_capabilities: String,
        pub version: i64,
        pub created_at: DateTimeUtc,
        pub updated_at: DateTimeUtc,
        pub sponsor_division: String,
        pub sponsor_department: String,
        /// JSON `{"name": …, "unified_social_credit_code": …}`.
        pub owner: String,
        /// JSON `{"name": …, "email": …, "phone": …}`.
        pub contact: String,
        pub disabled_reason: String,
        /// RegisterApp's idempotency key.
        pub request_id: Option<String>,
    }

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
}

pub mod credential {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "credentials")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub app_key: String,
        pub app_id: String,
        pub state: String,
        /// base64 of nonce ‖ ciphertext ‖ tag, bound to the app key.
        pub sealed_secret: String,
        pub secret_hint: String,
        pub created_at: DateTimeUtc,
        pub expires_at: Option<DateTimeUtc>,
        pub revoked_at: Option<DateTimeUtc>,
        pub revoke_reason: String,
        pub last_used_at: Option<DateTimeUtc>,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod capability {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "capabilities")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub name: String,
        #[sea_orm(primary_key, auto_increment = false)]
        pub version: String,
        pub title: String,
        pub description: String,
        pub http_method: String,
        pub route_template: String,
        pub body: String,
        pub backend_service: String,
        pub grpc_method: String,
        pub timeout_ms: i64,
        pub idempotent: bool,
        pub priority: String,
        pub published: bool,
        pub consent_required: bool,
        pub revision: i64,
        /// CreateCapability's idempotency key.
        pub request_id: Option<String>,
        pub created_at: DateTimeUtc,
        pub updated_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod policy {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "policies")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub app_id: String,
        /// Capability name or `*`.
        pub capability: String,
        /// JSON of `domain::policy::Limits`.
        pub limits: String,
        pub version: i64,
        pub created_at: DateTimeUtc,
        pub updated_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod config_revision {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "config_revision")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: i32,
        pub revision: i64,
        pub updated_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}
