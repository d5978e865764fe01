//! Issuers, signing keys, the trust list and certificate types over gRPC:
//! contract messages to domain values and back. No rules and no storage
//! here.

pub mod convert;

use tonic::{Request, Response, Status};
use zhongtai_contracts::certificate::v1 as pb;
use zhongtai_kit::ApiError;
use zhongtai_kit::auth::caller;
use zhongtai_kit::proto::{optional_tenant, page_query, page_response, tenant, timestamp};

use super::domain::{
    IssuerAdmin, IssuerDraft, IssuerFilter, IssuerUpdate, TrustListAnswer, TypeCatalog, TypeUpdate,
};
pub use convert::issuer_message;
use convert::{
    certificate_type_message, issuer_state, key_message, trust_list_message, type_draft,
};

/// The issuer and type RPCs of `CertificateService`.
pub struct IssuerHandlers {
    issuers: IssuerAdmin,
    types: TypeCatalog,
}

impl IssuerHandlers {
    pub fn new(issuers: IssuerAdmin, types: TypeCatalog) -> Self {
        Self { issuers, types }
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
        let filter = IssuerFilter {
            tenant: optional_tenant("tenant", request.tenant.as_ref())?,
        };
        let page = self.issuers.list(&caller, &filter, &page).await?;
        Ok(Response::new(pb::ListIssuersResponse {
            issuers: page.items.iter().map(issuer_message).collect(),
            page: Some(page_response(page.next_page_token)),
        }))
    }

    pub async fn create_issuer(
        &self,
        request: Request<pb::CreateIssuerRequest>,
    ) -> Result<Response<pb::CreateIssuerResponse>, Status> {
        let caller = caller(&request)?;
        let request = request.into_inner();
        let draft = IssuerDraft {
            tenant: tenant("tenant", request.tenant.as_ref())?,
            name: request.name,
            certificate_types: request.certificate_types,
        };
        let (issuer, key) = self
            .issuers
            .create(&caller, &request.request_id, draft)
            .await?;
        Ok(Response::new(pb::CreateIssuerResponse {
            issuer: Some(issuer_message(&issuer)),
            signing_key: Some(key_message(&key)),
        }))
    }

    pub async fn get_issuer(
        &self,
        request: Request<pb::GetIssuerRequest>,
    ) -> Result<Response<pb::GetIssuerResponse>, Status> {
        let caller = caller(&request)?;
        let issuer = self.issuers.get(&caller, &request.get_ref().id).await?;
        Ok(Response::new(pb::GetIssuerResponse {
            issuer: Some(issuer_message(&issuer)),
        }))
    }

    pub async fn update_issuer(
        &self,
        request: Request<pb::UpdateIssuerRequest>,
    ) -> Result<Response<pb::UpdateIssuerResponse>, Status> {
        let caller = caller(&request)?;
        let request = request.into_inner();
        let Some(issuer) = request.issuer else {
            return Err(ApiError::invalid_field("issuer", "is required").into());
        };
        let update = IssuerUpdate {
            state: issuer_state(issuer.state()),
            id: issuer.id,
            version: issuer.version,
            paths: request.update_mask.map(|m| m.paths).unwrap_or_default(),
            name: issuer.name,
            certificate_types: issuer.certificate_types,
        };
        let updated = self.issuers.update(&caller, &update).await?;
        Ok(Response::new(pb::UpdateIssuerResponse {
            issuer: Some(issuer_message(&updated)),
        }))
    }

    pub async fn rotate_signing_key(
        &self,
        request: Request<pb::RotateSigningKeyRequest>,
    ) -> Result<Response<pb::RotateSigningKeyResponse>, Status> {
        let caller = caller(&request)?;
        let request = request.into_inner();
        let rotated = self
            .issuers
            .rotate(&caller, &request.request_id, &request.issuer_id)
            .await?;
        Ok(Response::new(pb::RotateSigningKeyResponse {
            new_key: Some(key_message(&rotated.new_key)),
            retired_key: Some(key_message(&rotated.retired_key)),
            trust_list_version: rotated.trust_list_version,
        }))
    }

    pub async fn revoke_signing_key(
        &self,
        request: Request<pb::RevokeSigningKeyRequest>,
    ) -> Result<Response<pb::RevokeSigningKeyResponse>, Status> {
        let caller = caller(&request)?;
        let request = request.into_inner();
        let revoked = self
            .issuers
            .revoke(&caller, &request.key_id, &request.reason)
            .await?;
        Ok(Response::new(pb::RevokeSigningKeyResponse {
            key: Some(key_message(&revoked.key)),
            replacement_key: revoked.replacement.as_ref().map(key_message),
        }))
    }

    pub async fn list_signing_keys(
        &self,
        request: Request<pb::ListSigningKeysRequest>,
    ) -> Result<Response<pb::ListSigningKeysResponse>, Status> {
        let caller = caller(&request)?;
        let request = request.into_inner();
        let page = page_query(request.page.as_ref())?;
        let page = self
            .issuers
            .keys(&caller, &request.issuer_id, &page)
            .await?;
        Ok(Response::new(pb::ListSigningKeysResponse {
            keys: page.items.iter().map(key_message).collect(),
            page: Some(page_response(page.next_page_token)),
        }))
    }

    /// Public: no caller needed.
    pub async fn get_trust_list(
        &self,
        request: Request<pb::GetTrustListRequest>,
    ) -> Result<Response<pb::GetTrustListResponse>, Status> {
        let known = request.get_ref().if_newer_than_version;
        let published = match self.issuers.trust_list(known).await? {
            TrustListAnswer::NotModified => {
                return Ok(Response::new(pb::GetTrustListResponse {
                    not_modified: true,
                    ..Default::default()
                }));
            }
            TrustListAnswer::Current(published) => published,
        };
        let mut list = trust_list_message(&published.list, published.issued_at);
        list.next_update_time = Some(timestamp(published.next_update));
        Ok(Response::new(pb::GetTrustListResponse {
            trust_list: Some(list),
            signed_trust_list: published.signed.clone(),
            jwks: published.jwks.clone(),
            anchor_key_id: published.anchor_key_id.clone(),
            not_modified: false,
        }))
    }

    pub async fn create_certificate_type(
        &self,
        request: Request<pb::CreateCertificateTypeRequest>,
    ) -> Result<Response<pb::CreateCertificateTypeResponse>, Status> {
        let caller = caller(&request)?;
        let request = request.into_inner();
        let Some(certificate_type) = request.certificate_type.as_ref() else {
            return Err(ApiError::invalid_field("certificate_type", "is required").into());
        };
        let created = self
            .types
            .create(&caller, &request.request_id, type_draft(certificate_type))
            .await?;
        Ok(Response::new(pb::CreateCertificateTypeResponse {
            certificate_type: Some(certificate_type_message(&created)),
        }))
    }

    pub async fn get_certificate_type(
        &self,
        request: Request<pb::GetCertificateTypeRequest>,
    ) -> Result<Response<pb::GetCertificateTypeResponse>, Status> {
        caller(&request)?;
        let found = self.types.get(&request.get_ref().code).await?;
        Ok(Response::new(pb::GetCertificateTypeResponse {
            certificate_type: Some(certificate_type_message(&found)),
        }))
    }

    pub async fn list_certificate_types(
        &self,
        request: Request<pb::ListCertificateTypesRequest>,
    ) -> Result<Response<pb::ListCertificateTypesResponse>, Status> {
        caller(&request)?;
        let page = page_query(request.get_ref().page.as_ref())?;
        let page = self.types.list(&page).await?;
        Ok(Response::new(pb::ListCertificateTypesResponse {
            certificate_types: page.items.iter().map(certificate_type_message).collect(),
            page: Some(page_response(page.next_page_token)),
        }))
    }

    pub async fn update_certificate_type(
        &self,
        request: Request<pb::UpdateCertificateTypeRequest>,
    ) -> Result<Response<pb::UpdateCertificateTypeResponse>, Status> {
        let caller = caller(&request)?;
        let request = request.into_inner();
        let Some(certificate_type) = request.certificate_type.as_ref() else {
            return Err(ApiError::invalid_field("certificate_type", "is required").into());
        };
        let update = TypeUpdate {
            code: certificate_type.code.clone(),
            version: certificate_type.version,
            paths: request.update_mask.map(|m| m.paths).unwrap_or_default(),
            values: type_draft(certificate_type),
        };
        let updated = self.types.update(&caller, &update).await?;
        Ok(Response::new(pb::UpdateCertificateTypeResponse {
            certificate_type: Some(certificate_type_message(&updated)),
        }))
    }
}
