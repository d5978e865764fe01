//! The certificate center (证照中心): issuers and their signing keys,
//! certificates, personal codes and consents.
//!
//! Request path: [`api`] (contract ↔ domain) → [`domain`] (rules, ports) →
//! [`store`] (sea-orm).

#![forbid(unsafe_code)]

pub mod access;
pub mod api;
pub mod domain;
mod error;
pub mod migration;
pub mod store;

use std::sync::Arc;

use zhongtai_contracts::certificate::v1::certificate_service_server::CertificateServiceServer;
use zhongtai_contracts::certificate::v1::code_service_server::CodeServiceServer;
use zhongtai_contracts::certificate::v1::consent_service_server::ConsentServiceServer;
use zhongtai_kit::{ServiceContext, ServiceModule, ServiceRoutes};

/// Wires the certificate center into the shared service lifecycle.
#[derive(Debug, Default, Clone, Copy)]
pub struct CertificateModule;

impl ServiceModule for CertificateModule {
    const NAME: &'static str = "certificate";
    type Migrator = migration::Migrator;

    fn routes(&self, ctx: &ServiceContext) -> ServiceRoutes {
        let issuers = Arc::new(store::SeaIssuers::new(ctx.db.clone()));
        ServiceRoutes::new()
            .with_service(CertificateServiceServer::new(api::CertificateApi::new(
                issuers,
            )))
            .with_service(CodeServiceServer::new(api::CodeApi))
            .with_service(ConsentServiceServer::new(api::ConsentApi))
    }

    fn policy(&self) -> zhongtai_kit::auth::AccessPolicy {
        access::policy()
    }
}
