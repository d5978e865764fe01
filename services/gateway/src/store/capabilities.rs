//! Capabilities in the database. They belong to the platform, not to a
//! tenant; who may change them is decided before a call reaches here.

use std::time::Duration;

use async_trait::async_trait;
use sea_orm::sea_query::Condition;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait,
    IntoActiveModel, QueryFilter, QueryOrder, QuerySelect,
};
use zhongtai_audit::AuditRecord;
use zhongtai_kit::{Page, PageQuery};

use super::entities::capability::{ActiveModel, Column, Entity, Model};
use super::shared::{
    after_pair, is_unique_violation, platform_wide, platform_wide_delete, platform_wide_update,
    record_change, storage,
};
use crate::domain::{
    BackendMethod, BodyBinding, Capability, CapabilityFilter, CapabilityName, CapabilityPriority,
    CapabilityRepository, GatewayError, HttpMethod, HttpRoute,
};

/// [`CapabilityRepository`] on sea-orm.
pub struct SeaCapabilities {
    db: DatabaseConnection,
}

impl SeaCapabilities {
    /// Capabilities stored in `db`.
    pub fn new(db: DatabaseConnection) -> Self {
        Self { db }
    }

    async fn created_with(&self, request_id: &str) -> Result<Option<Capability>, GatewayError> {
        platform_wide::<Entity>()
            .filter(Column::RequestId.eq(request_id))
            .one(&self.db)
            .await
            .map_err(storage)?
            .map(capability_from_row)
            .transpose()
    }
}

#[async_trait]
impl CapabilityRepository for SeaCapabilities {
    async fn create(
        &self,
        capability: &Capability,
        request_id: &str,
        audit: &AuditRecord,
    ) -> Result<Capability, GatewayError> {
        if let Some(existing) = self.created_with(request_id).await? {
            return Ok(existing);
        }
        let txn = zhongtai_store::begin_write(&self.db)
            .await
            .map_err(storage)?;
        if find(&txn, &capability.name, &capability.version)
            .await?
            .is_some()
        {
            return Err(GatewayError::AlreadyExists {
                kind: "capability",
                key: format!("{} {}", capability.name, capability.version),
            });
        }
        ensure_route_free(&txn, capability).await?;
        let mut row = capability_row(capability).into_active_model();
        row.request_id = sea_orm::ActiveValue::Set(Some(request_id.to_string()));
        if let Err(e) = Entity::insert(row).exec_without_returning(&txn).await {
            drop(txn);
            if is_unique_violation(&e)
                && let Some(existing) = self.created_with(request_id).await?
            {
                return Ok(existing);
            }
            return Err(if is_unique_violation(&e) {
                route_taken(capability)
            } else {
                storage(e)
            });
        }
        record_change(&txn, audit).await?;
        txn.commit().await.map_err(storage)?;
        Ok(capability.clone())
    }

    async fn get(
        &self,
        name: &CapabilityName,
        version: &str,
    ) -> Result<Option<Capability>, GatewayError> {
        find(&self.db, name, version).await
    }

    async fn versions(&self, name: &CapabilityName) -> Result<Vec<Capability>, GatewayError> {
        platform_wide::<Entity>()
            .filter(Column::Name.eq(name.as_str()))
            .all(&self.db)
            .await
            .map_err(storage)?
            .into_iter()
            .map(capability_from_row)
            .collect()
    }

    async fn list(
        &self,
        filter: &CapabilityFilter,
        page: &PageQuery,
    ) -> Result<Page<Capability>, GatewayError> {
        let mut query = platform_wide::<Entity>()
            .order_by_asc(Column::Name)
            .order_by_asc(Column::Version);
        if filter.published_only {
            query = query.filter(Column::Published.eq(true));
        }
        if let Some(service) = &filter.backend_service {
            query = query.filter(Column::BackendService.eq(service.as_str()));
        }
        if let Some(after) = &page.after {
            query = query.filter(after_pair(after, Column::Name, Column::Version)?);
        }
        let rows = query
            .limit(page.fetch_limit())
            .all(&self.db)
            .await
            .map_err(storage)?;
        let capabilities = rows
            .into_iter()
            .map(capability_from_row)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Page::from_rows(capabilities, page, |c| {
            format!("{} {}", c.name, c.version)
        }))
    }

    async fn save(
        &self,
        capability: &Capability,
        expected_revision: i64,
        audit: &AuditRecord,
    ) -> Result<Capability, GatewayError> {
        let txn = zhongtai_store::begin_write(&self.db)
            .await
            .map_err(storage)?;
        ensure_route_free(&txn, capability).await?;
        let mut row: ActiveModel = capability_row(capability).into_active_model().reset_all();
        row.name = sea_orm::ActiveValue::NotSet;
        row.version = sea_orm::ActiveValue::NotSet;
        row.request_id = sea_orm::ActiveValue::NotSet;
        row.created_at = sea_orm::ActiveValue::NotSet;
        let result = platform_wide_update::<Entity>()
            .set(row)
            .filter(Column::Name.eq(capability.name.as_str()))
            .filter(Column::Version.eq(capability.version.as_str()))
            .filter(Column::Revision.eq(expected_revision))
            .exec(&txn)
            .await
            .map_err(|e| {
                if is_unique_violation(&e) {
                    route_taken(capability)
                } else {
                    storage(e)
                }
            })?;
        if result.rows_affected != 1 {
            return Err(GatewayError::VersionConflict {
                kind: "capability",
                id: format!("{} {}", capability.name, capability.version),
            });
        }
        record_change(&txn, audit).await?;
        txn.commit().await.map_err(storage)?;
        Ok(capability.clone())
    }

    async fn delete(
        &self,
        name: &CapabilityName,
        version: &str,
        audit: &AuditRecord,
    ) -> Result<(), GatewayError> {
        let txn = zhongtai_store::begin_write(&self.db)
            .await
            .map_err(storage)?;
        let result = platform_wide_delete::<Entity>()
            .filter(Column::Name.eq(name.as_str()))
            .filter(Column::Version.eq(version))
            .filter(Column::Published.eq(false))
            .exec(&txn)
            .await
            .map_err(storage)?;
        if result.rows_affected != 1 {
            return Err(match find(&txn, name, version).await? {
                Some(_) => GatewayError::FailedPrecondition(format!(
                    "capability {name} {version} is published; unpublish it before deleting"
                )),
                None => GatewayError::NotFound {
                    kind: "capability",
                    id: format!("{name} {version}"),
                },
            });
        }
        record_change(&txn, audit).await?;
        txn.commit().await.map_err(storage)
    }
}

async fn find<C: ConnectionTrait>(
    conn: &C,
    name: &CapabilityName,
    version: &str,
) -> Result<Option<Capability>, GatewayError> {
    platform_wide::<Entity>()
        .filter(Column::Name.eq(name.as_str()))
        .filter(Column::Version.eq(version))
        .one(conn)
        .await
        .map_err(storage)?
        .map(capability_from_row)
        .transpose()
}

/// AlreadyExists when another capability serves the same method and route.
async fn ensure_route_free<C: ConnectionTrait>(
    conn: &C,
    capability: &Capability,
) -> Result<(), GatewayError> {
    let other = platform_wide::<Entity>()
        .filter(Column::HttpMethod.eq(capability.http.method.as_str()))
        .filter(Column::RouteTemplate.eq(capability.http.template.as_str()))
        .filter(
            Condition::any()
                .add(Column::Name.ne(capability.name.as_str()))
                .add(Column::Version.ne(capability.version.as_str())),
        )
        .one(conn)
        .await
        .map_err(storage)?;
    match other {
        Some(_) => Err(route_taken(capability)),
        None => Ok(()),
    }
}

fn route_taken(capability: &Capability) -> GatewayError {
    GatewayError::AlreadyExists {
        kind: "capability.http route",
        key: format!(
            "{} {}",
            capability.http.method.as_str(),
            capability.http.template
        ),
    }
}

fn capability_row(capability: &Capability) -> Model {
    Model {
        name: capability.name.as_str().to_string(),
        version: capability.version.clone(),
        title: capability.title.clone(),
        description: capability.description.clone(),
        http_method: capability.http.method.as_str().to_string(),
        route_template: capability.http.template.clone(),
        body: capability.http.body.as_str().to_string(),
        backend_service: capability.backend.service.clone(),
        grpc_method: capability.backend.grpc_method.clone(),
        timeout_ms: i64::try_from(capability.timeout.as_millis()).unwrap_or(i64::MAX),
        idempotent: capability.idempotent,
        priority: capability.priority.as_str().to_string(),
        published: capability.published,
        consent_required: capability.consent_required,
        revision: capability.revision,
        request_id: None,
        created_at: capability.created_at,
        updated_at: capability.updated_at,
    }
}

/// The domain form of a stored capability.
pub(super) fn capability_from_row(row: Model) -> Result<Capability, GatewayError> {
    let corrupt = |what: &str| {
        GatewayError::Storage(format!(
            "capability {} {}: bad {what}",
            row.name, row.version
        ))
    };
    Ok(Capability {
        name: CapabilityName::parse(&row.name).map_err(|_| corrupt("name"))?,
        http: HttpRoute {
            method: HttpMethod::from_name(&row.http_method)
                .ok_or_else(|| corrupt("http_method"))?,
            template: row.route_template.clone(),
            body: BodyBinding::parse(&row.body),
        },
        backend: BackendMethod {
            service: row.backend_service.clone(),
            grpc_method: row.grpc_method.clone(),
        },
        timeout: Duration::from_millis(
            u64::try_from(row.timeout_ms).map_err(|_| corrupt("timeout_ms"))?,
        ),
        priority: CapabilityPriority::from_name(&row.priority)
            .ok_or_else(|| corrupt("priority"))?,
        version: row.version,
        title: row.title,
        description: row.description,
        idempotent: row.idempotent,
        published: row.published,
        consent_required: row.consent_required,
        revision: row.revision,
        created_at: row.created_at,
        updated_at: row.updated_at,
    })
}
