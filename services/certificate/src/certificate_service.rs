//! The `zhongtai.certificate.v1.CertificateService`: one gRPC service over
//! two parts of the center. Issuers, keys, the trust list and certificate
//! types are answered by [`IssuerHandlers`]; certificates, their status and
//! the status lists by [`CertificateHandlers`]. Delegation only.

use tonic::{Request, Response, Status};
use zhongtai_contracts::certificate::v1 as pb;
use zhongtai_contracts::certificate::v1::certificate_service_server::CertificateService;

use crate::certificates::api::CertificateHandlers;
use crate::issuers::api::IssuerHandlers;

/// The `CertificateService` implementation.
pub struct CertificateApi {
    issuers: IssuerHandlers,
    certificates: CertificateHandlers,
}

impl CertificateApi {
    pub fn new(issuers: IssuerHandlers, certificates: CertificateHandlers) -> Self {
        Self {
            issuers,
            certificates,
        }
    }
}

#[tonic::async_trait]
impl CertificateService for CertificateApi {
    async fn create_issuer(
        &self,
        request: Request<pb::CreateIssuerRequest>,
    ) -> Result<Response<pb::CreateIssuerResponse>, Status> {
        self.issuers.create_issuer(request).await
    }

    async fn get_issuer(
        &self,
        request: Request<pb::GetIssuerRequest>,
    ) -> Result<Response<pb::GetIssuerResponse>, Status> {
        self.issuers.get_issuer(request).await
    }

    async fn list_issuers(
        &self,
        request: Request<pb::ListIssuersRequest>,
    ) -> Result<Response<pb::ListIssuersResponse>, Status> {
        self.issuers.list_issuers(request).await
    }

    async fn update_issuer(
        &self,
        request: Request<pb::UpdateIssuerRequest>,
    ) -> Result<Response<pb::UpdateIssuerResponse>, Status> {
        self.issuers.update_issuer(request).await
    }

    async fn rotate_signing_key(
        &self,
        request: Request<pb::RotateSigningKeyRequest>,
    ) -> Result<Response<pb::RotateSigningKeyResponse>, Status> {
        self.issuers.rotate_signing_key(request).await
    }

    async fn revoke_signing_key(
        &self,
        request: Request<pb::RevokeSigningKeyRequest>,
    ) -> Result<Response<pb::RevokeSigningKeyResponse>, Status> {
        self.issuers.revoke_signing_key(request).await
    }

    async fn list_signing_keys(
        &self,
        request: Request<pb::ListSigningKeysRequest>,
    ) -> Result<Response<pb::ListSigningKeysResponse>, Status> {
        self.issuers.list_signing_keys(request).await
    }

    async fn get_trust_list(
        &self,
        request: Request<pb::GetTrustListRequest>,
    ) -> Result<Response<pb::GetTrustListResponse>, Status> {
        self.issuers.get_trust_list(request).await
    }

    async fn create_certificate_type(
        &self,
        request: Request<pb::CreateCertificateTypeRequest>,
    ) -> Result<Response<pb::CreateCertificateTypeResponse>, Status> {
        self.issuers.create_certificate_type(request).await
    }

    async fn get_certificate_type(
        &self,
        request: Request<pb::GetCertificateTypeRequest>,
    ) -> Result<Response<pb::GetCertificateTypeResponse>, Status> {
        self.issuers.get_certificate_type(request).await
    }

    async fn list_certificate_types(
        &self,
        request: Request<pb::ListCertificateTypesRequest>,
    ) -> Result<Response<pb::ListCertificateTypesResponse>, Status> {
        self.issuers.list_certificate_types(request).await
    }

    async fn update_certificate_type(
        &self,
        request: Request<pb::UpdateCertificateTypeRequest>,
    ) -> Result<Response<pb::UpdateCertificateTypeResponse>, Status> {
        self.issuers.update_certificate_type(request).await
    }

    async fn issue_certificate(
        &self,
        request: Request<pb::IssueCertificateRequest>,
    ) -> Result<Response<pb::IssueCertificateResponse>, Status> {
        self.certificates.issue_certificate(request).await
    }

    async fn get_certificate(
        &self,
        request: Request<pb::GetCertificateRequest>,
    ) -> Result<Response<pb::GetCertificateResponse>, Status> {
        self.certificates.get_certificate(request).await
    }

    async fn list_certificates(
        &self,
        request: Request<pb::ListCertificatesRequest>,
    ) -> Result<Response<pb::ListCertificatesResponse>, Status> {
        self.certificates.list_certificates(request).await
    }

    async fn verify_certificate(
        &self,
        request: Request<pb::VerifyCertificateRequest>,
    ) -> Result<Response<pb::VerifyCertificateResponse>, Status> {
        self.certificates.verify_certificate(request).await
    }

    async fn revoke_certificate(
        &self,
        request: Request<pb::RevokeCertificateRequest>,
    ) -> Result<Response<pb::RevokeCertificateResponse>, Status> {
        self.certificates.revoke_certificate(request).await
    }

    async fn suspend_certificate(
        &self,
        request: Request<pb::SuspendCertificateRequest>,
    ) -> Result<Response<pb::SuspendCertificateResponse>, Status> {
        self.certificates.suspend_certificate(request).await
    }

    async fn reinstate_certificate(
        &self,
        request: Request<pb::ReinstateCertificateRequest>,
    ) -> Result<Response<pb::ReinstateCertificateResponse>, Status> {
        self.certificates.reinstate_certificate(request).await
    }

    async fn get_status_list(
        &self,
        request: Request<pb::GetStatusListRequest>,
    ) -> Result<Response<pb::GetStatusListResponse>, Status> {
        self.certificates.get_status_list(request).await
    }

    async fn list_status_lists(
        &self,
        request: Request<pb::ListStatusListsRequest>,
    ) -> Result<Response<pb::ListStatusListsResponse>, Status> {
        self.certificates.list_status_lists(request).await
    }
}
