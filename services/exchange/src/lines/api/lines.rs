//! CreateLine, GetLine, UpdateLine, PauseLine, ResumeLine, DeleteLine.

use chrono::Utc;
use tonic::{Request, Response, Status};
use uuid::Uuid;
use zhongtai_contracts::exchange::v1 as pb;
use zhongtai_kit::auth::caller;
use zhongtai_kit::{ApiError, Caller, Validator};

use super::{LineHandlers, id_of, optional_id, request_id};
use crate::domain::{Line, SnapshotProgress, SourceSpec};
use crate::lines::convert::{heartbeat_ms, line_message, source, source_table};
use crate::lines::domain::definition::{
    HEARTBEAT_MAX_MS, HEARTBEAT_MIN_MS, description_problem, name_problem, source_violations,
    tables_violations,
};
use crate::lines::domain::states;

const REASON_MAX_CHARS: usize = 500;

impl LineHandlers {
    pub async fn create_line(
        &self,
        request: Request<pb::CreateLineRequest>,
    ) -> Result<Response<pb::CreateLineResponse>, Status> {
        let caller = caller(&request)?;
        let request = request.into_inner();
        let mut v = Validator::new();
        let request_id = request_id(&mut v, &request.request_id);
        let Some(given) = request.line else {
            return Err(ApiError::invalid_field("line", "is required").into());
        };
        if let Some(problem) = name_problem(&given.name) {
            v.violation("line.name", problem);
        }
        if let Some(problem) = description_problem(&given.description) {
            v.violation("line.description", problem);
        }
        let resource_id = optional_id(&mut v, "line.resource_id", &given.resource_id);
        let spec = match given.source.as_ref().map(source) {
            None => {
                v.violation(
                    "line.source",
                    "one of log_source, push_source or enclave_source is required",
                );
                None
            }
            Some(Err((field, problem))) => {
                v.violation(field, problem);
                None
            }
            Some(Ok(spec)) => {
                for (field, problem) in source_violations("line", &spec) {
                    v.violation(field, problem);
                }
                Some(spec)
            }
        };
        v.finish()?;
        let Some(spec) = spec else {
            return Err(ApiError::invalid_field("line.source", "is required").into());
        };
        self.check_enclave_source(&caller, &spec).await?;
        let now = Utc::now();
        let line = Line {
            id: Uuid::now_v7(),
            owner: caller.tenant.clone(),
            name: given.name,
            description: given.description,
            state: states::initial_state(&spec),
            state_reason: String::new(),
            snapshot: SnapshotProgress {
                state: states::initial_snapshot_state(&spec),
                rows_total: -1,
                ..SnapshotProgress::default()
            },
            source: spec,
            resource_id,
            version: 1,
            created_at: now,
            updated_at: now,
        };
        let line = self
            .store
            .create_line(line, request_id, &caller, self.queue_delivery_available)
            .await?;
        Ok(Response::new(pb::CreateLineResponse {
            line: Some(line_message(&line)),
        }))
    }

    /// An enclave line reads one of its owner's enclaves, never another's.
    async fn check_enclave_source(
        &self,
        caller: &Caller,
        spec: &SourceSpec,
    ) -> Result<(), ApiError> {
        if let SourceSpec::Enclave(enclave) = spec
            && !self
                .enclaves
                .belongs_to(enclave.enclave_id, &caller.tenant)
                .await?
        {
            return Err(ApiError::failed_precondition(format!(
                "enclave {} is not an active enclave of {}",
                enclave.enclave_id, caller.tenant
            )));
        }
        Ok(())
    }

    pub async fn get_line(
        &self,
        request: Request<pb::GetLineRequest>,
    ) -> Result<Response<pb::GetLineResponse>, Status> {
        let caller = caller(&request)?;
        let id = id_of("id", &request.get_ref().id)?;
        let line = self.visible_line(&caller, id).await?;
        Ok(Response::new(pb::GetLineResponse {
            line: Some(line_message(&line)),
        }))
    }

    pub async fn update_line(
        &self,
        request: Request<pb::UpdateLineRequest>,
    ) -> Result<Response<pb::UpdateLineResponse>, Status> {
        let caller = caller(&request)?;
        let request = request.into_inner();
        let Some(given) = request.line else {
            return Err(ApiError::invalid_field("line", "is required").into());
        };
        let paths = request
            .update_mask
            .map(|mask| mask.paths)
            .unwrap_or_default();
        let mut v = Validator::new();
        let id = super::required_id(&mut v, "line.id", &given.id);
        if paths.is_empty() {
            v.violation("update_mask", "name at least one field to change");
        }
        v.max_items("update_mask.paths", paths.len(), 8);
        v.finish()?;
        let id = id.ok_or_else(|| ApiError::invalid_field("line.id", "is required"))?;
        let stored = self.owned_line(&caller, id).await?;
        states::ensure_changeable(&stored)?;
        if given.version != 0 && given.version != stored.version {
            return Err(ApiError::version_conflict("line", &id.to_string()).into());
        }
        let updated = apply_mask(&stored, &given, &paths)?;
        let line = self
            .store
            .update_line(updated, &paths, &caller, self.queue_delivery_available)
            .await?;
        Ok(Response::new(pb::UpdateLineResponse {
            line: Some(line_message(&line)),
        }))
    }

    pub async fn pause_line(
        &self,
        request: Request<pb::PauseLineRequest>,
    ) -> Result<Response<pb::PauseLineResponse>, Status> {
        let caller = caller(&request)?;
        let request = request.into_inner();
        let mut v = Validator::new();
        let id = super::required_id(&mut v, "id", &request.id);
        v.max_chars("reason", &request.reason, REASON_MAX_CHARS);
        v.finish()?;
        let id = id.ok_or_else(|| ApiError::invalid_field("id", "is required"))?;
        let line = self.owned_line(&caller, id).await?;
        let line = match states::pause(&line)? {
            None => line,
            Some(state) => {
                let reason = if request.reason.trim().is_empty() {
                    format!("paused by {}", caller.subject)
                } else {
                    request.reason
                };
                self.store
                    .change_line_state(&line, state, &reason, &caller, false)
                    .await?
            }
        };
        Ok(Response::new(pb::PauseLineResponse {
            line: Some(self.with_progress(line).await?),
        }))
    }

    pub async fn resume_line(
        &self,
        request: Request<pb::ResumeLineRequest>,
    ) -> Result<Response<pb::ResumeLineResponse>, Status> {
        let caller = caller(&request)?;
        let id = id_of("id", &request.get_ref().id)?;
        let line = self.owned_line(&caller, id).await?;
        let line = match states::resume(&line, line.snapshot.state)? {
            None => line,
            Some(state) => {
                self.store
                    .change_line_state(&line, state, "", &caller, false)
                    .await?
            }
        };
        Ok(Response::new(pb::ResumeLineResponse {
            line: Some(self.with_progress(line).await?),
        }))
    }

    pub async fn delete_line(
        &self,
        request: Request<pb::DeleteLineRequest>,
    ) -> Result<Response<pb::DeleteLineResponse>, Status> {
        let caller = caller(&request)?;
        let request = request.into_inner();
        let id = id_of("id", &request.id)?;
        let line = self.owned_line(&caller, id).await?;
        let live = self.store.live_subscription_count(line.id).await?;
        let line = match states::delete(&line, live, request.force)? {
            None => line,
            Some(state) => {
                let reason = format!("deleted by {}", caller.subject);
                self.store
                    .change_line_state(&line, state, &reason, &caller, request.force)
                    .await?
            }
        };
        Ok(Response::new(pb::DeleteLineResponse {
            line: Some(self.with_progress(line).await?),
        }))
    }

    async fn with_progress(&self, mut line: Line) -> Result<pb::Line, ApiError> {
        line.snapshot = self.store.line_runtime(line.id).await?.snapshot;
        Ok(line_message(&line))
    }
}

/// The stored line with the masked fields taken from `given`; every
/// problem is an INVALID_ARGUMENT naming its field.
fn apply_mask(stored: &Line, given: &pb::Line, paths: &[String]) -> Result<Line, ApiError> {
    let mut v = Validator::new();
    let mut line = stored.clone();
    for (i, path) in paths.iter().enumerate() {
        match (path.as_str(), &mut line.source, &given.source) {
            ("description", _, _) => {
                if let Some(problem) = description_problem(&given.description) {
                    v.violation("line.description", problem);
                }
                line.description = given.description.clone();
            }
            ("resource_id", _, _) => {
                line.resource_id = optional_id(&mut v, "line.resource_id", &given.resource_id);
            }
            ("log_source.tables", SourceSpec::Log(log), Some(pb::line::Source::LogSource(new))) => {
                log.tables = new.tables.iter().map(source_table).collect();
            }
            (
                "log_source.heartbeat_interval",
                SourceSpec::Log(log),
                Some(pb::line::Source::LogSource(new)),
            ) => {
                let ms = heartbeat_ms(new.heartbeat_interval.as_ref());
                if !(HEARTBEAT_MIN_MS..=HEARTBEAT_MAX_MS).contains(&ms) {
                    v.violation(
                        "line.log_source.heartbeat_interval",
                        "must be between 1 second and 10 minutes",
                    );
                }
                log.heartbeat_interval_ms = ms;
            }
            (
                "push_source.tables",
                SourceSpec::Push(push),
                Some(pb::line::Source::PushSource(new)),
            ) => {
                push.tables = new.tables.iter().map(source_table).collect();
            }
            ("log_source.tables" | "log_source.heartbeat_interval", SourceSpec::Log(_), _) => {
                v.violation("line.log_source", format!("is required to change {path}"));
            }
            ("push_source.tables", SourceSpec::Push(_), _) => {
                v.violation("line.push_source", format!("is required to change {path}"));
            }
            (
                "log_source.tables" | "log_source.heartbeat_interval" | "push_source.tables",
                _,
                _,
            ) => {
                v.violation(
                    format!("update_mask.paths[{i}]"),
                    format!("{path} does not apply to a {} line", stored.source.kind()),
                );
            }
            _ => v.violation(
                format!("update_mask.paths[{i}]"),
                format!(
                    "{path:?} cannot be changed; changeable: description, resource_id, \
                     log_source.tables, log_source.heartbeat_interval, push_source.tables"
                ),
            ),
        }
    }
    if paths.iter().any(|p| p.ends_with(".tables")) {
        let mut problems = Vec::new();
        match &line.source {
            SourceSpec::Log(log) => {
                tables_violations("line.log_source.tables", &log.tables, false, &mut problems)
            }
            SourceSpec::Push(push) => {
                tables_violations("line.push_source.tables", &push.tables, true, &mut problems)
            }
            SourceSpec::Enclave(_) => {}
        }
        for (field, problem) in problems {
            v.violation(field, problem);
        }
    }
    v.finish()?;
    Ok(line)
}
