//! Table mappings of the codes part. Ids are UUID text, holders and actors
//! JSON, scan times integers (microseconds), so the same entities work on
//! PostgreSQL and SQLite.

macro_rules! tenant_owned {
    () => {
        impl zhongtai_kit::TenantOwned for Entity {
            fn division_column() -> Column {
                Column::TenantDivision
            }
            fn department_column() -> Column {
                Column::TenantDepartment
            }
        }
    };
}

pub mod dependant_link {
    use sea_orm::entity::prelude::*;

    /// Owned by the guardian, a person: not tenant-owned; every query names
    /// the guardian's key.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "dependant_links")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub guardian_key: String,
        pub guardian: Json,
        pub dependant_key: String,
        pub dependant: Json,
        pub relationship: String,
        pub evidence_certificate_id: String,
        pub state: String,
        pub active_key: String,
        pub request_id: String,
        pub created_at: DateTimeUtc,
        pub updated_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod offline_code {
    use sea_orm::entity::prelude::*;

    /// Owned by the counter (tenant) that issued it.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "offline_codes")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub tenant_division: String,
        pub tenant_department: String,
        pub holder_key: String,
        pub holder: Json,
        pub key_id: String,
        pub issued_at: DateTimeUtc,
        pub expires_at: DateTimeUtc,
        pub revoked_at: Option<DateTimeUtc>,
        pub revoke_reason: String,
        pub payload: Json,
        pub request_id: String,
        pub issued_by: Json,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}

    tenant_owned!();
}

pub mod venue {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "venues")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub tenant_division: String,
        pub tenant_department: String,
        pub name: String,
        pub address: String,
        pub division_code: String,
        pub request_id: String,
        pub created_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}

    tenant_owned!();
}

pub mod venue_scan {
    use sea_orm::entity::prelude::*;

    /// Owned by the venue's tenant.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "venue_scans")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub scan_id: String,
        pub tenant_division: String,
        pub tenant_department: String,
        pub venue_id: String,
        pub code_id: String,
        /// Empty when the code could not be read.
        pub code_kind: String,
        /// Empty when the code named nobody the center could vouch for.
        pub holder_key: String,
        pub holder: Option<Json>,
        pub outcome: String,
        pub holder_status: String,
        pub scan_time_us: i64,
        pub record_time_us: i64,
        pub device_id: String,
        pub scanned_by: Json,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}

    tenant_owned!();
}
