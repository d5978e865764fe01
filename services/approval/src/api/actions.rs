//! Actions on running applications: requests to domain actions, the
//! application after them to messages.

use tonic::{Request, Response, Status};
use zhongtai_contracts::approval::v1 as pb;
use zhongtai_kit::auth::caller;

use super::applications::materials;
use super::convert::{application_message, assignee_draft, task_message};
use super::form_data::json_from_struct;
use crate::domain::{ActionRequest, Applications, ReturnDraft};

fn action(request_id: &str, application_id: &str, task_id: &str, comment: &str) -> ActionRequest {
    ActionRequest {
        request_id: request_id.to_string(),
        application_id: application_id.to_string(),
        task_id: task_id.to_string(),
        comment: comment.to_string(),
    }
}

pub async fn approve(
    applications: &Applications,
    request: Request<pb::ApproveApplicationRequest>,
) -> Result<Response<pb::ApproveApplicationResponse>, Status> {
    let caller = caller(&request)?;
    let r = request.into_inner();
    let application = applications
        .approve(
            &caller,
            &action(&r.request_id, &r.application_id, &r.task_id, &r.comment),
        )
        .await?;
    Ok(Response::new(pb::ApproveApplicationResponse {
        application: Some(application_message(&application)),
    }))
}

pub async fn reject(
    applications: &Applications,
    request: Request<pb::RejectApplicationRequest>,
) -> Result<Response<pb::RejectApplicationResponse>, Status> {
    let caller = caller(&request)?;
    let r = request.into_inner();
    let application = applications
        .reject(
            &caller,
            &action(&r.request_id, &r.application_id, &r.task_id, &r.comment),
        )
        .await?;
    Ok(Response::new(pb::RejectApplicationResponse {
        application: Some(application_message(&application)),
    }))
}

pub async fn send_back(
    applications: &Applications,
    request: Request<pb::ReturnApplicationRequest>,
) -> Result<Response<pb::ReturnApplicationResponse>, Status> {
    use pb::return_application_request::Target;
    let caller = caller(&request)?;
    let r = request.into_inner();
    let target = match &r.target {
        None | Some(Target::Applicant(false)) => ReturnDraft::Unset,
        Some(Target::StageKey(key)) => ReturnDraft::Stage(key.clone()),
        Some(Target::Applicant(true)) => ReturnDraft::Applicant,
    };
    let application = applications
        .send_back(
            &caller,
            &action(&r.request_id, &r.application_id, &r.task_id, &r.comment),
            &target,
            &r.requested_materials,
        )
        .await?;
    Ok(Response::new(pb::ReturnApplicationResponse {
        application: Some(application_message(&application)),
    }))
}

pub async fn resubmit(
    applications: &Applications,
    request: Request<pb::ResubmitApplicationRequest>,
) -> Result<Response<pb::ResubmitApplicationResponse>, Status> {
    let caller = caller(&request)?;
    let r = request.into_inner();
    let form_data = r
        .form_data
        .as_ref()
        .map(|form| json_from_struct("form_data", form))
        .transpose()?;
    let application = applications
        .resubmit(
            &caller,
            &action(&r.request_id, &r.application_id, "", &r.comment),
            form_data,
            &materials(&r.materials),
        )
        .await?;
    Ok(Response::new(pb::ResubmitApplicationResponse {
        application: Some(application_message(&application)),
    }))
}

pub async fn recall(
    applications: &Applications,
    request: Request<pb::RecallApplicationRequest>,
) -> Result<Response<pb::RecallApplicationResponse>, Status> {
    let caller = caller(&request)?;
    let r = request.into_inner();
    let application = applications
        .recall(
            &caller,
            &action(&r.request_id, &r.application_id, "", &r.comment),
        )
        .await?;
    Ok(Response::new(pb::RecallApplicationResponse {
        application: Some(application_message(&application)),
    }))
}

pub async fn add_signer(
    applications: &Applications,
    request: Request<pb::AddSignerRequest>,
) -> Result<Response<pb::AddSignerResponse>, Status> {
    let caller = caller(&request)?;
    let r = request.into_inner();
    let (application, task) = applications
        .add_signer(
            &caller,
            &action(&r.request_id, &r.application_id, "", &r.comment),
            &assignee_draft(r.assignee.as_ref()),
        )
        .await?;
    Ok(Response::new(pb::AddSignerResponse {
        application: Some(application_message(&application)),
        task: Some(task_message(&task)),
    }))
}

pub async fn transfer(
    applications: &Applications,
    request: Request<pb::TransferTaskRequest>,
) -> Result<Response<pb::TransferTaskResponse>, Status> {
    let caller = caller(&request)?;
    let r = request.into_inner();
    let (application, task) = applications
        .transfer(
            &caller,
            &action(&r.request_id, &r.application_id, &r.task_id, &r.comment),
            &assignee_draft(r.assignee.as_ref()),
        )
        .await?;
    Ok(Response::new(pb::TransferTaskResponse {
        application: Some(application_message(&application)),
        task: Some(task_message(&task)),
    }))
}
