//! Submitting an application: what the applicant hands in is checked
//! against the item (materials, form) and the process (slot bindings), every
//! problem listed at once; then the first stage becomes active.

use uuid::Uuid;
use zhongtai_kit::TenantId;

use super::checks::{check_bindings, check_form_data, check_holder, check_materials, check_origin};
use super::{
    Acting, Applicant, Application, ApplicationStatus, EntryDraft, ExternalRef, HistoryAction,
    IdDocumentType, ItemTerms, StageInstance, StageStatus, SubmittedMaterial, Transition,
    TransitionKind,
};
use crate::domain::assignee::DepartmentRoleDraft;
use crate::domain::error::ApprovalError;
use crate::domain::process::ProcessDefinition;
use crate::domain::service_item::ServiceItem;

/// How the request names the item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ItemSelector {
    Id(String),
    /// The owning tenant (`None` when unset) and the item's code.
    Key {
        tenant: Option<(String, String)>,
        code: String,
    },
    Missing,
}

/// A person or organisation as a request describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HolderDraft {
    Person {
        name: String,
        id_type: Option<IdDocumentType>,
        id_number: String,
    },
    Organization {
        name: String,
        unified_social_credit_code: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ApplicantDraft {
    pub holder: Option<HolderDraft>,
    /// `None` (or an empty division): the caller's tenant.
    pub tenant: Option<(String, String)>,
    pub contact: String,
}

/// A document as a request describes it.
pub type MaterialDraft = SubmittedMaterial;
/// An origin as a request describes it.
pub type OriginDraft = ExternalRef;

/// What an applicant hands in, not yet checked.
#[derive(Debug, Clone, PartialEq)]
pub struct SubmissionDraft {
    pub request_id: String,
    pub item: ItemSelector,
    pub applicant: ApplicantDraft,
    pub form_data: serde_json::Map<String, serde_json::Value>,
    pub materials: Vec<MaterialDraft>,
    pub origin: Option<OriginDraft>,
    /// In request order, for stable messages.
    pub bindings: Vec<(String, DepartmentRoleDraft)>,
}

impl Application {
    /// A new application of `item` on `process`, its first stage active:
    /// IN_PROGRESS at version 1 with its SUBMITTED entry.
    pub fn submit(
        acting: &Acting<'_>,
        applicant_tenant: TenantId,
        item: &ServiceItem,
        process: &ProcessDefinition,
        draft: &SubmissionDraft,
    ) -> Result<(Application, Vec<Transition>), ApprovalError> {
        let terms = ItemTerms {
            kind: item.kind,
            materials: item.materials.clone(),
            form_fields: item.form_fields.clone(),
        };
        let mut violations = Vec::new();
        let holder = check_holder(&mut violations, draft.applicant.holder.as_ref());
        if draft.applicant.contact.chars().count() > 200 {
            violations.push((
                "applicant.contact".into(),
                "must be at most 200 characters".into(),
            ));
        }
        let materials = check_materials(&mut violations, &terms, &draft.materials, true);
        check_form_data(&mut violations, &terms, &draft.form_data);
        check_origin(&mut violations, draft.origin.as_ref());
        let bindings = check_bindings(&mut violations, process, &draft.bindings);
        if !violations.is_empty() {
            return Err(ApprovalError::Invalid(violations));
        }

        let mut application = Application {
            id: Uuid::now_v7(),
            tenant: item.tenant.clone(),
            service_item_id: item.id,
            service_item_code: item.code.as_str().to_string(),
            service_item_version: item.version,
            process_definition_id: process.id,
            process_version: process.version,
            applicant: Applicant {
                holder,
                submitted_by: acting.actor.clone(),
                tenant: applicant_tenant,
                contact: draft.applicant.contact.clone(),
            },
            form_data: draft.form_data.clone(),
            materials,
            origin: draft.origin.clone(),
            assignee_bindings: bindings,
            status: ApplicationStatus::InProgress,
            current_stage: None,
            stages: process
                .stages
                .iter()
                .map(|stage| StageInstance {
                    key: stage.key.clone(),
                    name: stage.name.clone(),
                    kind: stage.kind,
                    required_approvals: stage.required_approvals,
                    assignees: stage.assignees.clone(),
                    sla: stage.sla.clone(),
                    status: StageStatus::Pending,
                    tasks: Vec::new(),
                    started_at: None,
                    due_at: None,
                    remind_at: None,
                    completed_at: None,
                    escalated: false,
                    reminded: false,
                    activation: 0,
                })
                .collect(),
            certificate_type: item.certificate_type.clone(),
            request_id: draft.request_id.clone(),
            version: 0,
            created_at: acting.now,
            updated_at: acting.now,
            completed_at: None,
            terms,
            returned_from: None,
            requested_materials: Vec::new(),
            history_len: 0,
        };
        application.activate(0, acting.now)?;
        let mut out = Vec::new();
        let first = application.stages[0].key.clone();
        application.record(
            TransitionKind::Submitted,
            acting,
            EntryDraft::new(HistoryAction::Submitted).stage(&first),
            &mut out,
        );
        Ok((application, out))
    }
}
