//! One relay round: claim a batch of unpublished rows in `seq` order, publish
//! each with a confirm, mark the confirmed ones in one statement.
//!
//! On PostgreSQL the round runs in a transaction that first takes a
//! transaction-scoped advisory lock, then locks the rows `FOR UPDATE SKIP
//! LOCKED`. The advisory lock makes relays of one database take turns, which
//! is what keeps the events of each subject in order: with row locks alone a
//! second relay would skip the first one's batch and publish later events of
//! the same subjects ahead of it. SQLite (the single-process embedded mode)
//! has no row locks and runs without a long transaction, because a write
//! after a read in a deferred SQLite transaction can fail on a busy database.

use sea_orm::sea_query::{LockBehavior, LockType};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    Select, Statement,
};
use zhongtai_contracts::events::v1::EventEnvelope;

use super::Relay;
use crate::envelope;
use crate::error::EventError;
use crate::outbox::{self, entity};

/// Advisory lock key of the outbox claim ("ztoutbox" in ASCII).
const OUTBOX_CLAIM_LOCK: i64 = 0x7a74_6f75_7462_6f78;

/// What one round achieved.
pub(super) enum Round {
    /// This many rows were confirmed and marked.
    Published(usize),
    /// Another relay holds the claim right now.
    ClaimedElsewhere,
    /// The after-confirm failpoint asked for a crash.
    Crashed,
}

/// How draining the outbox ended.
pub(super) enum Drained {
    Done,
    Crashed,
}

/// What publishing a claimed batch did, before the round is committed.
struct Published {
    marked: usize,
    failure: Option<EventError>,
    crashed: bool,
}

pub(super) async fn relay_batch(relay: &Relay, batch_size: u32) -> Result<Round, EventError> {
    if relay.db.get_database_backend() != DbBackend::Postgres {
        let rows = unpublished(batch_size).all(&relay.db).await?;
        let published = publish_and_mark(relay, &relay.db, rows).await?;
        count_published(relay, &published);
        return finish(published);
    }

    let txn = zhongtai_store::begin_write(&relay.db).await?;
    if !try_claim(&txn).await? {
        txn.rollback().await?;
        return Ok(Round::ClaimedElsewhere);
    }
    let rows = unpublished(batch_size)
        .lock_with_behavior(LockType::Update, LockBehavior::SkipLocked)
        .all(&txn)
        .await?;
    if rows.is_empty() {
        txn.rollback().await?;
        return Ok(Round::Published(0));
    }
    let published = publish_and_mark(relay, &txn, rows).await?;
    if published.crashed {
        // Dropping the transaction rolls it back, as a crash would.
        drop(txn);
        return Ok(Round::Crashed);
    }
    txn.commit().await?;
    count_published(relay, &published);
    finish(published)
}

/// Counts rows whose "sent" mark is durable (committed, or written outside
/// a transaction).
fn count_published(relay: &Relay, published: &Published) {
    if published.marked > 0 && !published.crashed {
        super::METRICS.published(&relay.config.service, published.marked);
    }
}

fn finish(published: Published) -> Result<Round, EventError> {
    if published.crashed {
        return Ok(Round::Crashed);
    }
    match published.failure {
        Some(error) => Err(error),
        None => Ok(Round::Published(published.marked)),
    }
}

fn unpublished(batch_size: u32) -> Select<entity::Entity> {
    entity::Entity::find()
        .filter(entity::Column::PublishedAt.is_null())
        .order_by_asc(entity::Column::Seq)
        .limit(u64::from(batch_size))
}

/// Takes the outbox claim for the rest of the transaction, or reports that
/// another relay has it.
async fn try_claim<C: ConnectionTrait>(txn: &C) -> Result<bool, EventError> {
    let row = txn
        .query_one_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT pg_try_advisory_xact_lock($1) AS claimed",
            [OUTBOX_CLAIM_LOCK.into()],
        ))
        .await?;
    match row {
        Some(row) => Ok(row.try_get::<bool>("", "claimed")?),
        None => Ok(false),
    }
}

/// Publishes rows in order until one fails, then marks the confirmed prefix
/// and records the failure. Rows after a failure are not attempted: a later
/// event of the same subject must not overtake it.
async fn publish_and_mark<C: ConnectionTrait>(
    relay: &Relay,
    conn: &C,
    rows: Vec<entity::Model>,
) -> Result<Published, EventError> {
    let mut confirmed: Vec<EventEnvelope> = Vec::with_capacity(rows.len());
    let mut failure: Option<(String, EventError)> = None;
    for row in rows {
        let envelope = match envelope::decode(&row.envelope) {
            Ok(envelope) => envelope,
            Err(error) => {
                tracing::error!(seq = row.seq, event.id = %row.id, error = %error, "outbox row does not decode");
                failure = Some((row.id, error));
                break;
            }
        };
        match relay.bus.publish(&envelope).await {
            Ok(()) => {
                tracing::debug!(
                    event.id = %envelope.id,
                    event.r#type = %envelope.r#type,
                    seq = row.seq,
                    "event published"
                );
                confirmed.push(envelope);
            }
            Err(error) => {
                failure = Some((row.id, error));
                break;
            }
        }
    }

    #[cfg(feature = "test-hooks")]
    if let Some(hook) = &relay.config.after_confirm
        && !confirmed.is_empty()
        && hook(&confirmed) == super::AfterConfirm::Crash
    {
        return Ok(Published {
            marked: 0,
            failure: None,
            crashed: true,
        });
    }

    let marked = confirmed.len();
    outbox::mark_published(conn, confirmed.into_iter().map(|e| e.id).collect()).await?;
    if let Some((id, error)) = &failure {
        outbox::record_failure(conn, id, &error.to_string()).await?;
    }
    if marked > 0 {
        tracing::debug!(count = marked, "outbox batch marked published");
    }
    Ok(Published {
        marked,
        failure: failure.map(|(_, error)| error),
        crashed: false,
    })
}
