//! The approval center's schema, applied at start by `zhongtai-store`.

mod m0001_service_items;
mod m0002_processes_and_applications;

use sea_orm_migration::prelude::*;

/// Migrations of the approval center's database.
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(zhongtai_events::migration::CreateOutbox),
            Box::new(zhongtai_events::migration::CreateInbox),
            Box::new(zhongtai_audit::migration::CreateAuditLog),
            Box::new(m0001_service_items::Migration),
            Box::new(m0002_processes_and_applications::Migration),
        ]
    }
}
