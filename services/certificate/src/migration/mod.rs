//! The certificate center's schema, applied at start by `zhongtai-store`.

mod m0001_issuers;
mod m0002_keys_and_types;
mod m0003_certificates;
mod m0004_codes;
mod m0005_consents;

use sea_orm_migration::prelude::*;

/// Migrations of the certificate center's database.
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(zhongtai_events::migration::CreateOutbox),
            Box::new(zhongtai_events::migration::CreateInbox),
            Box::new(zhongtai_audit::migration::CreateAuditLog),
            Box::new(m0001_issuers::Migration),
            Box::new(m0002_keys_and_types::Migration),
            Box::new(m0003_certificates::Migration),
            Box::new(m0004_codes::Migration),
            Box::new(m0005_consents::Migration),
        ]
    }
}
