//! gRPC API of the approval center: translates contract messages to domain
//! values and back. No rules and no storage here.

mod actions;
mod applications;
pub mod convert;
mod form_data;
mod items;
mod processes;

use tonic::{Request, Response, Status};
use zhongtai_contracts::approval::v1 as pb;
use zhongtai_contracts::approval::v1::approval_service_server::ApprovalService;

pub use items::item_message;
pub use processes::process_message;

use crate::domain::{Applications, Processes, ServiceItems};

/// The `zhongtai.approval.v1.ApprovalService` implementation.
pub struct ApprovalApi {
    items: ServiceItems,
    processes: Processes,
    applications: Applications,
}

impl ApprovalApi {
    pub fn new(items: ServiceItems, processes: Processes, applications: Applications) -> Self {
        Self {
            items,
            processes,
            applications,
        }
    }
}

#[tonic::async_trait]
impl ApprovalService for ApprovalApi {
    async fn create_service_item(
        &self,
        request: Request<pb::CreateServiceItemRequest>,
    ) -> Result<Response<pb::CreateServiceItemResponse>, Status> {
        items::create(&self.items, request).await
    }

    async fn get_service_item(
        &self,
        request: Request<pb::GetServiceItemRequest>,
    ) -> Result<Response<pb::GetServiceItemResponse>, Status> {
        items::get(&self.items, request).await
    }

    async fn list_service_items(
        &self,
        request: Request<pb::ListServiceItemsRequest>,
    ) -> Result<Response<pb::ListServiceItemsResponse>, Status> {
        items::list(&self.items, request).await
    }

    async fn update_service_item(
        &self,
        request: Request<pb::UpdateServiceItemRequest>,
    ) -> Result<Response<pb::UpdateServiceItemResponse>, Status> {
        items::update(&self.items, request).await
    }

    async fn create_process_definition(
        &self,
        request: Request<pb::CreateProcessDefinitionRequest>,
    ) -> Result<Response<pb::CreateProcessDefinitionResponse>, Status> {
        processes::create(&self.processes, request).await
    }

    async fn revise_process_definition(
        &self,
        request: Request<pb::ReviseProcessDefinitionRequest>,
    ) -> Result<Response<pb::ReviseProcessDefinitionResponse>, Status> {
        processes::revise(&self.processes, request).await
    }

    async fn get_process_definition(
        &self,
        request: Request<pb::GetProcessDefinitionRequest>,
    ) -> Result<Response<pb::GetProcessDefinitionResponse>, Status> {
        processes::get(&self.processes, request).await
    }

    async fn list_process_definitions(
        &self,
        request: Request<pb::ListProcessDefinitionsRequest>,
    ) -> Result<Response<pb::ListProcessDefinitionsResponse>, Status> {
        processes::list(&self.processes, request).await
    }

    async fn list_process_definition_versions(
        &self,
        request: Request<pb::ListProcessDefinitionVersionsRequest>,
    ) -> Result<Response<pb::ListProcessDefinitionVersionsResponse>, Status> {
        processes::versions(&self.processes, request).await
    }

    async fn deprecate_process_definition(
        &self,
        request: Request<pb::DeprecateProcessDefinitionRequest>,
    ) -> Result<Response<pb::DeprecateProcessDefinitionResponse>, Status> {
        processes::deprecate(&self.processes, request).await
    }

    async fn submit_application(
        &self,
        request: Request<pb::SubmitApplicationRequest>,
    ) -> Result<Response<pb::SubmitApplicationResponse>, Status> {
        applications::submit(&self.applications, request).await
    }

    async fn get_application(
        &self,
        request: Request<pb::GetApplicationRequest>,
    ) -> Result<Response<pb::GetApplicationResponse>, Status> {
        applications::get(&self.applications, request).await
    }

    async fn list_applications(
        &self,
        request: Request<pb::ListApplicationsRequest>,
    ) -> Result<Response<pb::ListApplicationsResponse>, Status> {
        applications::list(&self.applications, request).await
    }

    async fn list_application_history(
        &self,
        request: Request<pb::ListApplicationHistoryRequest>,
    ) -> Result<Response<pb::ListApplicationHistoryResponse>, Status> {
        applications::history(&self.applications, request).await
    }

    async fn list_my_tasks(
        &self,
        request: Request<pb::ListMyTasksRequest>,
    ) -> Result<Response<pb::ListMyTasksResponse>, Status> {
        applications::my_tasks(&self.applications, request).await
    }

    async fn approve_application(
        &self,
        request: Request<pb::ApproveApplicationRequest>,
    ) -> Result<Response<pb::ApproveApplicationResponse>, Status> {
        actions::approve(&self.applications, request).await
    }

    async fn reject_application(
        &self,
        request: Request<pb::RejectApplicationRequest>,
    ) -> Result<Response<pb::RejectApplicationResponse>, Status> {
        actions::reject(&self.applications, request).await
    }

    async fn return_application(
        &self,
        request: Request<pb::ReturnApplicationRequest>,
    ) -> Result<Response<pb::ReturnApplicationResponse>, Status> {
        actions::send_back(&self.applications, request).await
    }

    async fn resubmit_application(
        &self,
        request: Request<pb::ResubmitApplicationRequest>,
    ) -> Result<Response<pb::ResubmitApplicationResponse>, Status> {
        actions::resubmit(&self.applications, request).await
    }

    async fn recall_application(
        &self,
        request: Request<pb::RecallApplicationRequest>,
    ) -> Result<Response<pb::RecallApplicationResponse>, Status> {
        actions::recall(&self.applications, request).await
    }

    async fn add_signer(
        &self,
        request: Request<pb::AddSignerRequest>,
    ) -> Result<Response<pb::AddSignerResponse>, Status> {
        actions::add_signer(&self.applications, request).await
    }

    async fn transfer_task(
        &self,
        request: Request<pb::TransferTaskRequest>,
    ) -> Result<Response<pb::TransferTaskResponse>, Status> {
        actions::transfer(&self.applications, request).await
    }
}
