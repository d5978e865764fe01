//! Integrator apps in the database.

use async_trait::async_trait;
use sea_orm::sea_query::LikeExpr;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, DatabaseConnection, EntityTrait,
    IntoActiveModel, QueryFilter, QueryOrder, QuerySelect,
};
use uuid::Uuid;
use zhongtai_audit::AuditRecord;
use zhongtai_kit::{Page, PageQuery, TenantId};

use super::entities::app::{ActiveModel, Column, Entity, Model};
use super::shared::{apps_in, is_unique_violation, record_change, storage, update_apps_in};
use crate::domain::{
    App, AppFilter, AppRepository, AppScope, AppState, CapabilityName, GatewayError,
};

const LIKE_ESCAPE: char = '\\';

/// [`AppRepository`] on sea-orm.
pub struct SeaApps {
    db: DatabaseConnection,
}

impl SeaApps {
    pub fn new(db: DatabaseConnection) -> Self {
        Self { db }
    }
}

#[async_trait]
impl AppRepository for SeaApps {
    async fn list(
        &self,
        scope: &AppScope,
        filter: &AppFilter,
        page: &PageQuery,
    ) -> Result<Page<App>, GatewayError> {
        let mut query = apps_in(scope).order_by_asc(Column::Id);
        if let Some(state) = filter.state {
            query = query.filter(Column::State.eq(state.as_str()));
        }
        if let Some(capability) = &filter.capability {
            query =
                query.filter(Column::AllowedCapabilities.like(json_element_pattern(capability)));
        }
        if let Some(after) = &page.after {
            query = query.filter(Column::Id.gt(after.as_str()));
        }
        let rows = query
            .limit(page.fetch_limit())
            .all(&self.db)
            .await
            .map_err(storage)?;
        let apps = rows
            .into_iter()
            .map(app_from_row)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Page::from_rows(apps, page, |app| app.id.to_string()))
    }

    async fn get(&self, scope: &AppScope, id: Uuid) -> Result<Option<App>, GatewayError> {
        apps_in(scope)
            .filter(Column::Id.eq(id.to_string()))
            .one(&self.db)
            .await
            .map_err(storage)?
            .map(app_from_row)
            .transpose()
    }

    async fn register(
        &self,
        app: &App,
        request_id: &str,
        audit: &AuditRecord,
    ) -> Result<App, GatewayError> {
        if let Some(existing) = self.registered_with(request_id).await? {
            return Ok(existing);
        }
        let txn = zhongtai_store::begin_write(&self.db)
            .await
            .map_err(storage)?;
        let mut row = app_row(app).into_active_model();
        row.request_id = Set(Some(request_id.to_string()));
        if let Err(e) = Entity::insert(row).exec_without_returning(&txn).await {
            drop(txn);
            // A concurrent registration with the same key won the race.
            if is_unique_violation(&e)
                && let Some(existing) = self.registered_with(request_id).await?
            {
                return Ok(existing);
            }
            return Err(storage(e));
        }
        record_change(&txn, audit).await?;
        txn.commit().await.map_err(storage)?;
        Ok(app.clone())
    }

    async fn save(
        &self,
        app: &App,
        expected_version: i64,
        audit: &AuditRecord,
    ) -> Result<App, GatewayError> {
        let txn = zhongtai_store::begin_write(&self.db)
            .await
            .map_err(storage)?;
        let mut row: ActiveModel = app_row(app).into_active_model().reset_all();
        // Neither the key nor the registration's idempotency key changes.
        row.id = sea_orm::ActiveValue::NotSet;
        row.request_id = sea_orm::ActiveValue::NotSet;
        row.created_at = sea_orm::ActiveValue::NotSet;
        let result = update_apps_in(&AppScope::Everything)
            .set(row)
            .filter(Column::Id.eq(app.id.to_string()))
            .filter(Column::Version.eq(expected_version))
            .exec(&txn)
            .await
            .map_err(storage)?;
        if result.rows_affected != 1 {
            return Err(GatewayError::VersionConflict {
                kind: "app",
                id: app.id.to_string(),
            });
        }
        record_change(&txn, audit).await?;
        txn.commit().await.map_err(storage)?;
        Ok(app.clone())
    }
}

impl SeaApps {
    /// The app a RegisterApp with `request_id` created, in any tenant.
    async fn registered_with(&self, request_id: &str) -> Result<Option<App>, GatewayError> {
        apps_in(&AppScope::Everything)
            .filter(Column::RequestId.eq(request_id))
            .one(&self.db)
            .await
            .map_err(storage)?
            .map(app_from_row)
            .transpose()
    }
}

/// The stored form of an app (without its idempotency key).
fn app_row(app: &App) -> Model {
    let names: Vec<&str> = app
        .allowed_capabilities
        .iter()
        .map(CapabilityName::as_str)
        .collect();
    Model {
        id: app.id.to_string(),
        name: app.name.clone(),
        state: app.state.as_str().to_string(),
        allowed_capabilities: serde_json::Value::from(names).to_string(),
        version: app.version,
        created_at: app.created_at,
        updated_at: app.updated_at,
        sponsor_division: app.sponsor.division.to_string(),
        sponsor_department: app.sponsor.department.clone().unwrap_or_default(),
        owner: serde_json::to_value(&app.owner)
            .map(|v| v.to_string())
            .unwrap_or_default(),
        contact: serde_json::to_value(&app.contact)
            .map(|v| v.to_string())
            .unwrap_or_default(),
        disabled_reason: app.disabled_reason.clone(),
        request_id: None,
    }
}

/// Matches a JSON array holding `capability` as a whole element: the
/// quotes around it keep `certificate.verify` from matching
/// `certificate.verify-batch`, and LIKE wildcards in the name are escaped.
/// Names are lowercase, so SQLite's case-insensitive LIKE matches the same
/// rows as PostgreSQL's.
fn json_element_pattern(capability: &CapabilityName) -> LikeExpr {
    let mut pattern = String::from("%\"");
    for c in capability.as_str().chars() {
        if matches!(c, '%' | '_' | LIKE_ESCAPE) {
            pattern.push(LIKE_ESCAPE);
        }
        pattern.push(c);
    }
    pattern.push_str("\"%");
    LikeExpr::new(pattern).escape(LIKE_ESCAPE)
}

/// A row that does not read back is corruption, reported as a storage
/// failure rather than a panic.
pub(super) fn app_from_row(row: Model) -> Result<App, GatewayError> {
    let corrupt = |what: &str| GatewayError::Storage(format!("app {}: bad {what}", row.id));
    let names: Vec<String> = serde_json::from_str(&row.allowed_capabilities)
        .map_err(|_| corrupt("allowed_capabilities"))?;
    let allowed_capabilities = names
        .iter()
        .map(|name| CapabilityName::parse(name))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|_| corrupt("allowed_capabilities"))?;
    Ok(App {
        id: Uuid::parse_str(&row.id).map_err(|_| corrupt("id"))?,
        state: AppState::from_name(&row.state).ok_or_else(|| corrupt("state"))?,
        allowed_capabilities,
        sponsor: TenantId::parse(&row.sponsor_division, &row.sponsor_department)
            .map_err(|_| corrupt("sponsor"))?,
        owner: serde_json::from_str(&row.owner).map_err(|_| corrupt("owner"))?,
        contact: serde_json::from_str(&row.contact).map_err(|_| corrupt("contact"))?,
        disabled_reason: row.disabled_reason,
        name: row.name,
        version: row.version,
        created_at: row.created_at,
        updated_at: row.updated_at,
    })
}
