//! gRPC API of the certificate center: translates contract messages to
//! domain values and back. No rules and no storage here.

use std::sync::Arc;

use tonic::{Request, Response, Status};
use zhongtai_contracts::certificate::v1 as pb;
use zhongtai_contracts::certificate::v1::certificate_service_server::CertificateService;
use zhongtai_contracts::certificate::v1::code_service_server::CodeService;
use zhongtai_contracts::certificate::v1::consent_service_server::ConsentService;
use zhongtai_kit::auth::{caller, require_readable};
use zhongtai_kit::proto::{optional_tenant, page_query, page_response, tenant_message, timestamp};

use crate::domain::{Issuer, IssuerFilter, IssuerRepository, IssuerState};

/// The `zhongtai.certificate.v1.CertificateService` implementation.
pub struct CertificateApi {
    issuers: Arc<dyn IssuerRepository>,
}

impl CertificateApi {
    pub fn new(issuers: Arc<dyn IssuerRepository>) -> Self {
        Self { issuers }
    }
}

#[tonic::async_trait]
impl CertificateService for CertificateApi {
    async fn list_issuers(
        &self,
        request: Request<pb::ListIssuersRequest>,
    ) -> Result<Response<pb::ListIssuersResponse>, Status> {
        let caller = caller(&request)?;
        let request = request.into_inner();
        let page = page_query(request.page.as_ref())?;
        let tenant = optional_tenant("tenant", request.tenant.as_ref())?;
        if let Some(tenant) = &tenant {
            require_readable(&caller, tenant)?;
        }
        let filter = IssuerFilter { tenant };
        let page = self
            .issuers
            .list(&caller.read_scope(), &filter, &page)
            .await?;
        Ok(Response::new(pb::ListIssuersResponse {
            issuers: page.items.iter().map(issuer_message).collect(),
            page: Some(page_response(page.next_page_token)),
        }))
    }
}

/// The `zhongtai.certificate.v1.CodeService`: served so clients discover it;
/// every method answers UNIMPLEMENTED for now.
#[derive(Debug, Default, Clone, Copy)]
pub struct CodeApi;

#[tonic::async_trait]
impl CodeService for CodeApi {}

/// The `zhongtai.certificate.v1.ConsentService`: served so clients discover
/// it; every method answers UNIMPLEMENTED for now.
#[derive(Debug, Default, Clone, Copy)]
pub struct ConsentApi;

#[tonic::async_trait]
impl ConsentService for ConsentApi {}

/// The contract form of an issuer (the parts the center stores so far).
pub fn issuer_message(issuer: &Issuer) -> pb::Issuer {
    pb::Issuer {
        id: issuer.id.to_string(),
        tenant: Some(tenant_message(&issuer.tenant)),
        name: issuer.name.clone(),
        state: match issuer.state {
            IssuerState::Active => pb::IssuerState::Active,
            IssuerState::Suspended => pb::IssuerState::Suspended,
        } as i32,
        version: issuer.version,
        create_time: Some(timestamp(issuer.created_at)),
        update_time: Some(timestamp(issuer.updated_at)),
        ..pb::Issuer::default()
    }
}
