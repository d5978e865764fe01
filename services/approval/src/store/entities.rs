//! Table mappings. Ids are UUID text and documents JSON, so the same
//! entities work on PostgreSQL and SQLite.

pub mod service_item {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "service_items")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub tenant_division: String,
        pub tenant_department: String,
        pub code: String,
        pub name: String,
        pub description: String,
        pub materials: Json,
        pub certificate_type: Option<String>,
        pub process: Option<Json>,
        pub form_fields: Json,
        pub kind: String,
        pub state: String,
        pub version: i64,
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
