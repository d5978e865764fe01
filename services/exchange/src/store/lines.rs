//! Exchange lines in the database.

use async_trait::async_trait;
use sea_orm::{ColumnTrait, DatabaseConnection, QueryFilter, QueryOrder, QuerySelect};
use uuid::Uuid;
use zhongtai_kit::{Page, PageQuery, ScopedEntity, TenantId, TenantScope};

use super::entities::line::{Column, Entity, Model};
use crate::domain::{ExchangeError, Line, LineFilter, LineRepository, LineState};

/// [`LineRepository`] on sea-orm.
pub struct SeaLines {
    db: DatabaseConnection,
}

impl SeaLines {
    pub fn new(db: DatabaseConnection) -> Self {
        Self { db }
    }
}

#[async_trait]
impl LineRepository for SeaLines {
    async fn list(
        &self,
        scope: &TenantScope,
        filter: &LineFilter,
        page: &PageQuery,
    ) -> Result<Page<Line>, ExchangeError> {
        let state_names = filter.wanted_states().into_iter().map(LineState::as_str);
        let mut query = Entity::find_in(scope)
            .filter(Column::State.is_in(state_names))
            .order_by_asc(Column::Id);
        if let Some(resource_id) = filter.resource_id {
            query = query.filter(Column::ResourceId.eq(resource_id.to_string()));
        }
        if let Some(after) = &page.after {
            query = query.filter(Column::Id.gt(after.as_str()));
        }
        let rows = query
            .limit(page.fetch_limit())
            .all(&self.db)
            .await
            .map_err(|e| ExchangeError::Storage(e.to_string()))?;
        let lines = rows
            .into_iter()
            .map(line_from_row)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Page::from_rows(lines, page, |line| line.id.to_string()))
    }
}

/// A row that does not read back is corruption, reported as a storage
/// failure rather than a panic.
fn line_from_row(row: Model) -> Result<Line, ExchangeError> {
    let corrupt = |what: &str| ExchangeError::Storage(format!("line {}: bad {what}", row.id));
    let resource_id = match row.resource_id.as_deref() {
        None | Some("") => None,
        Some(id) => Some(Uuid::parse_str(id).map_err(|_| corrupt("resource_id"))?),
    };
    Ok(Line {
        id: Uuid::parse_str(&row.id).map_err(|_| corrupt("id"))?,
        owner: TenantId::parse(&row.owner_division, &row.owner_department)
            .map_err(|_| corrupt("owner"))?,
        state: LineState::from_name(&row.state).ok_or_else(|| corrupt("state"))?,
        source: serde_json::from_str(&row.source_spec).map_err(|_| corrupt("source_spec"))?,
        state_reason: row.state_reason,
        // Progress lives with the runner's positions (line_runtime).
        snapshot: Default::default(),
        resource_id,
        name: row.name,
        description: row.description,
        version: row.version,
        created_at: row.created_at,
        updated_at: row.updated_at,
    })
}
