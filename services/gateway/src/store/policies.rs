//! Policies in the database. A policy belongs to its app's tenant: lists
//! reach them through the apps inside the caller's scope.

use async_trait::async_trait;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, IntoActiveModel, QueryFilter,
    QueryOrder, QuerySelect, QueryTrait,
};
use uuid::Uuid;
use zhongtai_audit::AuditRecord;
use zhongtai_kit::{Page, PageQuery};

use super::entities::app;
use super::entities::policy::{Column, Entity, Model};
use super::shared::{
    after_pair, apps_in, platform_wide, platform_wide_delete, platform_wide_update, record_change,
    storage,
};
use crate::domain::{AppScope, GatewayError, Limits, Policy, PolicyRepository, PolicyTarget};

/// [`PolicyRepository`] on sea-orm.
pub struct SeaPolicies {
    db: DatabaseConnection,
}

impl SeaPolicies {
    /// Policies stored in `db`.
    pub fn new(db: DatabaseConnection) -> Self {
        Self { db }
    }
}

#[async_trait]
impl PolicyRepository for SeaPolicies {
    async fn get(
        &self,
        app_id: Uuid,
        target: &PolicyTarget,
    ) -> Result<Option<Policy>, GatewayError> {
        platform_wide::<Entity>()
            .filter(Column::AppId.eq(app_id.to_string()))
            .filter(Column::Capability.eq(target.as_str()))
            .one(&self.db)
            .await
            .map_err(storage)?
            .map(policy_from_row)
            .transpose()
    }

    async fn list(
        &self,
        scope: &AppScope,
        app_id: Option<Uuid>,
        page: &PageQuery,
    ) -> Result<Page<Policy>, GatewayError> {
        let visible_apps = apps_in(scope)
            .select_only()
            .column(app::Column::Id)
            .into_query();
        let mut query = platform_wide::<Entity>()
            .filter(Column::AppId.in_subquery(visible_apps))
            .order_by_asc(Column::AppId)
            .order_by_asc(Column::Capability);
        if let Some(app_id) = app_id {
            query = query.filter(Column::AppId.eq(app_id.to_string()));
        }
        if let Some(after) = &page.after {
            query = query.filter(after_pair(after, Column::AppId, Column::Capability)?);
        }
        let rows = query
            .limit(page.fetch_limit())
            .all(&self.db)
            .await
            .map_err(storage)?;
        let policies = rows
            .into_iter()
            .map(policy_from_row)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Page::from_rows(policies, page, |p| {
            format!("{} {}", p.app_id, p.target.as_str())
        }))
    }

    async fn set(
        &self,
        policy: &Policy,
        expected_version: i64,
        audit: &AuditRecord,
    ) -> Result<Policy, GatewayError> {
        let txn = zhongtai_store::begin_write(&self.db)
            .await
            .map_err(storage)?;
        let current = platform_wide::<Entity>()
            .filter(Column::AppId.eq(policy.app_id.to_string()))
            .filter(Column::Capability.eq(policy.target.as_str()))
            .one(&txn)
            .await
            .map_err(storage)?;
        let conflict = || GatewayError::VersionConflict {
            kind: "policy",
            id: format!("{} {}", policy.app_id, policy.target.as_str()),
        };
        let limits = serde_json::to_string(&policy.limits).map_err(storage)?;
        let stored = match current {
            Some(current) if expected_version == 0 || current.version == expected_version => {
                let next = Model {
                    limits,
                    version: current.version + 1,
                    updated_at: policy.updated_at,
                    ..current.clone()
                };
                let result = platform_wide_update::<Entity>()
                    .set(next.clone().into_active_model().reset_all())
                    .filter(Column::Id.eq(current.id.as_str()))
                    .filter(Column::Version.eq(current.version))
                    .exec(&txn)
                    .await
                    .map_err(storage)?;
                if result.rows_affected != 1 {
                    return Err(conflict());
                }
                next
            }
            Some(_) => return Err(conflict()),
            None if expected_version != 0 => return Err(conflict()),
            None => {
                let row = Model {
                    id: policy.id.to_string(),
                    app_id: policy.app_id.to_string(),
                    capability: policy.target.as_str().to_string(),
                    limits,
                    version: 1,
                    created_at: policy.created_at,
                    updated_at: policy.updated_at,
                };
                Entity::insert(row.clone().into_active_model())
                    .exec_without_returning(&txn)
                    .await
                    .map_err(|e| {
                        if super::shared::is_unique_violation(&e) {
                            conflict()
                        } else {
                            storage(e)
                        }
                    })?;
                row
            }
        };
        record_change(&txn, audit).await?;
        txn.commit().await.map_err(storage)?;
        policy_from_row(stored)
    }

    async fn delete(
        &self,
        app_id: Uuid,
        target: &PolicyTarget,
        audit: &AuditRecord,
    ) -> Result<(), GatewayError> {
        let txn = zhongtai_store::begin_write(&self.db)
            .await
            .map_err(storage)?;
        let result = platform_wide_delete::<Entity>()
            .filter(Column::AppId.eq(app_id.to_string()))
            .filter(Column::Capability.eq(target.as_str()))
            .exec(&txn)
            .await
            .map_err(storage)?;
        if result.rows_affected != 1 {
            return Err(GatewayError::NotFound {
                kind: "policy",
                id: format!("{app_id} {}", target.as_str()),
            });
        }
        record_change(&txn, audit).await?;
        txn.commit().await.map_err(storage)
    }
}

/// The domain form of a stored policy.
pub(super) fn policy_from_row(row: Model) -> Result<Policy, GatewayError> {
    let corrupt = |what: &str| GatewayError::Storage(format!("policy {}: bad {what}", row.id));
    let limits: Limits = serde_json::from_str(&row.limits).map_err(|_| corrupt("limits"))?;
    Ok(Policy {
        id: Uuid::parse_str(&row.id).map_err(|_| corrupt("id"))?,
        app_id: Uuid::parse_str(&row.app_id).map_err(|_| corrupt("app_id"))?,
        target: PolicyTarget::parse(&row.capability).map_err(|_| corrupt("capability"))?,
        limits,
        version: row.version,
        created_at: row.created_at,
        updated_at: row.updated_at,
    })
}
