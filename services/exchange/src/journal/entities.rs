//! The journal's tables (see migration `m0003_journal`).

pub mod journal_change {
    use sea_orm::entity::prelude::*;

    /// One captured change: identity, key and content hash, never values.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "journal_changes")]
    pub struct Model {
        pub change_id: String,
        #[sea_orm(primary_key, auto_increment = false)]
        pub line_id: String,
        #[sea_orm(primary_key, auto_increment = false)]
        pub position: i64,
        #[sea_orm(primary_key, auto_increment = false)]
        pub idx: i32,
        pub table_name: String,
        pub operation: String,
        #[sea_orm(column_type = "Text")]
        pub key_json: String,
        pub commit_at: DateTimeUtc,
        pub capture_at: DateTimeUtc,
        pub content_hash: String,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod journal_delivery {
    use sea_orm::entity::prelude::*;

    /// One change's outcome at one subscription.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "journal_deliveries")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub subscription_id: String,
        #[sea_orm(primary_key, auto_increment = false)]
        pub change_id: String,
        pub line_id: String,
        pub position: i64,
        pub idx: i32,
        pub commit_at: DateTimeUtc,
        pub filtered_out: bool,
        pub content_hash: String,
        pub published_at: Option<DateTimeUtc>,
        pub delivered_at: Option<DateTimeUtc>,
        pub applied_at: Option<DateTimeUtc>,
        pub attempts: i32,
        pub effects: i32,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod reconciliation_report {
    use sea_orm::entity::prelude::*;

    /// A stored report of a closed window.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "reconciliation_reports")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub line_id: String,
        pub window_start: DateTimeUtc,
        pub window_end: DateTimeUtc,
        pub generated_at: DateTimeUtc,
        pub verdict: String,
        /// The contract `ReconciliationReport`, protobuf-encoded.
        #[sea_orm(column_type = "Blob")]
        pub report: Vec<u8>,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}
