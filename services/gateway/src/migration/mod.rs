//! The gateway's schema, applied at start by `zhongtai-store`.

mod m0001_apps;
mod m0002_app_sponsor;
mod m0003_capabilities;

use sea_orm_migration::prelude::*;

/// Migrations of the gateway's database.
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(zhongtai_events::migration::CreateOutbox),
            Box::new(zhongtai_events::migration::CreateInbox),
            Box::new(zhongtai_audit::migration::CreateAuditLog),
            Box::new(m0001_apps::Migration),
            Box::new(m0002_app_sponsor::Migration),
            Box::new(m0003_capabilities::Migration),
        ]
    }
}
