//! Moving an application other than forward: sending it back (退回) to an
//! earlier stage or to the applicant, the applicant's resubmission, and the
//! applicant's recall (撤回) before the current stage has acted.

use uuid::Uuid;

use super::checks::{MAX_MATERIALS_PER_REQUEST, check_form_data, check_materials};
use super::{
    Acting, Application, ApplicationStatus, EntryDraft, HistoryAction, HistoryDetail, StageStatus,
    SubmittedMaterial, TaskStatus, Transition, TransitionKind,
};
use crate::domain::error::ApprovalError;

/// Where an application is sent back to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReturnTarget {
    /// An earlier stage of the application's process version, by key.
    Stage(String),
    /// The applicant, for the listed materials.
    Applicant { requested_materials: Vec<String> },
}

impl Application {
    /// Sends the application back through the caller's task.
    pub fn send_back(
        &mut self,
        acting: &Acting<'_>,
        task_id: Option<Uuid>,
        comment: &str,
        target: &ReturnTarget,
    ) -> Result<Vec<Transition>, ApprovalError> {
        let (stage_index, task_index) = self.select_task(acting, task_id)?;
        let target_index = match target {
            ReturnTarget::Stage(key) => {
                let earlier: Vec<&str> = self.stages[..stage_index]
                    .iter()
                    .map(|s| s.key.as_str())
                    .collect();
                match self.stages[..stage_index]
                    .iter()
                    .position(|s| s.key == *key)
                {
                    Some(index) => Some(index),
                    None if earlier.is_empty() => {
                        return Err(ApprovalError::invalid(
                            "stage_key",
                            "the active stage is the first; send it back to the applicant instead",
                        ));
                    }
                    None => {
                        return Err(ApprovalError::invalid(
                            "stage_key",
                            format!("must be an earlier stage: one of {}", earlier.join(", ")),
                        ));
                    }
                }
            }
            ReturnTarget::Applicant {
                requested_materials,
            } => {
                let known: Vec<&str> = self
                    .terms
                    .materials
                    .iter()
                    .map(|m| m.code.as_str())
                    .collect();
                let mut violations = Vec::new();
                if requested_materials.len() > MAX_MATERIALS_PER_REQUEST {
                    violations.push((
                        "requested_materials".to_string(),
                        format!("at most {MAX_MATERIALS_PER_REQUEST} materials"),
                    ));
                }
                for (i, code) in requested_materials.iter().enumerate() {
                    if !known.contains(&code.as_str()) {
                        violations.push((
                            format!("requested_materials[{i}]"),
                            format!(
                                "{code} is not a material of item {}",
                                self.service_item_code
                            ),
                        ));
                    }
                }
                if !violations.is_empty() {
                    return Err(ApprovalError::Invalid(violations));
                }
                None
            }
        };

        let mut out = Vec::new();
        let stage = &mut self.stages[stage_index];
        let task = &mut stage.tasks[task_index];
        task.status = TaskStatus::Returned;
        task.acted_by = Some(acting.actor.clone());
        task.comment = comment.to_string();
        task.completed_at = Some(acting.now);
        let task_id = task.id;
        stage.cancel_pending(acting.now);
        stage.status = StageStatus::Returned;
        let stage_key = stage.key.clone();
        let detail = match target_index {
            Some(index) => {
                // Stages in between were approved; they run again when reached.
                for between in &mut self.stages[index + 1..stage_index] {
                    between.status = StageStatus::Pending;
                }
                self.activate(index, acting.now)?;
                HistoryDetail::Returned {
                    stage_key: Some(self.stages[index].key.clone()),
                    requested_materials: Vec::new(),
                }
            }
            None => {
                let mut requested = match target {
                    ReturnTarget::Applicant {
                        requested_materials,
                    } => requested_materials.clone(),
                    ReturnTarget::Stage(_) => Vec::new(),
                };
                let mut seen = std::collections::HashSet::new();
                requested.retain(|code| seen.insert(code.clone()));
                self.status = ApplicationStatus::Returned;
                self.current_stage = None;
                self.returned_from = Some(stage_index);
                self.requested_materials = requested.clone();
                HistoryDetail::Returned {
                    stage_key: None,
                    requested_materials: requested,
                }
            }
        };
        let entry = EntryDraft::new(HistoryAction::Returned)
            .stage(&stage_key)
            .task(task_id)
            .comment(comment)
            .detail(detail);
        self.record(TransitionKind::Returned, acting, entry, &mut out);
        Ok(out)
    }

    /// The applicant hands the application in again; the stage that sent it
    /// back becomes active with fresh tasks.
    pub fn resubmit(
        &mut self,
        acting: &Acting<'_>,
        form_data: Option<serde_json::Map<String, serde_json::Value>>,
        materials: &[super::MaterialDraft],
        comment: &str,
    ) -> Result<Vec<Transition>, ApprovalError> {
        let caller = acting.caller_or_denied()?;
        self.require_applicant(caller)?;
        let Some(stage_index) = self
            .returned_from
            .filter(|_| self.status == ApplicationStatus::Returned)
        else {
            return Err(ApprovalError::FailedPrecondition(format!(
                "application {} is {}, not returned to the applicant",
                self.id,
                self.status.name()
            )));
        };
        let mut violations = Vec::new();
        let handed_in = check_materials(&mut violations, &self.terms, materials, false);
        for code in &self.requested_materials {
            if !handed_in.iter().any(|m| m.material_code == *code) {
                violations.push((
                    "materials".to_string(),
                    format!("requested material {code} is missing"),
                ));
            }
        }
        if let Some(form_data) = &form_data {
            check_form_data(&mut violations, &self.terms, form_data);
        }
        if !violations.is_empty() {
            return Err(ApprovalError::Invalid(violations));
        }
        replace_materials(&mut self.materials, handed_in);
        if let Some(form_data) = form_data {
            self.form_data = form_data;
        }
        self.returned_from = None;
        self.requested_materials.clear();
        self.activate(stage_index, acting.now)?;
        let entry = EntryDraft::new(HistoryAction::Resubmitted)
            .stage(&self.stages[stage_index].key.clone())
            .comment(comment);
        let mut out = Vec::new();
        self.record(TransitionKind::Resubmitted, acting, entry, &mut out);
        Ok(out)
    }

    /// The applicant withdraws the application, while no task of the
    /// current stage has been decided.
    pub fn recall(
        &mut self,
        acting: &Acting<'_>,
        comment: &str,
    ) -> Result<Vec<Transition>, ApprovalError> {
        let caller = acting.caller_or_denied()?;
        self.require_applicant(caller)?;
        match self.status {
            ApplicationStatus::InProgress => {
                let index = self.active_stage_index()?;
                let stage = &self.stages[index];
                if let Some(decided) = stage.current_tasks().find(|t| t.status.is_decision()) {
                    return Err(ApprovalError::FailedPrecondition(format!(
                        "stage {} has already acted (task {} is {}); it can no longer be recalled",
                        stage.key,
                        decided.id,
                        decided.status.name()
                    )));
                }
            }
            ApplicationStatus::Returned => {}
            status => {
                return Err(ApprovalError::FailedPrecondition(format!(
                    "application {} is {}",
                    self.id,
                    status.name()
                )));
            }
        }
        for stage in &mut self.stages {
            stage.cancel_pending(acting.now);
            if matches!(
                stage.status,
                StageStatus::Pending | StageStatus::Active | StageStatus::Returned
            ) {
                stage.status = StageStatus::Cancelled;
            }
        }
        self.returned_from = None;
        self.finish(ApplicationStatus::Recalled, acting.now);
        let mut out = Vec::new();
        self.record(
            TransitionKind::Recalled,
            acting,
            EntryDraft::new(HistoryAction::Recalled).comment(comment),
            &mut out,
        );
        Ok(out)
    }
}

/// Each handed-in document replaces the current one of its material.
fn replace_materials(current: &mut Vec<SubmittedMaterial>, handed_in: Vec<SubmittedMaterial>) {
    for material in handed_in {
        match current
            .iter_mut()
            .find(|m| m.material_code == material.material_code)
        {
            Some(existing) => *existing = material,
            None => current.push(material),
        }
    }
}
