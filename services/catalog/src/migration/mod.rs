//! The catalog's schema, applied at start by `zhongtai-store`.

mod m0001_resources;
mod m0002_resource_details;
mod m0003_history_and_search;
mod m0004_access;

use sea_orm_migration::prelude::*;

/// Migrations of the catalog's database.
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(zhongtai_events::migration::CreateOutbox),
            Box::new(zhongtai_events::migration::CreateInbox),
            Box::new(zhongtai_audit::migration::CreateAuditLog),
            Box::new(m0001_resources::Migration),
            Box::new(m0002_resource_details::Migration),
            Box::new(m0003_history_and_search::Migration),
            Box::new(m0004_access::Migration),
        ]
    }
}
