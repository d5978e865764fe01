//! The exchange center's schema, applied at start by `zhongtai-store`.

mod m0001_lines;
mod m0002_lines_subscriptions;
mod m0003_journal;
mod m0004_enclaves;
mod m0005_source_release;

use sea_orm_migration::prelude::*;

/// Migrations of the exchange center's database.
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(zhongtai_events::migration::CreateOutbox),
            Box::new(zhongtai_events::migration::CreateInbox),
            Box::new(zhongtai_audit::migration::CreateAuditLog),
            Box::new(m0001_lines::Migration),
            Box::new(m0002_lines_subscriptions::Migration),
            Box::new(m0003_journal::Migration),
            Box::new(m0004_enclaves::Migration),
            Box::new(m0005_source_release::Migration),
        ]
    }
}
