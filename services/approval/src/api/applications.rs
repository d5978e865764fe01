//! Submitting and reading applications: requests to domain values,
//! applications and tasks to messages.

use tonic::{Request, Response, Status};
use zhongtai_contracts::approval::v1 as pb;
use zhongtai_contracts::common::v1 as common;
use zhongtai_kit::Validator;
use zhongtai_kit::auth::caller;
use zhongtai_kit::proto::{page_query, page_response};

use super::convert::{
    application_message, application_status, department_role_draft, history_entry_message,
    id_document_type, task_message, task_status,
};
use super::form_data::json_from_struct;
use crate::domain::application::{
    ApplicantDraft, ExternalRef, HolderDraft, ItemSelector, SubmissionDraft, SubmittedMaterial,
};
use crate::domain::{ApplicationFilter, Applications};

pub async fn submit(
    applications: &Applications,
    request: Request<pb::SubmitApplicationRequest>,
) -> Result<Response<pb::SubmitApplicationResponse>, Status> {
    let caller = caller(&request)?;
    let request = request.into_inner();
    let item = if !request.service_item_id.is_empty() {
        ItemSelector::Id(request.service_item_id.clone())
    } else if let Some(key) = &request.service_item_key {
        ItemSelector::Key {
            tenant: key
                .tenant
                .as_ref()
                .map(|t| (t.division_code.clone(), t.department.clone())),
            code: key.code.clone(),
        }
    } else {
        ItemSelector::Missing
    };
    let applicant = request.applicant.as_ref();
    let mut bindings: Vec<_> = request
        .assignee_bindings
        .iter()
        .map(|(slot, role)| (slot.clone(), department_role_draft(role)))
        .collect();
    bindings.sort_by(|a, b| a.0.cmp(&b.0));
    let draft = SubmissionDraft {
        request_id: request.request_id.clone(),
        item,
        applicant: ApplicantDraft {
            holder: applicant
                .and_then(|a| a.holder.as_ref())
                .and_then(holder_draft),
            tenant: applicant
                .and_then(|a| a.tenant.as_ref())
                .map(|t| (t.division_code.clone(), t.department.clone())),
            contact: applicant.map(|a| a.contact.clone()).unwrap_or_default(),
        },
        form_data: match &request.form_data {
            Some(form) => json_from_struct("form_data", form)?,
            None => serde_json::Map::new(),
        },
        materials: materials(&request.materials),
        origin: request.origin.as_ref().map(|o| ExternalRef {
            service: o.service.clone(),
            kind: o.kind.clone(),
            id: o.id.clone(),
        }),
        bindings,
    };
    let application = applications.submit(&caller, &draft).await?;
    Ok(Response::new(pb::SubmitApplicationResponse {
        application: Some(application_message(&application)),
    }))
}

pub async fn get(
    applications: &Applications,
    request: Request<pb::GetApplicationRequest>,
) -> Result<Response<pb::GetApplicationResponse>, Status> {
    let caller = caller(&request)?;
    let (application, history) = applications.get(&caller, &request.get_ref().id).await?;
    Ok(Response::new(pb::GetApplicationResponse {
        application: Some(application_message(&application)),
        history: history.iter().map(history_entry_message).collect(),
    }))
}

pub async fn list(
    applications: &Applications,
    request: Request<pb::ListApplicationsRequest>,
) -> Result<Response<pb::ListApplicationsResponse>, Status> {
    let caller = caller(&request)?;
    let request = request.into_inner();
    let page = page_query(request.page.as_ref())?;
    let mut v = Validator::new();
    let statuses = request
        .statuses()
        .enumerate()
        .filter_map(|(i, status)| {
            let status = application_status(status);
            if status.is_none() {
                v.violation(format!("statuses[{i}]"), "must be an application status");
            }
            status
        })
        .collect();
    let service_item_id = match request.service_item_id.as_str() {
        "" => None,
        id => v.parse(
            "service_item_id",
            uuid::Uuid::parse_str(id).map_err(|_| "must be a UUID"),
        ),
    };
    v.max_chars("applicant_subject", &request.applicant_subject, 128);
    v.max_chars("origin_service", &request.origin_service, 64);
    v.finish()?;
    let filter = ApplicationFilter {
        statuses,
        service_item_id,
        applicant_subject: non_empty(&request.applicant_subject),
        origin_service: non_empty(&request.origin_service),
    };
    let page = applications.list(&caller, &filter, &page).await?;
    Ok(Response::new(pb::ListApplicationsResponse {
        applications: page.items.iter().map(application_message).collect(),
        page: Some(page_response(page.next_page_token)),
    }))
}

pub async fn history(
    applications: &Applications,
    request: Request<pb::ListApplicationHistoryRequest>,
) -> Result<Response<pb::ListApplicationHistoryResponse>, Status> {
    let caller = caller(&request)?;
    let request = request.into_inner();
    let page = page_query(request.page.as_ref())?;
    let page = applications
        .history(&caller, &request.application_id, &page)
        .await?;
    Ok(Response::new(pb::ListApplicationHistoryResponse {
        entries: page.items.iter().map(history_entry_message).collect(),
        page: Some(page_response(page.next_page_token)),
    }))
}

pub async fn my_tasks(
    applications: &Applications,
    request: Request<pb::ListMyTasksRequest>,
) -> Result<Response<pb::ListMyTasksResponse>, Status> {
    let caller = caller(&request)?;
    let request = request.into_inner();
    let page = page_query(request.page.as_ref())?;
    let mut v = Validator::new();
    let statuses: Vec<_> = request
        .statuses()
        .enumerate()
        .filter_map(|(i, status)| {
            let status = task_status(status);
            if status.is_none() {
                v.violation(format!("statuses[{i}]"), "must be a task status");
            }
            status
        })
        .collect();
    v.finish()?;
    let page = applications.my_tasks(&caller, &statuses, &page).await?;
    Ok(Response::new(pb::ListMyTasksResponse {
        tasks: page
            .items
            .iter()
            .map(|(task, application)| pb::TaskSummary {
                task: Some(task_message(task)),
                application: Some(application_message(application)),
            })
            .collect(),
        page: Some(page_response(page.next_page_token)),
    }))
}

pub fn materials(materials: &[pb::SubmittedMaterial]) -> Vec<SubmittedMaterial> {
    materials
        .iter()
        .map(|m| SubmittedMaterial {
            material_code: m.material_code.clone(),
            document_uri: m.document_uri.clone(),
            sha256: m.sha256.clone(),
            media_type: m.media_type.clone(),
            size_bytes: m.size_bytes,
            file_name: m.file_name.clone(),
        })
        .collect()
}

fn holder_draft(holder: &common::Holder) -> Option<HolderDraft> {
    use common::holder::Holder as Kind;
    Some(match holder.holder.as_ref()? {
        Kind::Person(person) => HolderDraft::Person {
            name: person.name.clone(),
            id_type: id_document_type(person.id_type()),
            id_number: person.id_number.clone(),
        },
        Kind::Organization(organization) => HolderDraft::Organization {
            name: organization.name.clone(),
            unified_social_credit_code: organization.unified_social_credit_code.clone(),
        },
    })
}

fn non_empty(value: &str) -> Option<String> {
    (!value.is_empty()).then(|| value.to_string())
}
