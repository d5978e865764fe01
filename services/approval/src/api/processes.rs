//! Process definitions: requests to drafts, versions to messages.

use tonic::{Request, Response, Status};
use zhongtai_contracts::approval::v1 as pb;
use zhongtai_kit::TenantId;
use zhongtai_kit::auth::caller;
use zhongtai_kit::proto::{
    actor_message, optional_tenant, page_query, page_response, tenant_message, timestamp,
};

use super::convert::{
    assignee_draft, assignee_message, department_role_draft, department_role_message,
    duration_message, duration_micros, stage_kind, stage_kind_message,
};
use crate::domain::process::{ProcessDefinition, ProcessState, StageDefinition};
use crate::domain::process_draft::{ProcessDraft, SlaDraft, StageDraft};
use crate::domain::{ApprovalError, Processes, Revision};

pub async fn create(
    processes: &Processes,
    request: Request<pb::CreateProcessDefinitionRequest>,
) -> Result<Response<pb::CreateProcessDefinitionResponse>, Status> {
    let caller = caller(&request)?;
    let request = request.into_inner();
    let draft = ProcessDraft {
        key: request.key.clone(),
        name: request.name.clone(),
        description: request.description.clone(),
        stages: stage_drafts(&request.stages),
    };
    let owner = match &request.tenant {
        None => caller.tenant.clone(),
        Some(t) => match TenantId::parse(&t.division_code, &t.department) {
            Ok(owner) => owner,
            Err(problem) => {
                // Listed with whatever else is wrong with the request.
                let mut violations = vec![("tenant".to_string(), problem.to_string())];
                if let Err(ApprovalError::Invalid(more)) = draft.validate() {
                    violations.extend(more);
                }
                return Err(ApprovalError::Invalid(violations).into());
            }
        },
    };
    let process = processes
        .create(&caller, &request.request_id, owner, &draft)
        .await?;
    Ok(Response::new(pb::CreateProcessDefinitionResponse {
        process_definition: Some(process_message(&process)),
    }))
}

pub async fn revise(
    processes: &Processes,
    request: Request<pb::ReviseProcessDefinitionRequest>,
) -> Result<Response<pb::ReviseProcessDefinitionResponse>, Status> {
    let caller = caller(&request)?;
    let request = request.into_inner();
    let revision = Revision {
        id: request.id.clone(),
        base_version: request.base_version,
        name: request.name.clone(),
        description: request.description.clone(),
        stages: stage_drafts(&request.stages),
    };
    let process = processes
        .revise(&caller, &request.request_id, &revision)
        .await?;
    Ok(Response::new(pb::ReviseProcessDefinitionResponse {
        process_definition: Some(process_message(&process)),
    }))
}

pub async fn get(
    processes: &Processes,
    request: Request<pb::GetProcessDefinitionRequest>,
) -> Result<Response<pb::GetProcessDefinitionResponse>, Status> {
    let caller = caller(&request)?;
    let request = request.into_inner();
    let process = processes.get(&caller, &request.id, request.version).await?;
    Ok(Response::new(pb::GetProcessDefinitionResponse {
        process_definition: Some(process_message(&process)),
    }))
}

pub async fn list(
    processes: &Processes,
    request: Request<pb::ListProcessDefinitionsRequest>,
) -> Result<Response<pb::ListProcessDefinitionsResponse>, Status> {
    let caller = caller(&request)?;
    let request = request.into_inner();
    let page = page_query(request.page.as_ref())?;
    let tenant = optional_tenant("tenant", request.tenant.as_ref())?;
    let page = processes.list(&caller, tenant.as_ref(), &page).await?;
    Ok(Response::new(pb::ListProcessDefinitionsResponse {
        process_definitions: page.items.iter().map(process_message).collect(),
        page: Some(page_response(page.next_page_token)),
    }))
}

pub async fn versions(
    processes: &Processes,
    request: Request<pb::ListProcessDefinitionVersionsRequest>,
) -> Result<Response<pb::ListProcessDefinitionVersionsResponse>, Status> {
    let caller = caller(&request)?;
    let request = request.into_inner();
    let page = page_query(request.page.as_ref())?;
    let page = processes.versions(&caller, &request.id, &page).await?;
    Ok(Response::new(pb::ListProcessDefinitionVersionsResponse {
        process_definitions: page.items.iter().map(process_message).collect(),
        page: Some(page_response(page.next_page_token)),
    }))
}

pub async fn deprecate(
    processes: &Processes,
    request: Request<pb::DeprecateProcessDefinitionRequest>,
) -> Result<Response<pb::DeprecateProcessDefinitionResponse>, Status> {
    let caller = caller(&request)?;
    let request = request.into_inner();
    let process = processes
        .deprecate(&caller, &request.id, request.version, &request.reason)
        .await?;
    Ok(Response::new(pb::DeprecateProcessDefinitionResponse {
        process_definition: Some(process_message(&process)),
    }))
}

fn stage_drafts(stages: &[pb::StageDefinition]) -> Vec<StageDraft> {
    stages
        .iter()
        .map(|stage| StageDraft {
            key: stage.key.clone(),
            name: stage.name.clone(),
            kind: stage_kind(stage.kind()),
            assignees: stage
                .assignees
                .iter()
                .map(|a| assignee_draft(Some(a)))
                .collect(),
            required_approvals: stage.required_approvals,
            sla: stage.sla.as_ref().map(|sla| SlaDraft {
                duration_micros: duration_micros(sla.duration.as_ref()),
                remind_before_micros: duration_micros(sla.remind_before.as_ref()).unwrap_or(0),
                escalate_to: sla.escalate_to.as_ref().map(department_role_draft),
            }),
        })
        .collect()
}

fn stage_message(stage: &StageDefinition) -> pb::StageDefinition {
    pb::StageDefinition {
        key: stage.key.clone(),
        name: stage.name.clone(),
        kind: stage_kind_message(stage.kind) as i32,
        assignees: stage.assignees.iter().map(assignee_message).collect(),
        required_approvals: i32::try_from(stage.required_approvals).unwrap_or(i32::MAX),
        sla: stage.sla.as_ref().map(|sla| pb::StageSla {
            duration: Some(duration_message(sla.duration_micros)),
            remind_before: (sla.remind_before_micros > 0)
                .then(|| duration_message(sla.remind_before_micros)),
            escalate_to: sla.escalate_to.as_ref().map(department_role_message),
        }),
    }
}

/// The contract form of one process version.
pub fn process_message(process: &ProcessDefinition) -> pb::ProcessDefinition {
    pb::ProcessDefinition {
        id: process.id.to_string(),
        tenant: Some(tenant_message(&process.tenant)),
        key: process.key.as_str().to_string(),
        name: process.name.clone(),
        description: process.description.clone(),
        version: process.version,
        stages: process.stages.iter().map(stage_message).collect(),
        state: match process.state {
            ProcessState::Active => pb::ProcessDefinitionState::Active,
            ProcessState::Superseded => pb::ProcessDefinitionState::Superseded,
            ProcessState::Deprecated => pb::ProcessDefinitionState::Deprecated,
        } as i32,
        create_time: Some(timestamp(process.created_at)),
        created_by: Some(actor_message(&process.created_by)),
    }
}
