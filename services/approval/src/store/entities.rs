//! Table mappings. Ids are UUID text and documents JSON, so the same
//! entities work on PostgreSQL and SQLite. Every table belongs to tenants;
//! the scoped entry points of `zhongtai_kit::ScopedEntity` reach them.

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

pub mod process_definition {
    use sea_orm::entity::prelude::*;

    /// One version of a process definition; (id, version) is the key.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "process_definitions")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        #[sea_orm(primary_key, auto_increment = false)]
        pub version: i64,
        pub tenant_division: String,
        pub tenant_department: String,
        pub key: String,
        pub name: String,
        pub description: String,
        pub stages: Json,
        pub state: String,
        /// Whether this is the newest version of its definition.
        pub is_latest: bool,
        pub request_id: String,
        pub created_by: Json,
        pub created_at: DateTimeUtc,
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

pub mod application {
    use sea_orm::entity::prelude::*;

    /// One application: the aggregate as a JSON document, with the columns
    /// lists and the SLA timer filter on.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "applications")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        /// The handling tenant (the item's).
        pub tenant_division: String,
        pub tenant_department: String,
        pub service_item_id: String,
        pub applicant_division: String,
        pub applicant_department: String,
        /// Subject of the actor who submitted.
        pub submitted_by: String,
        pub request_id: String,
        /// Service that raised it; "" for none.
        pub origin_service: String,
        pub status: String,
        pub document: Json,
        pub version: i64,
        /// Next reminder of the active stage still to fire.
        pub remind_time: Option<DateTimeUtc>,
        /// Deadline of the active stage, until it escalated.
        pub due_time: Option<DateTimeUtc>,
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

pub mod application_party {
    use sea_orm::entity::prelude::*;

    /// A tenant (or a user, by subject) taking part in an application:
    /// whoever's scope holds a party may see the application.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "application_parties")]
    pub struct Model {
        /// `<application>|<tenant key>` or `<application>|user|<subject>`.
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub application_id: String,
        /// The party's tenant; "" for a user party.
        pub party_division: String,
        pub party_department: String,
        /// The user's subject; "" for a tenant party.
        pub party_subject: String,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {
        #[sea_orm(
            belongs_to = "super::application::Entity",
            from = "Column::ApplicationId",
            to = "super::application::Column::Id"
        )]
        Application,
    }

    impl Related<super::application::Entity> for Entity {
        fn to() -> RelationDef {
            Relation::Application.def()
        }
    }

    impl ActiveModelBehavior for ActiveModel {}

    impl zhongtai_kit::TenantOwned for Entity {
        fn division_column() -> Column {
            Column::PartyDivision
        }
        fn department_column() -> Column {
            Column::PartyDepartment
        }
    }
}

pub mod application_task {
    use sea_orm::entity::prelude::*;

    /// A task, owned by its assignee's tenant, so "my tasks" is a scoped
    /// query; the application document stays the source of truth.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "application_tasks")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub application_id: String,
        /// The assignee's tenant; "" for a user assignee.
        pub assignee_division: String,
        pub assignee_department: String,
        /// The role; "" for a user assignee.
        pub assignee_role: String,
        /// The user's subject; "" for a department role.
        pub assignee_user: String,
        pub stage_key: String,
        pub status: String,
        pub due_time: Option<DateTimeUtc>,
        /// Microseconds of due_time, or the largest value without one, so
        /// "soonest due first" is one keyset order.
        pub due_order: i64,
        pub created_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}

    impl zhongtai_kit::TenantOwned for Entity {
        fn division_column() -> Column {
            Column::AssigneeDivision
        }
        fn department_column() -> Column {
            Column::AssigneeDepartment
        }
    }
}

pub mod application_history {
    use sea_orm::entity::prelude::*;

    /// One history entry; (application_id, sequence) is the key, so the
    /// sequence never has two entries.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "application_history")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub application_id: String,
        #[sea_orm(primary_key, auto_increment = false)]
        pub sequence: i64,
        /// The handling tenant, as on the application.
        pub tenant_division: String,
        pub tenant_department: String,
        pub action: String,
        pub request_id: String,
        pub entry: Json,
        pub time: DateTimeUtc,
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
