//! sea-orm persistence of the catalog: the domain's ports on PostgreSQL or
//! SQLite, with events and audit records written in the transaction of
//! the change they describe.

mod access;
mod commit;
pub mod entities;
mod resources;
mod rows;
mod search_index;
mod visibility;

use std::sync::Arc;

use sea_orm::{ColumnTrait, ConnectionTrait, DatabaseConnection, QueryFilter};
use tokio::sync::Notify;
use uuid::Uuid;
use zhongtai_kit::{ScopedEntity, SystemPurpose};

pub use commit::commit_in;

use crate::domain::CatalogError;
use crate::domain::access_request::AccessRequest;

/// The catalog's ports on sea-orm.
pub struct SeaStore {
    db: DatabaseConnection,
    outbox: Arc<Notify>,
}

impl SeaStore {
    /// `outbox` is poked after each commit that wrote events.
    pub fn new(db: DatabaseConnection, outbox: Arc<Notify>) -> Self {
        Self { db, outbox }
    }
}

/// The access request a consumed event names, whoever's it is (platform
/// work: the event carries no caller).
pub async fn request_for_event<C: ConnectionTrait>(
    conn: &C,
    id: Uuid,
) -> Result<Option<AccessRequest>, CatalogError> {
    entities::access_request::Entity::find_for_system(SystemPurpose::EVENT)
        .filter(entities::access_request::Column::Id.eq(id.to_string()))
        .one(conn)
        .await
        .map_err(rows::storage)?
        .map(rows::request_from_row)
        .transpose()
}
