//! How much of the outbox waits for the relay: two reads on the index the
//! relay itself scans (`published_at, seq`), so measuring costs about as
//! much as claiming a batch.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, Query};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

use crate::error::EventError;
use crate::outbox::entity;

/// Unpublished rows are counted up to this many, so a huge backlog (a long
/// broker outage) does not make every measurement scan all of it.
pub(crate) const BACKLOG_COUNT_CAP: u64 = 100_000;

/// The unpublished part of the outbox at one moment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Backlog {
    /// Unpublished rows, at most [`BACKLOG_COUNT_CAP`].
    pub count: u64,
    /// When the next row to publish (lowest `seq`) was appended.
    pub oldest: Option<DateTime<Utc>>,
}

impl Backlog {
    /// Age of the oldest unpublished event at `now`; 0 when there is none
    /// (or clocks disagree and it would be negative).
    pub(crate) fn oldest_age_seconds(&self, now: DateTime<Utc>) -> f64 {
        let Some(oldest) = self.oldest else {
            return 0.0;
        };
        let micros = (now - oldest).num_microseconds().unwrap_or(i64::MAX).max(0);
        micros as f64 / 1e6
    }
}

pub(crate) async fn measure<C: ConnectionTrait>(conn: &C) -> Result<Backlog, EventError> {
    // COUNT over a LIMITed subquery: the count stops at the cap.
    let capped = Query::select()
        .expr(Expr::val(1))
        .from(entity::Entity)
        .and_where(entity::Column::PublishedAt.is_null())
        .limit(BACKLOG_COUNT_CAP)
        .to_owned();
    let counted = Query::select()
        .expr_as(Expr::cust("COUNT(*)"), "backlog")
        .from_subquery(capped, "unpublished")
        .to_owned();
    let count = match conn.query_one(&counted).await? {
        Some(row) => u64::try_from(row.try_get::<i64>("", "backlog")?).unwrap_or(0),
        None => 0,
    };
    let oldest = entity::Entity::find()
        .select_only()
        .column(entity::Column::CreatedAt)
        .filter(entity::Column::PublishedAt.is_null())
        .order_by_asc(entity::Column::Seq)
        .into_tuple::<DateTime<Utc>>()
        .one(conn)
        .await?;
    Ok(Backlog { count, oldest })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_oldest_age_is_zero_when_drained_and_never_negative() {
        let now = Utc::now();
        let drained = Backlog {
            count: 0,
            oldest: None,
        };
        assert_eq!(drained.oldest_age_seconds(now), 0.0);
        let waiting = Backlog {
            count: 3,
            oldest: Some(now - chrono::TimeDelta::milliseconds(1500)),
        };
        assert!((waiting.oldest_age_seconds(now) - 1.5).abs() < 1e-9);
        let ahead = Backlog {
            count: 1,
            oldest: Some(now + chrono::TimeDelta::seconds(2)),
        };
        assert_eq!(ahead.oldest_age_seconds(now), 0.0);
    }
}
