//! The `zhongtai.gateway.v1.GatewayAdminService` implementation: each RPC
//! goes to the part of the gateway that owns it. No logic here.

use tonic::{Request, Response, Status};
use zhongtai_contracts::gateway::v1 as pb;
use zhongtai_contracts::gateway::v1::gateway_admin_service_server::GatewayAdminService;

use super::{AppsApi, AuditApi, CapabilitiesApi, CredentialsApi, PoliciesApi, UsageApi};

/// The admin plane: apps, credentials, capabilities, policies, usage, audit.
pub struct GatewayAdmin {
    pub apps: AppsApi,
    pub credentials: CredentialsApi,
    pub capabilities: CapabilitiesApi,
    pub policies: PoliciesApi,
    pub audit: AuditApi,
    pub usage: UsageApi,
}

#[tonic::async_trait]
impl GatewayAdminService for GatewayAdmin {
    async fn register_app(
        &self,
        request: Request<pb::RegisterAppRequest>,
    ) -> Result<Response<pb::RegisterAppResponse>, Status> {
        self.apps.register_app(request).await
    }

    async fn get_app(
        &self,
        request: Request<pb::GetAppRequest>,
    ) -> Result<Response<pb::GetAppResponse>, Status> {
        self.apps.get_app(request).await
    }

    async fn list_apps(
        &self,
        request: Request<pb::ListAppsRequest>,
    ) -> Result<Response<pb::ListAppsResponse>, Status> {
        self.apps.list_apps(request).await
    }

    async fn update_app(
        &self,
        request: Request<pb::UpdateAppRequest>,
    ) -> Result<Response<pb::UpdateAppResponse>, Status> {
        self.apps.update_app(request).await
    }

    async fn disable_app(
        &self,
        request: Request<pb::DisableAppRequest>,
    ) -> Result<Response<pb::DisableAppResponse>, Status> {
        self.apps.disable_app(request).await
    }

    async fn enable_app(
        &self,
        request: Request<pb::EnableAppRequest>,
    ) -> Result<Response<pb::EnableAppResponse>, Status> {
        self.apps.enable_app(request).await
    }

    async fn issue_credential(
        &self,
        request: Request<pb::IssueCredentialRequest>,
    ) -> Result<Response<pb::IssueCredentialResponse>, Status> {
        self.credentials.issue_credential(request).await
    }

    async fn rotate_credential(
        &self,
        request: Request<pb::RotateCredentialRequest>,
    ) -> Result<Response<pb::RotateCredentialResponse>, Status> {
        self.credentials.rotate_credential(request).await
    }

    async fn revoke_credential(
        &self,
        request: Request<pb::RevokeCredentialRequest>,
    ) -> Result<Response<pb::RevokeCredentialResponse>, Status> {
        self.credentials.revoke_credential(request).await
    }

    async fn list_credentials(
        &self,
        request: Request<pb::ListCredentialsRequest>,
    ) -> Result<Response<pb::ListCredentialsResponse>, Status> {
        self.credentials.list_credentials(request).await
    }

    async fn create_capability(
        &self,
        request: Request<pb::CreateCapabilityRequest>,
    ) -> Result<Response<pb::CreateCapabilityResponse>, Status> {
        self.capabilities.create_capability(request).await
    }

    async fn get_capability(
        &self,
        request: Request<pb::GetCapabilityRequest>,
    ) -> Result<Response<pb::GetCapabilityResponse>, Status> {
        self.capabilities.get_capability(request).await
    }

    async fn list_capabilities(
        &self,
        request: Request<pb::ListCapabilitiesRequest>,
    ) -> Result<Response<pb::ListCapabilitiesResponse>, Status> {
        self.capabilities.list_capabilities(request).await
    }

    async fn update_capability(
        &self,
        request: Request<pb::UpdateCapabilityRequest>,
    ) -> Result<Response<pb::UpdateCapabilityResponse>, Status> {
        self.capabilities.update_capability(request).await
    }

    async fn publish_capability(
        &self,
        request: Request<pb::PublishCapabilityRequest>,
    ) -> Result<Response<pb::PublishCapabilityResponse>, Status> {
        self.capabilities.publish_capability(request).await
    }

    async fn unpublish_capability(
        &self,
        request: Request<pb::UnpublishCapabilityRequest>,
    ) -> Result<Response<pb::UnpublishCapabilityResponse>, Status> {
        self.capabilities.unpublish_capability(request).await
    }

    async fn delete_capability(
        &self,
        request: Request<pb::DeleteCapabilityRequest>,
    ) -> Result<Response<pb::DeleteCapabilityResponse>, Status> {
        self.capabilities.delete_capability(request).await
    }

    async fn set_policy(
        &self,
        request: Request<pb::SetPolicyRequest>,
    ) -> Result<Response<pb::SetPolicyResponse>, Status> {
        self.policies.set_policy(request).await
    }

    async fn get_policy(
        &self,
        request: Request<pb::GetPolicyRequest>,
    ) -> Result<Response<pb::GetPolicyResponse>, Status> {
        self.policies.get_policy(request).await
    }

    async fn list_policies(
        &self,
        request: Request<pb::ListPoliciesRequest>,
    ) -> Result<Response<pb::ListPoliciesResponse>, Status> {
        self.policies.list_policies(request).await
    }

    async fn delete_policy(
        &self,
        request: Request<pb::DeletePolicyRequest>,
    ) -> Result<Response<pb::DeletePolicyResponse>, Status> {
        self.policies.delete_policy(request).await
    }

    async fn get_usage(
        &self,
        request: Request<pb::GetUsageRequest>,
    ) -> Result<Response<pb::GetUsageResponse>, Status> {
        self.usage.get_usage(request).await
    }

    async fn list_usage_buckets(
        &self,
        request: Request<pb::ListUsageBucketsRequest>,
    ) -> Result<Response<pb::ListUsageBucketsResponse>, Status> {
        self.audit.list_usage_buckets(request).await
    }

    async fn list_audit_records(
        &self,
        request: Request<pb::ListAuditRecordsRequest>,
    ) -> Result<Response<pb::ListAuditRecordsResponse>, Status> {
        self.audit.list_audit_records(request).await
    }

    async fn get_open_api_document(
        &self,
        request: Request<pb::GetOpenApiDocumentRequest>,
    ) -> Result<Response<pb::GetOpenApiDocumentResponse>, Status> {
        self.usage.get_open_api_document(request).await
    }
}
