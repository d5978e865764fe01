//! Table mappings of the audit log.

/// `audit_log`: one row per record; sealed rows carry their place in the
/// chain.
pub(crate) mod audit_log {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "audit_log")]
    pub struct Model {
        /// Insertion order, the order the sealer takes pending rows in.
        #[sea_orm(primary_key)]
        pub id: i64,
        #[sea_orm(unique)]
        pub record_id: Uuid,
        pub at: DateTimeUtc,
        #[sea_orm(column_type = "Text")]
        pub actor: String,
        #[sea_orm(column_type = "Text")]
        pub tenant: String,
        #[sea_orm(column_type = "Text")]
        pub action: String,
        #[sea_orm(column_type = "Text")]
        pub target: String,
        pub outcome: String,
        #[sea_orm(column_type = "Text")]
        pub reason: String,
        #[sea_orm(column_type = "Text")]
        pub trace_id: String,
        #[sea_orm(column_type = "Text")]
        pub peer: String,
        /// Place in the chain; `None` while pending.
        #[sea_orm(unique)]
        pub seq: Option<i64>,
        /// Hex hash of the record before (64 zeros for the first).
        pub prev_hash: Option<String>,
        /// Hex chain hash of this record.
        pub hash: Option<String>,
        pub sealed_at: Option<DateTimeUtc>,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// `audit_chain_head`: the single row naming the last sealed record.
pub(crate) mod chain_head {
    use sea_orm::entity::prelude::*;

    /// The key of the only row.
    pub(crate) const ROW_ID: i32 = 1;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "audit_chain_head")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: i32,
        pub seq: i64,
        pub hash: String,
        pub updated_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}
