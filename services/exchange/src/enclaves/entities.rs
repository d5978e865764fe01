//! Table mappings of enclave metadata. Ids are UUID text, so the same
//! entities work on PostgreSQL and SQLite.

pub mod enclave {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "enclaves")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub tenant_division: String,
        /// Empty when the division as a whole owns the enclave.
        pub tenant_department: String,
        pub name: String,
        pub state: String,
        pub request_id: String,
        pub created_at: DateTimeUtc,
        pub updated_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}

    impl zhongtai_kit::TenantOwned for Entity {
        fn division_column() -> Column {
            Column::TenantDivision
        }
        fn department_column() -> Column {
            Column::TenantDepartment
        }
    }
}

pub mod enclave_table {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "enclave_tables")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub enclave_id: String,
        #[sea_orm(primary_key, auto_increment = false)]
        pub name: String,
        pub origin: String,
        pub subscription_id: Option<String>,
        #[sea_orm(column_type = "Text")]
        pub columns: String,
        #[sea_orm(column_type = "Text")]
        pub key_columns: String,
        pub row_count: i64,
        pub created_at: DateTimeUtc,
        pub updated_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod backflow_rule {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "backflow_rules")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub enclave_id: String,
        pub source_table: String,
        pub target_division: String,
        pub target_department: String,
        pub target_enclave_id: String,
        pub target_table: String,
        #[sea_orm(column_type = "Text")]
        pub policy: String,
        pub line_id: String,
        pub subscription_id: String,
        pub request_id: String,
        pub created_at: DateTimeUtc,
        pub removed: bool,
        pub removed_at: Option<DateTimeUtc>,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod enclave_change {
    use sea_orm::entity::prelude::*;

    /// One applied change of an enclave table; `seq` is the position
    /// backflow lines read from.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "enclave_changes")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub seq: i64,
        pub enclave_id: String,
        pub table_name: String,
        pub operation: String,
        #[sea_orm(column_type = "Text")]
        pub key_columns: String,
        #[sea_orm(column_type = "Text")]
        pub before_columns: String,
        #[sea_orm(column_type = "Text")]
        pub after_columns: String,
        pub commit_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod enclave_write_request {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "enclave_write_requests")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub enclave_id: String,
        #[sea_orm(primary_key, auto_increment = false)]
        pub request_id: String,
        pub table_name: String,
        pub upserted_count: i64,
        pub deleted_count: i64,
        pub created_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}
