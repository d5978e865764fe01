//! Integrator apps in the database.

use async_trait::async_trait;
use sea_orm::sea_query::LikeExpr;
use sea_orm::{ColumnTrait, DatabaseConnection, QueryFilter, QueryOrder, QuerySelect};
use uuid::Uuid;
use zhongtai_kit::{Page, PageQuery, ScopedEntity, TenantId, TenantScope};

use super::entities::app::{Column, Entity, Model};
use crate::domain::{App, AppFilter, AppRepository, AppState, CapabilityName, GatewayError};

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
        scope: &TenantScope,
        filter: &AppFilter,
        page: &PageQuery,
    ) -> Result<Page<App>, GatewayError> {
        let mut query = Entity::find_in(scope).order_by_asc(Column::Id);
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
            .map_err(|e| GatewayError::Storage(e.to_string()))?;
        let apps = rows
            .into_iter()
            .map(app_from_row)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Page::from_rows(apps, page, |app| app.id.to_string()))
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
fn app_from_row(row: Model) -> Result<App, GatewayError> {
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
        name: row.name,
        version: row.version,
        created_at: row.created_at,
        updated_at: row.updated_at,
    })
}
