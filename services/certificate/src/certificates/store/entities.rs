//! Table mappings. Ids are UUID text and holders and claims JSON, so the
//! same entities work on PostgreSQL and SQLite.

pub mod certificate {
    use sea_orm::entity::prelude::*;

    /// Owned by the issuing department (the issuer's tenant).
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "certificates")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub serial_number: String,
        pub certificate_type: String,
        pub issuer_id: String,
        pub tenant_division: String,
        pub tenant_department: String,
        pub key_id: String,
        /// `Holder::key()`.
        pub holder_key: String,
        pub holder: Json,
        /// `[{"name","kind","value"}]`, values as text.
        pub claims: Json,
        pub issued_at: DateTimeUtc,
        pub valid_from: DateTimeUtc,
        pub valid_until: Option<DateTimeUtc>,
        pub status: String,
        pub status_reason: String,
        pub status_group: String,
        pub status_index: i64,
        pub token: String,
        pub application_id: Option<String>,
        pub request_id: String,
        pub version: i64,
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

pub mod status_list_group {
    use sea_orm::entity::prelude::*;

    /// A group of status positions (platform-wide); its lists are
    /// `<seq>-revocation` and `<seq>-suspension`.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "status_list_groups")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub seq: i64,
        pub size: i64,
        /// Certificates placed in it before the next group opens.
        pub capacity: i64,
        pub allocated: i64,
        pub created_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod status_list {
    use sea_orm::entity::prelude::*;

    /// One list's version (platform-wide); its bits are the certificates
    /// of its group in its status.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "status_lists")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub group_seq: i64,
        pub purpose: String,
        pub version: i64,
        pub updated_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}
