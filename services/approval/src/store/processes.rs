//! Process definition versions in the database: one row per version, the
//! newest flagged, each change with its event in the same transaction.

use std::sync::Arc;

use async_trait::async_trait;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, DatabaseConnection, IntoActiveModel, QueryFilter,
    QueryOrder, QuerySelect,
};
use tokio::sync::Notify;
use uuid::Uuid;
use zhongtai_audit::AuditRecord;
use zhongtai_kit::{Actor, Page, PageQuery, ScopedEntity, TenantId, TenantScope};

use super::entities::process_definition::{self, Column, Entity};
use super::write::{department, insert_once, is_unique_violation, record, storage, to_json};
use crate::domain::process::{ProcessDefinition, ProcessState, StageDefinition};
use crate::domain::{ApprovalError, CreateOutcome, ItemCode, ProcessRepository, Saved};
use crate::published;

/// [`ProcessRepository`] on sea-orm.
pub struct SeaProcesses {
    db: DatabaseConnection,
    outbox: Arc<Notify>,
}

impl SeaProcesses {
    /// `outbox` is poked after each commit that wrote events.
    pub fn new(db: DatabaseConnection, outbox: Arc<Notify>) -> Self {
        Self { db, outbox }
    }
}

#[async_trait]
impl ProcessRepository for SeaProcesses {
    async fn create(
        &self,
        scope: &TenantScope,
        request_id: &str,
        process: &ProcessDefinition,
        audit: &AuditRecord,
    ) -> Result<CreateOutcome<ProcessDefinition>, ApprovalError> {
        if scope.own() != &process.tenant {
            return Err(ApprovalError::Storage(format!(
                "refusing to store a process of {} in the scope of {}",
                process.tenant,
                scope.own()
            )));
        }
        if let Some(existing) = self.find_by_request(scope, request_id).await? {
            return Ok(CreateOutcome::AlreadyCreated(existing));
        }
        let existing = insert_once(
            &self.db,
            &self.outbox,
            to_model(process, request_id, true)?.into_active_model(),
            vec![published::process_created(process)],
            audit,
            || self.find_by_request(scope, request_id),
            || ApprovalError::ProcessKeyTaken {
                tenant: process.tenant.key(),
                key: process.key.as_str().to_string(),
            },
        )
        .await?;
        if let Some(existing) = existing {
            return Ok(CreateOutcome::AlreadyCreated(existing));
        }
        Ok(CreateOutcome::Created(process.clone()))
    }

    async fn find_by_request(
        &self,
        scope: &TenantScope,
        request_id: &str,
    ) -> Result<Option<ProcessDefinition>, ApprovalError> {
        Entity::find_in(scope)
            .filter(Column::RequestId.eq(request_id))
            .one(&self.db)
            .await
            .map_err(storage)?
            .map(from_model)
            .transpose()
    }

    async fn revise(
        &self,
        scope: &TenantScope,
        request_id: &str,
        previous: &ProcessDefinition,
        next: &ProcessDefinition,
        audit: &AuditRecord,
    ) -> Result<Saved, ApprovalError> {
        let txn = zhongtai_store::begin_write(&self.db)
            .await
            .map_err(storage)?;
        let retired = match previous.state {
            ProcessState::Deprecated => ProcessState::Deprecated,
            ProcessState::Active | ProcessState::Superseded => ProcessState::Superseded,
        };
        // Only the newest version can be revised: a concurrent revision
        // took the flag first, and this one changes nothing.
        let flagged = Entity::update_many_in(scope)
            .col_expr(Column::IsLatest, Expr::value(false))
            .col_expr(Column::State, Expr::value(state_name(retired)))
            .filter(Column::Id.eq(previous.id.to_string()))
            .filter(Column::Version.eq(previous.version))
            .filter(Column::IsLatest.eq(true))
            .exec(&txn)
            .await
            .map_err(storage)?;
        if flagged.rows_affected == 0 {
            return Ok(Saved::Conflict);
        }
        match to_model(next, request_id, true)?
            .into_active_model()
            .insert(&txn)
            .await
        {
            Ok(_) => {}
            Err(e) if is_unique_violation(&e) => return Ok(Saved::Conflict),
            Err(e) => return Err(storage(e)),
        }
        let events = vec![published::process_revised(next, previous.version)];
        record(&txn, events, audit).await?;
        txn.commit().await.map_err(storage)?;
        self.outbox.notify_one();
        Ok(Saved::Saved)
    }

    async fn get(
        &self,
        scope: &TenantScope,
        id: Uuid,
        version: Option<i64>,
    ) -> Result<Option<ProcessDefinition>, ApprovalError> {
        let query = Entity::find_in(scope).filter(Column::Id.eq(id.to_string()));
        let query = match version {
            Some(version) => query.filter(Column::Version.eq(version)),
            None => query.filter(Column::IsLatest.eq(true)),
        };
        query
            .one(&self.db)
            .await
            .map_err(storage)?
            .map(from_model)
            .transpose()
    }

    async fn list_latest(
        &self,
        scope: &TenantScope,
        tenant: Option<&TenantId>,
        page: &PageQuery,
    ) -> Result<Page<ProcessDefinition>, ApprovalError> {
        let mut query = Entity::find_in(scope)
            .filter(Column::IsLatest.eq(true))
            .order_by_asc(Column::Key)
            .order_by_asc(Column::Id);
        if let Some(tenant) = tenant {
            query = query
                .filter(Column::TenantDivision.eq(tenant.division.as_str()))
                .filter(Column::TenantDepartment.eq(department(tenant)));
        }
        if let Some(after) = &page.after {
            let Some((key, id)) = after.split_once('|') else {
                return Err(ApprovalError::invalid(
                    "page.page_token",
                    "is not a token this API issued",
                ));
            };
            query = query.filter(
                Condition::any().add(Column::Key.gt(key)).add(
                    Condition::all()
                        .add(Column::Key.eq(key))
                        .add(Column::Id.gt(id)),
                ),
            );
        }
        let rows = query
            .limit(page.fetch_limit())
            .all(&self.db)
            .await
            .map_err(storage)?;
        let items = rows
            .into_iter()
            .map(from_model)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Page::from_rows(items, page, |p| {
            format!("{}|{}", p.key.as_str(), p.id)
        }))
    }

    async fn list_versions(
        &self,
        scope: &TenantScope,
        id: Uuid,
        page: &PageQuery,
    ) -> Result<Page<ProcessDefinition>, ApprovalError> {
        let mut query = Entity::find_in(scope)
            .filter(Column::Id.eq(id.to_string()))
            .order_by_desc(Column::Version);
        if let Some(after) = &page.after {
            let before: i64 = after.parse().map_err(|_| {
                ApprovalError::invalid("page.page_token", "is not a token this API issued")
            })?;
            query = query.filter(Column::Version.lt(before));
        }
        let rows = query
            .limit(page.fetch_limit())
            .all(&self.db)
            .await
            .map_err(storage)?;
        let items = rows
            .into_iter()
            .map(from_model)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Page::from_rows(items, page, |p| p.version.to_string()))
    }

    async fn deprecate(
        &self,
        scope: &TenantScope,
        deprecated: &ProcessDefinition,
        reason: &str,
        actor: &Actor,
        audit: &AuditRecord,
    ) -> Result<Saved, ApprovalError> {
        let txn = zhongtai_store::begin_write(&self.db)
            .await
            .map_err(storage)?;
        let updated = Entity::update_many_in(scope)
            .col_expr(
                Column::State,
                Expr::value(state_name(ProcessState::Deprecated)),
            )
            .filter(Column::Id.eq(deprecated.id.to_string()))
            .filter(Column::Version.eq(deprecated.version))
            .filter(Column::State.ne(state_name(ProcessState::Deprecated)))
            .exec(&txn)
            .await
            .map_err(storage)?;
        if updated.rows_affected == 0 {
            return Ok(Saved::Conflict);
        }
        let events = vec![published::process_deprecated(deprecated, reason, actor)];
        record(&txn, events, audit).await?;
        txn.commit().await.map_err(storage)?;
        self.outbox.notify_one();
        Ok(Saved::Saved)
    }
}

fn state_name(state: ProcessState) -> &'static str {
    match state {
        ProcessState::Active => "active",
        ProcessState::Superseded => "superseded",
        ProcessState::Deprecated => "deprecated",
    }
}

fn to_model(
    process: &ProcessDefinition,
    request_id: &str,
    is_latest: bool,
) -> Result<process_definition::Model, ApprovalError> {
    Ok(process_definition::Model {
        id: process.id.to_string(),
        version: process.version,
        tenant_division: process.tenant.division.as_str().to_string(),
        tenant_department: department(&process.tenant),
        key: process.key.as_str().to_string(),
        name: process.name.clone(),
        description: process.description.clone(),
        stages: to_json(&process.stages)?,
        state: state_name(process.state).to_string(),
        is_latest,
        request_id: request_id.to_string(),
        created_by: to_json(&process.created_by)?,
        created_at: process.created_at,
    })
}

/// Rows are written only by [`to_model`]; one that does not read back is
/// corruption, reported as a storage failure.
fn from_model(model: process_definition::Model) -> Result<ProcessDefinition, ApprovalError> {
    let corrupt = |what: &str| {
        ApprovalError::Storage(format!(
            "process definition {} v{}: bad {what}",
            model.id, model.version
        ))
    };
    let stages: Vec<StageDefinition> =
        serde_json::from_value(model.stages.clone()).map_err(|_| corrupt("stages"))?;
    let created_by: Actor =
        serde_json::from_value(model.created_by.clone()).map_err(|_| corrupt("created_by"))?;
    let state = match model.state.as_str() {
        "active" => ProcessState::Active,
        "superseded" => ProcessState::Superseded,
        "deprecated" => ProcessState::Deprecated,
        _ => return Err(corrupt("state")),
    };
    Ok(ProcessDefinition {
        id: Uuid::parse_str(&model.id).map_err(|_| corrupt("id"))?,
        tenant: TenantId::parse(&model.tenant_division, &model.tenant_department)
            .map_err(|_| corrupt("tenant"))?,
        key: ItemCode::parse(&model.key).map_err(|_| corrupt("key"))?,
        name: model.name,
        description: model.description,
        version: model.version,
        stages,
        state,
        created_at: model.created_at,
        created_by,
    })
}
