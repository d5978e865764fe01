//! Applications in the database. A save is one transaction: the document
//! (only if its version is still the one read), the new history entries,
//! the task and party projections, one event per transition, the audit
//! record. Reads reach an application through its parties, with the
//! caller's scope.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ColumnTrait, Condition, DatabaseConnection, DatabaseTransaction, EntityTrait, IntoActiveModel,
    QueryFilter, QueryOrder, QuerySelect,
};
use tokio::sync::Notify;
use uuid::Uuid;
use zhongtai_audit::AuditRecord;
use zhongtai_kit::{Page, PageQuery, ScopedEntity, SystemPurpose, TenantScope};

use super::application_rows::{
    application_row, changed_columns, entry_from_row, from_row, handled_by, history_row,
    party_rows, task_rows,
};
use super::entities::{application, application_history, application_party, application_task};
use super::write::{department, is_unique_violation, record, storage};
use crate::domain::application::{Application, HistoryEntry, Task, TaskStatus, Transition};
use crate::domain::{
    ApplicationFilter, ApplicationRepository, ApprovalError, CreateOutcome, Saved, TaskHolder,
    Viewer,
};
use crate::published;

/// [`ApplicationRepository`] on sea-orm.
pub struct SeaApplications {
    pub(super) db: DatabaseConnection,
    outbox: Arc<Notify>,
}

impl SeaApplications {
    /// `outbox` is poked after each commit that wrote events.
    pub fn new(db: DatabaseConnection, outbox: Arc<Notify>) -> Self {
        Self { db, outbox }
    }

    /// Everything a transition writes besides the application row.
    async fn write_children(
        &self,
        txn: &DatabaseTransaction,
        application: &Application,
        transitions: &[Transition],
        audit: &AuditRecord,
    ) -> Result<(), ApprovalError> {
        let entries = transitions
            .iter()
            .map(|t| history_row(application, &t.entry).map(IntoActiveModel::into_active_model))
            .collect::<Result<Vec<_>, _>>()?;
        if !entries.is_empty() {
            application_history::Entity::insert_many(entries)
                .exec_without_returning(txn)
                .await
                .map_err(storage)?;
        }
        let tasks: Vec<_> = task_rows(application)
            .into_iter()
            .map(IntoActiveModel::into_active_model)
            .collect();
        if !tasks.is_empty() {
            application_task::Entity::insert_many(tasks)
                .on_conflict(
                    OnConflict::column(application_task::Column::Id)
                        .update_columns([
                            application_task::Column::Status,
                            application_task::Column::DueTime,
                            application_task::Column::DueOrder,
                        ])
                        .to_owned(),
                )
                .exec_without_returning(txn)
                .await
                .map_err(storage)?;
        }
        // Once a party, always a party: whoever took part keeps seeing it.
        let parties: Vec<_> = party_rows(application)
            .into_iter()
            .map(IntoActiveModel::into_active_model)
            .collect();
        if !parties.is_empty() {
            application_party::Entity::insert_many(parties)
                .on_conflict(
                    OnConflict::column(application_party::Column::Id)
                        .do_nothing()
                        .to_owned(),
                )
                .exec_without_returning(txn)
                .await
                .map_err(storage)?;
        }
        let events = transitions
            .iter()
            .map(published::application_event)
            .collect();
        record(txn, events, audit).await?;
        Ok(())
    }

    async fn commit(&self, txn: DatabaseTransaction) -> Result<Saved, ApprovalError> {
        txn.commit().await.map_err(storage)?;
        self.outbox.notify_one();
        Ok(Saved::Saved)
    }
}

/// Parties the viewer is: tenants in its scope, or itself by subject.
pub(super) fn parties_of(viewer: &Viewer) -> sea_orm::Select<application_party::Entity> {
    let as_user = Condition::all()
        .add(application_party::Column::PartySubject.ne(""))
        .add(application_party::Column::PartySubject.eq(viewer.subject.as_str()));
    application_party::Entity::find_in_or_shared(&viewer.scope, as_user)
}

#[async_trait]
impl ApplicationRepository for SeaApplications {
    async fn find_submission(
        &self,
        applicant: &TenantScope,
        subject: &str,
        request_id: &str,
    ) -> Result<Option<Application>, ApprovalError> {
        let own = applicant.own();
        let found = application_party::Entity::find_in(applicant)
            .find_also_related(application::Entity)
            .filter(application::Column::ApplicantDivision.eq(own.division.as_str()))
            .filter(application::Column::ApplicantDepartment.eq(department(own)))
            .filter(application::Column::SubmittedBy.eq(subject))
            .filter(application::Column::RequestId.eq(request_id))
            .one(&self.db)
            .await
            .map_err(storage)?;
        found.and_then(|(_, row)| row).map(from_row).transpose()
    }

    async fn insert(
        &self,
        application: &Application,
        transitions: &[Transition],
        audit: &AuditRecord,
    ) -> Result<CreateOutcome<()>, ApprovalError> {
        let txn = zhongtai_store::begin_write(&self.db)
            .await
            .map_err(storage)?;
        let row = application_row(application)?.into_active_model();
        match application::Entity::insert(row)
            .exec_without_returning(&txn)
            .await
        {
            Ok(_) => {}
            Err(e) if is_unique_violation(&e) => return Ok(CreateOutcome::AlreadyCreated(())),
            Err(e) => return Err(storage(e)),
        }
        self.write_children(&txn, application, transitions, audit)
            .await?;
        self.commit(txn).await?;
        Ok(CreateOutcome::Created(()))
    }

    async fn load(&self, viewer: &Viewer, id: Uuid) -> Result<Option<Application>, ApprovalError> {
        let found = parties_of(viewer)
            .filter(application_party::Column::ApplicationId.eq(id.to_string()))
            .find_also_related(application::Entity)
            .one(&self.db)
            .await
            .map_err(storage)?;
        found.and_then(|(_, row)| row).map(from_row).transpose()
    }

    async fn entries_of_request(
        &self,
        application: &Application,
        request_id: &str,
    ) -> Result<Vec<HistoryEntry>, ApprovalError> {
        application_history::Entity::find_in(&handled_by(application))
            .filter(application_history::Column::ApplicationId.eq(application.id.to_string()))
            .filter(application_history::Column::RequestId.eq(request_id))
            .order_by_asc(application_history::Column::Sequence)
            .all(&self.db)
            .await
            .map_err(storage)?
            .into_iter()
            .map(entry_from_row)
            .collect()
    }

    async fn save(
        &self,
        application: &Application,
        expected_version: i64,
        transitions: &[Transition],
        audit: &AuditRecord,
    ) -> Result<Saved, ApprovalError> {
        let txn = zhongtai_store::begin_write(&self.db)
            .await
            .map_err(storage)?;
        let updated = application::Entity::update_many_in(&handled_by(application))
            .set(changed_columns(application)?)
            .filter(application::Column::Id.eq(application.id.to_string()))
            .filter(application::Column::Version.eq(expected_version))
            .exec(&txn)
            .await
            .map_err(storage)?;
        if updated.rows_affected == 0 {
            return Ok(Saved::Conflict);
        }
        self.write_children(&txn, application, transitions, audit)
            .await?;
        self.commit(txn).await
    }

    async fn history(
        &self,
        application: &Application,
        page: &PageQuery,
    ) -> Result<Page<HistoryEntry>, ApprovalError> {
        let mut query = application_history::Entity::find_in(&handled_by(application))
            .filter(application_history::Column::ApplicationId.eq(application.id.to_string()))
            .order_by_asc(application_history::Column::Sequence);
        if let Some(after) = &page.after {
            let after: i64 = after.parse().map_err(|_| bad_token())?;
            query = query.filter(application_history::Column::Sequence.gt(after));
        }
        let entries = query
            .limit(page.fetch_limit())
            .all(&self.db)
            .await
            .map_err(storage)?
            .into_iter()
            .map(entry_from_row)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Page::from_rows(entries, page, |e| e.sequence.to_string()))
    }

    async fn list(
        &self,
        viewer: &Viewer,
        filter: &ApplicationFilter,
        page: &PageQuery,
    ) -> Result<Page<Application>, ApprovalError> {
        super::application_queries::list(self, viewer, filter, page).await
    }

    async fn tasks_of(
        &self,
        holder: &TaskHolder,
        statuses: &[TaskStatus],
        page: &PageQuery,
    ) -> Result<Page<(Task, Application)>, ApprovalError> {
        super::application_queries::tasks_of(self, holder, statuses, page).await
    }

    async fn due(&self, now: DateTime<Utc>, limit: u64) -> Result<Vec<Application>, ApprovalError> {
        application::Entity::find_for_system(SystemPurpose::TIMER)
            .filter(
                Condition::any()
                    .add(application::Column::RemindTime.lte(now))
                    .add(application::Column::DueTime.lte(now)),
            )
            .order_by_asc(application::Column::UpdatedAt)
            .limit(limit)
            .all(&self.db)
            .await
            .map_err(storage)?
            .into_iter()
            .map(from_row)
            .collect()
    }

    async fn save_for_timer(
        &self,
        application: &Application,
        expected_version: i64,
        transitions: &[Transition],
        audit: &AuditRecord,
    ) -> Result<Saved, ApprovalError> {
        let txn = zhongtai_store::begin_write(&self.db)
            .await
            .map_err(storage)?;
        let updated = application::Entity::update_many_for_system(SystemPurpose::TIMER)
            .set(changed_columns(application)?)
            .filter(application::Column::Id.eq(application.id.to_string()))
            .filter(application::Column::Version.eq(expected_version))
            .exec(&txn)
            .await
            .map_err(storage)?;
        if updated.rows_affected == 0 {
            return Ok(Saved::Conflict);
        }
        self.write_children(&txn, application, transitions, audit)
            .await?;
        self.commit(txn).await
    }
}

pub(super) fn bad_token() -> ApprovalError {
    ApprovalError::invalid("page.page_token", "is not a token this API issued")
}
