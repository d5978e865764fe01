//! Issuers, signing keys, the trust list and certificate types over gRPC:
//! contract messages to domain values and back. No rules and no storage
//! here.

use std::sync::Arc;

use tonic::{Request, Response, Status};
use zhongtai_contracts::certificate::v1 as pb;
use zhongtai_kit::auth::{caller, require_readable};
use zhongtai_kit::proto::{optional_tenant, page_query, page_response, tenant_message, timestamp};

use super::domain::{Issuer, IssuerFilter, IssuerRepository, IssuerState};

/// The issuer and type RPCs of `CertificateService`.
pub struct IssuerHandlers {
    issuers: Arc<dyn IssuerRepository>,
}

impl IssuerHandlers {
    pub fn new(issuers: Arc<dyn IssuerRepository>) -> Self {
        Self { issuers }
    }
}

impl IssuerHandlers {
    pub async fn list_issuers(
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

    pub async fn create_issuer(
        &self,
        _request: Request<pb::CreateIssuerRequest>,
    ) -> Result<Response<pb::CreateIssuerResponse>, Status> {
        Err(Status::unimplemented("CreateIssuer is not available yet"))
    }

    pub async fn get_issuer(
        &self,
        _request: Request<pb::GetIssuerRequest>,
    ) -> Result<Response<pb::GetIssuerResponse>, Status> {
        Err(Status::unimplemented("GetIssuer is not available yet"))
    }

    pub async fn update_issuer(
        &self,
        _request: Request<pb::UpdateIssuerRequest>,
    ) -> Result<Response<pb::UpdateIssuerResponse>, Status> {
        Err(Status::unimplemented("UpdateIssuer is not available yet"))
    }

    pub async fn rotate_signing_key(
        &self,
        _request: Request<pb::RotateSigningKeyRequest>,
    ) -> Result<Response<pb::RotateSigningKeyResponse>, Status> {
        Err(Status::unimplemented(
            "RotateSigningKey is not available yet",
        ))
    }

    pub async fn revoke_signing_key(
        &self,
        _request: Request<pb::RevokeSigningKeyRequest>,
    ) -> Result<Response<pb::RevokeSigningKeyResponse>, Status> {
        Err(Status::unimplemented(
            "RevokeSigningKey is not available yet",
        ))
    }

    pub async fn list_signing_keys(
        &self,
        _request: Request<pb::ListSigningKeysRequest>,
    ) -> Result<Response<pb::ListSigningKeysResponse>, Status> {
        Err(Status::unimplemented(
            "ListSigningKeys is not available yet",
        ))
    }

    pub async fn get_trust_list(
        &self,
        _request: Request<pb::GetTrustListRequest>,
    ) -> Result<Response<pb::GetTrustListResponse>, Status> {
        Err(Status::unimplemented("GetTrustList is not available yet"))
    }

    pub async fn create_certificate_type(
        &self,
        _request: Request<pb::CreateCertificateTypeRequest>,
    ) -> Result<Response<pb::CreateCertificateTypeResponse>, Status> {
        Err(Status::unimplemented(
            "CreateCertificateType is not available yet",
        ))
    }

    pub async fn get_certificate_type(
        &self,
        _request: Request<pb::GetCertificateTypeRequest>,
    ) -> Result<Response<pb::GetCertificateTypeResponse>, Status> {
        Err(Status::unimplemented(
            "GetCertificateType is not available yet",
        ))
    }

    pub async fn list_certificate_types(
        &self,
        _request: Request<pb::ListCertificateTypesRequest>,
    ) -> Result<Response<pb::ListCertificateTypesResponse>, Status> {
        Err(Status::unimplemented(
            "ListCertificateTypes is not available yet",
        ))
    }

    pub async fn update_certificate_type(
        &self,
        _request: Request<pb::UpdateCertificateTypeRequest>,
    ) -> Result<Response<pb::UpdateCertificateTypeResponse>, Status> {
        Err(Status::unimplemented(
            "UpdateCertificateType is not available yet",
        ))
    }
}

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
