//! Deleted log lines whose slot and publication are still at their source.

use chrono::Utc;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, QueryFilter};
use uuid::Uuid;
use zhongtai_kit::{ScopedEntity, SystemPurpose};

use super::entities::{line, line_runtime};
use super::lines::SeaLines;
use super::rows::{line_from_row, storage};
use crate::domain::{ExchangeError, Line, LineState};

impl SeaLines {
    /// Deleted log lines not yet released at their source.
    pub async fn lines_awaiting_release(&self) -> Result<Vec<Line>, ExchangeError> {
        let released: Vec<String> = super::platform::runtimes()
            .filter(line_runtime::Column::SourceReleasedAt.is_not_null())
            .all(&self.db)
            .await
            .map_err(storage)?
            .into_iter()
            .map(|runtime| runtime.line_id)
            .collect();
        line::Entity::find_for_system(SystemPurpose("releasing deleted lines' sources"))
            .filter(line::Column::State.eq(LineState::Deleted.as_str()))
            .filter(line::Column::SourceKind.eq("log"))
            .filter(line::Column::Id.is_not_in(released))
            .all(&self.db)
            .await
            .map_err(storage)?
            .into_iter()
            .map(line_from_row)
            .collect()
    }

    /// Records that `line_id`'s slot and publication are gone.
    pub async fn mark_source_released(&self, line_id: Uuid) -> Result<(), ExchangeError> {
        super::platform::update_runtimes()
            .col_expr(
                line_runtime::Column::SourceReleasedAt,
                Expr::value(Some(Utc::now())),
            )
            .filter(line_runtime::Column::LineId.eq(line_id.to_string()))
            .exec(&self.db)
            .await
            .map_err(storage)?;
        Ok(())
    }
}
