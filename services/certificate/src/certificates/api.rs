//! Certificates, their status and the status lists over gRPC: contract
//! messages to domain values and back. No rules and no storage here.

use std::sync::Arc;

use tonic::{Request, Response, Status};
use zhongtai_contracts::certificate::v1 as pb;

use super::Certificates;

/// The certificate and status-list RPCs of `CertificateService`.
pub struct CertificateHandlers {
    _certificates: Arc<Certificates>,
}

impl CertificateHandlers {
    pub fn new(certificates: Arc<Certificates>) -> Self {
        Self {
            _certificates: certificates,
        }
    }

    pub async fn issue_certificate(
        &self,
        _request: Request<pb::IssueCertificateRequest>,
    ) -> Result<Response<pb::IssueCertificateResponse>, Status> {
        Err(Status::unimplemented(
            "IssueCertificate is not available yet",
        ))
    }

    pub async fn get_certificate(
        &self,
        _request: Request<pb::GetCertificateRequest>,
    ) -> Result<Response<pb::GetCertificateResponse>, Status> {
        Err(Status::unimplemented("GetCertificate is not available yet"))
    }

    pub async fn list_certificates(
        &self,
        _request: Request<pb::ListCertificatesRequest>,
    ) -> Result<Response<pb::ListCertificatesResponse>, Status> {
        Err(Status::unimplemented(
            "ListCertificates is not available yet",
        ))
    }

    pub async fn verify_certificate(
        &self,
        _request: Request<pb::VerifyCertificateRequest>,
    ) -> Result<Response<pb::VerifyCertificateResponse>, Status> {
        Err(Status::unimplemented(
            "VerifyCertificate is not available yet",
        ))
    }

    pub async fn revoke_certificate(
        &self,
        _request: Request<pb::RevokeCertificateRequest>,
    ) -> Result<Response<pb::RevokeCertificateResponse>, Status> {
        Err(Status::unimplemented(
            "RevokeCertificate is not available yet",
        ))
    }

    pub async fn suspend_certificate(
        &self,
        _request: Request<pb::SuspendCertificateRequest>,
    ) -> Result<Response<pb::SuspendCertificateResponse>, Status> {
        Err(Status::unimplemented(
            "SuspendCertificate is not available yet",
        ))
    }

    pub async fn reinstate_certificate(
        &self,
        _request: Request<pb::ReinstateCertificateRequest>,
    ) -> Result<Response<pb::ReinstateCertificateResponse>, Status> {
        Err(Status::unimplemented(
            "ReinstateCertificate is not available yet",
        ))
    }

    pub async fn get_status_list(
        &self,
        _request: Request<pb::GetStatusListRequest>,
    ) -> Result<Response<pb::GetStatusListResponse>, Status> {
        Err(Status::unimplemented("GetStatusList is not available yet"))
    }

    pub async fn list_status_lists(
        &self,
        _request: Request<pb::ListStatusListsRequest>,
    ) -> Result<Response<pb::ListStatusListsResponse>, Status> {
        Err(Status::unimplemented(
            "ListStatusLists is not available yet",
        ))
    }
}
