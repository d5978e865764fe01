//! Service items in the database, with their events in the same transaction.

use std::sync::Arc;

use async_trait::async_trait;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, DatabaseConnection, IntoActiveModel, QueryFilter,
    QueryOrder, QuerySelect,
};
use tokio::sync::Notify;
use uuid::Uuid;
use zhongtai_audit::AuditRecord;
use zhongtai_kit::{Page, PageQuery, ScopedEntity, TenantId, TenantScope};

use super::entities::service_item::{self, Column, Entity};
use super::write::{department, insert_once, record, storage, to_json};
use crate::domain::{
    ApprovalError, CreateOutcome, FormField, ItemChange, ItemCode, ItemFilter, ItemKind,
    ItemLookup, ItemState, Material, ProcessRef, Saved, ServiceItem, ServiceItemRepository,
};
use crate::published;

/// [`ServiceItemRepository`] on sea-orm.
pub struct SeaServiceItems {
    db: DatabaseConnection,
    outbox: Arc<Notify>,
}

impl SeaServiceItems {
    /// `outbox` is poked after each commit that wrote events.
    pub fn new(db: DatabaseConnection, outbox: Arc<Notify>) -> Self {
        Self { db, outbox }
    }

    async fn find_by_request(
        &self,
        scope: &TenantScope,
        request_id: &str,
    ) -> Result<Option<ServiceItem>, ApprovalError> {
        Entity::find_in(scope)
            .filter(Column::RequestId.eq(request_id))
            .one(&self.db)
            .await
            .map_err(storage)?
            .map(from_model)
            .transpose()
    }
}

#[async_trait]
impl ServiceItemRepository for SeaServiceItems {
    async fn create(
        &self,
        scope: &TenantScope,
        request_id: &str,
        item: ServiceItem,
        audit: &AuditRecord,
    ) -> Result<CreateOutcome<ServiceItem>, ApprovalError> {
        if scope.own() != &item.tenant {
            return Err(ApprovalError::Storage(format!(
                "refusing to store an item of {} in the scope of {}",
                item.tenant,
                scope.own()
            )));
        }
        if let Some(existing) = self.find_by_request(scope, request_id).await? {
            return Ok(CreateOutcome::AlreadyCreated(existing));
        }
        let existing = insert_once(
            &self.db,
            &self.outbox,
            to_model(&item, request_id)?.into_active_model(),
            vec![published::item_created(&item)],
            audit,
            || self.find_by_request(scope, request_id),
            || ApprovalError::ItemCodeTaken {
                tenant: item.tenant.key(),
                code: item.code.as_str().to_string(),
            },
        )
        .await?;
        if let Some(existing) = existing {
            return Ok(CreateOutcome::AlreadyCreated(existing));
        }
        Ok(CreateOutcome::Created(item))
    }

    async fn get(
        &self,
        scope: &TenantScope,
        id: Uuid,
    ) -> Result<Option<ServiceItem>, ApprovalError> {
        Entity::find_in(scope)
            .filter(Column::Id.eq(id.to_string()))
            .one(&self.db)
            .await
            .map_err(storage)?
            .map(from_model)
            .transpose()
    }

    async fn list(
        &self,
        scope: &TenantScope,
        filter: &ItemFilter,
        page: &PageQuery,
    ) -> Result<Page<ServiceItem>, ApprovalError> {
        let mut query = Entity::find_in(scope).order_by_asc(Column::Id);
        if let Some(tenant) = &filter.tenant {
            query = query
                .filter(Column::TenantDivision.eq(tenant.division.as_str()))
                .filter(Column::TenantDepartment.eq(department(tenant)));
        }
        if let Some(state) = filter.state {
            query = query.filter(Column::State.eq(state_name(state)));
        }
        if let Some(kind) = filter.kind {
            query = query.filter(Column::Kind.eq(kind_name(kind)));
        }
        if let Some(after) = &page.after {
            query = query.filter(Column::Id.gt(after.as_str()));
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
        Ok(Page::from_rows(items, page, |item| item.id.to_string()))
    }

    async fn find_for_submission(
        &self,
        scope: &TenantScope,
        lookup: &ItemLookup,
    ) -> Result<Option<ServiceItem>, ApprovalError> {
        // Data-access items take applications from every tenant.
        let open = Condition::all().add(Column::Kind.eq(kind_name(ItemKind::DataAccess)));
        let query = Entity::find_in_or_shared(scope, open);
        let query = match lookup {
            ItemLookup::Id(id) => query.filter(Column::Id.eq(id.to_string())),
            ItemLookup::Key { tenant, code } => query
                .filter(Column::TenantDivision.eq(tenant.division.as_str()))
                .filter(Column::TenantDepartment.eq(department(tenant)))
                .filter(Column::Code.eq(code.as_str())),
        };
        query
            .one(&self.db)
            .await
            .map_err(storage)?
            .map(from_model)
            .transpose()
    }

    async fn update(
        &self,
        scope: &TenantScope,
        change: &ItemChange,
        audit: &AuditRecord,
    ) -> Result<Saved, ApprovalError> {
        let item = &change.item;
        let txn = zhongtai_store::begin_write(&self.db)
            .await
            .map_err(storage)?;
        let mut row = to_model(item, "")?.into_active_model().reset_all();
        // The request id stays the one the item was created with.
        row.request_id = sea_orm::ActiveValue::NotSet;
        row.id = sea_orm::ActiveValue::NotSet;
        let updated = Entity::update_many_in(scope)
            .set(row)
            .filter(Column::Id.eq(item.id.to_string()))
            .filter(Column::Version.eq(change.expected_version))
            .exec(&txn)
            .await
            .map_err(storage)?;
        if updated.rows_affected == 0 {
            return Ok(Saved::Conflict);
        }
        record(&txn, vec![published::item_updated(change)], audit).await?;
        txn.commit().await.map_err(storage)?;
        self.outbox.notify_one();
        Ok(Saved::Saved)
    }
}

fn state_name(state: ItemState) -> &'static str {
    match state {
        ItemState::Active => "active",
        ItemState::Suspended => "suspended",
        ItemState::Retired => "retired",
    }
}

fn kind_name(kind: ItemKind) -> &'static str {
    match kind {
        ItemKind::PublicService => "public_service",
        ItemKind::DataAccess => "data_access",
    }
}

fn to_model(item: &ServiceItem, request_id: &str) -> Result<service_item::Model, ApprovalError> {
    Ok(service_item::Model {
        id: item.id.to_string(),
        tenant_division: item.tenant.division.as_str().to_string(),
        tenant_department: department(&item.tenant),
        code: item.code.as_str().to_string(),
        name: item.name.clone(),
        description: item.description.clone(),
        materials: to_json(&item.materials)?,
        certificate_type: item.certificate_type.clone(),
        process: item.process.as_ref().map(to_json).transpose()?,
        form_fields: to_json(&item.form_fields)?,
        kind: kind_name(item.kind).to_string(),
        state: state_name(item.state).to_string(),
        version: item.version,
        request_id: request_id.to_string(),
        created_at: item.created_at,
        updated_at: item.updated_at,
    })
}

/// Rows are written only by [`to_model`]; a row that does not read back is
/// corruption, reported as a storage failure rather than a panic.
fn from_model(model: service_item::Model) -> Result<ServiceItem, ApprovalError> {
    let corrupt =
        |what: &str| ApprovalError::Storage(format!("service item {}: bad {what}", model.id));
    let materials: Vec<Material> =
        serde_json::from_value(model.materials.clone()).map_err(|_| corrupt("materials"))?;
    let form_fields: Vec<FormField> =
        serde_json::from_value(model.form_fields.clone()).map_err(|_| corrupt("form_fields"))?;
    let process: Option<ProcessRef> = model
        .process
        .clone()
        .map(serde_json::from_value)
        .transpose()
        .map_err(|_| corrupt("process"))?;
    let kind = match model.kind.as_str() {
        "public_service" => ItemKind::PublicService,
        "data_access" => ItemKind::DataAccess,
        _ => return Err(corrupt("kind")),
    };
    let state = match model.state.as_str() {
        "active" => ItemState::Active,
        "suspended" => ItemState::Suspended,
        "retired" => ItemState::Retired,
        _ => return Err(corrupt("state")),
    };
    Ok(ServiceItem {
        id: Uuid::parse_str(&model.id).map_err(|_| corrupt("id"))?,
        tenant: TenantId::parse(&model.tenant_division, &model.tenant_department)
            .map_err(|_| corrupt("tenant"))?,
        code: ItemCode::parse(&model.code).map_err(|_| corrupt("code"))?,
        name: model.name,
        description: model.description,
        materials,
        certificate_type: model.certificate_type,
        process,
        form_fields,
        kind,
        state,
        version: model.version,
        created_at: model.created_at,
        updated_at: model.updated_at,
    })
}
