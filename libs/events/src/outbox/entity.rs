//! The `event_outbox` table: one row per event appended in a service's
//! transaction, until the relay has published it and retention expired.

use sea_orm::entity::prelude::*;

/// An outbox row.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "event_outbox")]
pub struct Model {
    /// Publication order (autoincrement): the relay publishes in `seq`
    /// order, which keeps the events of one subject in commit order.
    #[sea_orm(primary_key)]
    pub seq: i64,
    /// Event id (UUIDv7 text), unique.
    #[sea_orm(unique)]
    pub id: String,
    /// Event type, also the routing key.
    pub event_type: String,
    /// Tenant of the event.
    pub tenant: String,
    /// Aggregate id the event is about.
    pub subject: String,
    /// The protobuf-encoded `EventEnvelope`, exactly as it is published.
    pub envelope: Vec<u8>,
    /// When the event was appended.
    pub created_at: DateTimeUtc,
    /// When the broker confirmed the event; `None` while unpublished.
    pub published_at: Option<DateTimeUtc>,
    /// Publish attempts recorded so far (confirmed or failed).
    pub attempts: i32,
    /// Why the last attempt failed, when it did.
    pub last_error: Option<String>,
}

/// The outbox has no relations.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
