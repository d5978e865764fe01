//! Table mappings. Ids are UUID text and documents JSON, so the same
//! entities work on PostgreSQL and SQLite. Every table is tenant-owned:
//! queries start from the scoped entry points of `zhongtai_kit::tenancy`.

/// Implements `TenantOwned` for an entity from its owner columns.
macro_rules! owned_by {
    ($division:ident, $department:ident) => {
        impl zhongtai_kit::TenantOwned for Entity {
            fn division_column() -> Column {
                Column::$division
            }
            fn department_column() -> Column {
                Column::$department
            }
        }
    };
}

pub mod resource {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "resources")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub owner_division: String,
        /// Empty when the division as a whole owns the resource.
        pub owner_department: String,
        pub code: String,
        pub title: String,
        pub layer: String,
        pub state: String,
        pub version: i64,
        pub created_at: DateTimeUtc,
        pub updated_at: DateTimeUtc,
        pub description: String,
        pub fields: Json,
        pub sharing: String,
        pub sharing_conditions: String,
        pub open: String,
        pub update_frequency: String,
        /// Empty without a line.
        pub line_id: String,
        pub source_table: String,
        pub tags: Json,
        /// The registering client's idempotency key; none for rows from
        /// before keys were kept.
        pub request_id: Option<String>,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}

    owned_by!(OwnerDivision, OwnerDepartment);
}

pub mod resource_version {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "resource_versions")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub resource_id: String,
        #[sea_orm(primary_key, auto_increment = false)]
        pub version: i64,
        pub owner_division: String,
        pub owner_department: String,
        /// The resource as this version left it.
        pub snapshot: Json,
        pub changed_fields: Json,
        pub changed_by: Json,
        pub change_note: String,
        pub created_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}

    owned_by!(OwnerDivision, OwnerDepartment);
}

pub mod search_term {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "search_terms")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub resource_id: String,
        #[sea_orm(primary_key, auto_increment = false)]
        pub term: String,
        pub weight: i32,
        pub owner_division: String,
        pub owner_department: String,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}

    owned_by!(OwnerDivision, OwnerDepartment);
}

pub mod resource_tag {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "resource_tags")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub resource_id: String,
        #[sea_orm(primary_key, auto_increment = false)]
        pub tag: String,
        pub owner_division: String,
        pub owner_department: String,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}

    owned_by!(OwnerDivision, OwnerDepartment);
}

pub mod access_request {
    use sea_orm::entity::prelude::*;

    /// Owned by the requester; the resource owner reads it through
    /// `find_in_or_shared` on the owner columns.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "access_requests")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub request_id: String,
        pub resource_id: String,
        pub resource_version: i64,
        pub owner_division: String,
        pub owner_department: String,
        pub requester_division: String,
        pub requester_department: String,
        pub grantee_division: String,
        pub grantee_department: String,
        pub fields: Json,
        pub purpose: String,
        pub period_start: DateTimeUtc,
        pub period_end: DateTimeUtc,
        pub row_filter: Json,
        pub state: String,
        /// Empty until the application is raised.
        pub application_id: String,
        /// Empty until approved.
        pub grant_id: String,
        pub requested_by: Json,
        pub decision_reason: String,
        pub version: i64,
        pub created_at: DateTimeUtc,
        pub updated_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}

    owned_by!(RequesterDivision, RequesterDepartment);
}

pub mod grant {
    use sea_orm::entity::prelude::*;

    /// Owned by the resource's owner; the grantee reads it through
    /// `find_in_or_shared` on the grantee columns.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "grants")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub resource_id: String,
        pub resource_version: i64,
        pub owner_division: String,
        pub owner_department: String,
        pub grantee_division: String,
        pub grantee_department: String,
        pub access_request_id: String,
        pub application_id: String,
        pub fields: Json,
        pub row_filter: Json,
        pub purpose: String,
        pub period_start: DateTimeUtc,
        pub period_end: DateTimeUtc,
        pub state: String,
        pub subscription_ids: Json,
        pub revoke_reason: String,
        pub revoked_by: Option<Json>,
        pub version: i64,
        pub created_at: DateTimeUtc,
        pub updated_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}

    owned_by!(OwnerDivision, OwnerDepartment);
}
