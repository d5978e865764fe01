//! Lists over applications: those a viewer may see (through the parties
//! table, with its scope), and the tasks assigned to a holder (through the
//! task table, owned by the assignees' tenants).

use std::collections::HashMap;

use sea_orm::{
    ColumnTrait, Condition, JoinType, QueryFilter, QueryOrder, QuerySelect, RelationTrait,
};
use zhongtai_kit::{Page, PageQuery, ScopedEntity};

use super::application_rows::{NO_DEADLINE, from_row, uuid};
use super::applications::{SeaApplications, bad_token, parties_of};
use super::entities::{application, application_party, application_task};
use super::write::storage;
use crate::domain::application::{Application, Task, TaskStatus};
use crate::domain::{ApplicationFilter, ApprovalError, TaskHolder, Viewer};

/// Applications the viewer may see, newest first (ids are UUIDv7).
pub(super) async fn list(
    store: &SeaApplications,
    viewer: &Viewer,
    filter: &ApplicationFilter,
    page: &PageQuery,
) -> Result<Page<Application>, ApprovalError> {
    let mut query = parties_of(viewer)
        .select_only()
        .column(application_party::Column::ApplicationId)
        .distinct()
        .join(
            JoinType::InnerJoin,
            application_party::Relation::Application.def(),
        )
        .order_by_desc(application_party::Column::ApplicationId);
    if !filter.statuses.is_empty() {
        let names: Vec<&str> = filter.statuses.iter().map(|s| s.name()).collect();
        query = query.filter(application::Column::Status.is_in(names));
    }
    if let Some(item) = filter.service_item_id {
        query = query.filter(application::Column::ServiceItemId.eq(item.to_string()));
    }
    if let Some(subject) = &filter.applicant_subject {
        query = query.filter(application::Column::SubmittedBy.eq(subject.as_str()));
    }
    if let Some(service) = &filter.origin_service {
        query = query.filter(application::Column::OriginService.eq(service.as_str()));
    }
    if let Some(after) = &page.after {
        uuid(after).map_err(|_| bad_token())?;
        query = query.filter(application_party::Column::ApplicationId.lt(after.as_str()));
    }
    let ids: Vec<String> = query
        .limit(page.fetch_limit())
        .into_tuple()
        .all(&store.db)
        .await
        .map_err(storage)?;
    let mut loaded = load_many(store, viewer, &ids).await?;
    let applications = ids.iter().filter_map(|id| loaded.remove(id)).collect();
    Ok(Page::from_rows(applications, page, |a: &Application| {
        a.id.to_string()
    }))
}

/// The applications `ids` the viewer may see, by id.
async fn load_many(
    store: &SeaApplications,
    viewer: &Viewer,
    ids: &[String],
) -> Result<HashMap<String, Application>, ApprovalError> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let rows = parties_of(viewer)
        .filter(application_party::Column::ApplicationId.is_in(ids.iter().map(String::as_str)))
        .find_also_related(application::Entity)
        .all(&store.db)
        .await
        .map_err(storage)?;
    let mut found = HashMap::new();
    for (party, row) in rows {
        if found.contains_key(&party.application_id) {
            continue;
        }
        if let Some(row) = row {
            found.insert(party.application_id, from_row(row)?);
        }
    }
    Ok(found)
}

/// Tasks assigned to a department role the holder holds in its tenant, or
/// to the holder by name; soonest due first, then by id.
pub(super) async fn tasks_of(
    store: &SeaApplications,
    holder: &TaskHolder,
    statuses: &[TaskStatus],
    page: &PageQuery,
) -> Result<Page<(Task, Application)>, ApprovalError> {
    use application_task::Column;
    let as_user = Condition::all()
        .add(Column::AssigneeUser.ne(""))
        .add(Column::AssigneeUser.eq(holder.subject.as_str()));
    let roles: Vec<&str> = holder.roles.iter().map(|r| r.as_str()).collect();
    let as_role = Condition::all()
        .add(Column::AssigneeUser.eq(""))
        .add(Column::AssigneeRole.is_in(roles));
    let names: Vec<&str> = statuses.iter().map(|s| s.name()).collect();
    let mut query = application_task::Entity::find_in_or_shared(&holder.scope, as_user.clone())
        .filter(Condition::any().add(as_role).add(as_user))
        .filter(Column::Status.is_in(names))
        .order_by_asc(Column::DueOrder)
        .order_by_asc(Column::Id);
    if let Some(after) = &page.after {
        let (order, id) = after
            .split_once('|')
            .and_then(|(order, id)| Some((order.parse::<i64>().ok()?, id)))
            .ok_or_else(bad_token)?;
        query = query.filter(
            Condition::any().add(Column::DueOrder.gt(order)).add(
                Condition::all()
                    .add(Column::DueOrder.eq(order))
                    .add(Column::Id.gt(id)),
            ),
        );
    }
    let rows = query
        .limit(page.fetch_limit())
        .all(&store.db)
        .await
        .map_err(storage)?;
    let ids: Vec<String> = rows.iter().map(|r| r.application_id.clone()).collect();
    let viewer = Viewer {
        scope: holder.scope.clone(),
        subject: holder.subject.clone(),
    };
    let applications = load_many(store, &viewer, &ids).await?;
    let mut tasks = Vec::new();
    for row in &rows {
        let Some(application) = applications.get(&row.application_id) else {
            continue;
        };
        let Some(task) = application.task(uuid(&row.id)?) else {
            continue;
        };
        tasks.push((task.clone(), application.clone()));
    }
    Ok(Page::from_rows(tasks, page, |(task, _)| {
        let order = task.due_at.map_or(NO_DEADLINE, |at| at.timestamp_micros());
        format!("{order}|{}", task.id)
    }))
}
