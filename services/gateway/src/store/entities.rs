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
