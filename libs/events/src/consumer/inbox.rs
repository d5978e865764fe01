//! The `event_inbox` table: which consumer already processed which event.
//! Its primary key turns a redelivered event into a no-op.

use sea_orm::entity::prelude::*;

/// An inbox row.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "event_inbox")]
pub struct Model {
    /// Subscription (consumer group) name.
    #[sea_orm(primary_key, auto_increment = false)]
    pub consumer: String,
    /// Processed event id.
    #[sea_orm(primary_key, auto_increment = false)]
    pub event_id: String,
    /// When the handler's transaction committed.
    pub processed_at: DateTimeUtc,
}

/// The inbox has no relations.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
