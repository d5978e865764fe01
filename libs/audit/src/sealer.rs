//! The sealer: links pending records into the hash chain, one batch per
//! transaction, off the request path.
//!
//! A batch takes the chain for the length of its transaction (PostgreSQL:
//! a transaction-scoped advisory lock, so any number of instances of a
//! service may run a sealer against one database and take turns; SQLite: an
//! immediate transaction, which holds the single write lock from its first
//! statement), reads the head, numbers the oldest pending rows after it,
//! moves the head and puts an `audit.chain.sealed` event in the outbox. All
//! of it commits together or not at all.

use std::sync::Arc;
use std::time::Duration;

use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbBackend, EntityTrait,
    QueryFilter, QueryOrder, QuerySelect, Set, SqliteTransactionMode, Statement,
    TransactionOptions, TransactionTrait,
};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use zhongtai_contracts::events::v1::ChainSealed;
use zhongtai_events::{Event, outbox};

use crate::chain::{self, Digest, GENESIS};
use crate::entity::{audit_log, chain_head};
use crate::{AuditError, CHAIN_SEALED};

/// Advisory lock key of the sealing turn ("ztauditc" in ASCII).
const SEALING_LOCK: i64 = 0x7a74_6175_6469_7463;

/// First wait after a failed round.
const RETRY_INITIAL: Duration = Duration::from_millis(200);

/// Longest wait between failed rounds.
const RETRY_MAX: Duration = Duration::from_secs(30);

/// How the sealer batches and polls.
#[derive(Clone, Debug)]
pub struct SealerConfig {
    /// Records sealed per transaction.
    pub batch_size: u64,
    /// Longest wait between rounds when nobody pokes the
    /// [`notifier`](Sealer::notifier).
    pub poll_interval: Duration,
}

impl Default for SealerConfig {
    fn default() -> Self {
        Self {
            batch_size: 500,
            poll_interval: Duration::from_secs(1),
        }
    }
}

/// Seals a service's pending audit records into its hash chain.
pub struct Sealer {
    db: DatabaseConnection,
    source: String,
    config: SealerConfig,
    notify: Arc<Notify>,
}

impl Sealer {
    /// A sealer for the audit log in `db`; `source` (the service name) is the
    /// subject of its `audit.chain.sealed` events.
    pub fn new(db: DatabaseConnection, source: &str, config: SealerConfig) -> Self {
        Self {
            db,
            source: source.to_owned(),
            config,
            notify: Arc::new(Notify::new()),
        }
    }

    /// Call `notify_one()` on it to have [`run`](Self::run) seal now instead
    /// of at the next poll; a poke while it is busy is remembered.
    pub fn notifier(&self) -> Arc<Notify> {
        self.notify.clone()
    }

    /// Seals batches until no pending record is left; returns how many it
    /// sealed.
    pub async fn seal_pending(&self) -> Result<u64, AuditError> {
        let batch_size = self.config.batch_size.max(1);
        let mut sealed = 0;
        loop {
            let batch = self.seal_batch(batch_size).await?;
            sealed += batch;
            if batch < batch_size {
                return Ok(sealed);
            }
        }
    }

    /// Seals on every poke of the [`notifier`](Self::notifier) and every
    /// poll interval until `shutdown` is cancelled, then once more so records
    /// committed during shutdown are not left pending. Failures are logged
    /// and retried with growing delays; records stay pending until sealed.
    pub async fn run(self, shutdown: CancellationToken) {
        tracing::info!(
            source = %self.source,
            batch_size = self.config.batch_size,
            "audit sealer started"
        );
        let mut failures: u32 = 0;
        while !shutdown.is_cancelled() {
            match self.seal_pending().await {
                Ok(_) => failures = 0,
                Err(error) => {
                    failures = failures.saturating_add(1);
                    let delay = retry_delay(failures);
                    tracing::warn!(
                        error = %error,
                        attempt = failures,
                        retry_in_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
                        "audit sealing failed"
                    );
                    tokio::select! {
                        _ = shutdown.cancelled() => {}
                        _ = tokio::time::sleep(delay) => {}
                    }
                    continue;
                }
            }
            tokio::select! {
                _ = shutdown.cancelled() => {}
                _ = self.notify.notified() => {}
                _ = tokio::time::sleep(self.config.poll_interval) => {}
            }
        }
        if let Err(error) = self.seal_pending().await {
            tracing::warn!(error = %error, "last audit sealing before shutdown failed");
        }
        tracing::info!(source = %self.source, "audit sealer stopped");
    }

    /// Seals up to `batch_size` of the oldest pending records in one
    /// transaction; returns how many.
    async fn seal_batch(&self, batch_size: u64) -> Result<u64, AuditError> {
        let txn = self
            .db
            .begin_with_options(TransactionOptions {
                sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
                ..TransactionOptions::default()
            })
            .await?;
        take_sealing_turn(&txn).await?;

        let head = chain_head::Entity::find_by_id(chain_head::ROW_ID)
            .one(&txn)
            .await?;
        let (mut sequence, mut prev) = match &head {
            Some(head) => parse_head(head)?,
            None => (0, GENESIS),
        };
        let pending = audit_log::Entity::find()
            .filter(audit_log::Column::Seq.is_null())
            .order_by_asc(audit_log::Column::Id)
            .limit(batch_size)
            .all(&txn)
            .await?;
        if pending.is_empty() {
            txn.rollback().await?;
            return Ok(0);
        }

        let sealed_at = chrono::Utc::now();
        for row in &pending {
            sequence += 1;
            let hash = chain::record_hash(&prev, sequence, row);
            let updated = audit_log::Entity::update_many()
                .col_expr(
                    audit_log::Column::Seq,
                    Expr::value(to_db_sequence(sequence)?),
                )
                .col_expr(
                    audit_log::Column::PrevHash,
                    Expr::value(chain::to_hex(&prev)),
                )
                .col_expr(audit_log::Column::Hash, Expr::value(chain::to_hex(&hash)))
                .col_expr(audit_log::Column::SealedAt, Expr::value(sealed_at))
                .filter(audit_log::Column::Id.eq(row.id))
                .filter(audit_log::Column::Seq.is_null())
                .exec(&txn)
                .await?;
            if updated.rows_affected != 1 {
                return Err(AuditError::SealRace {
                    record_id: row.record_id,
                });
            }
            prev = hash;
        }

        let head_hash = chain::to_hex(&prev);
        move_head(&txn, head.is_some(), sequence, &head_hash, sealed_at).await?;
        let count = pending.len() as u64;
        let event = Event::new(
            CHAIN_SEALED,
            // The chain belongs to the service, not to one tenant.
            "",
            self.source.clone(),
            &ChainSealed {
                head_sequence: sequence,
                head_hash: head_hash.clone(),
                sealed: count,
            },
        );
        outbox::append(&txn, &self.source, vec![event]).await?;
        txn.commit().await?;
        tracing::debug!(
            sealed = count,
            head_sequence = sequence,
            head_hash = %head_hash,
            "audit records sealed"
        );
        Ok(count)
    }
}

/// Waits until no other sealer of this database is inside a batch. SQLite
/// needs nothing here: the immediate transaction already holds its only
/// write lock.
async fn take_sealing_turn(txn: &DatabaseTransaction) -> Result<(), AuditError> {
    if txn.get_database_backend() == DbBackend::Postgres {
        txn.execute_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT pg_advisory_xact_lock($1)",
            [SEALING_LOCK.into()],
        ))
        .await?;
    }
    Ok(())
}

/// Where the chain continues from.
fn parse_head(head: &chain_head::Model) -> Result<(u64, Digest), AuditError> {
    let sequence = u64::try_from(head.seq)
        .map_err(|_| AuditError::CorruptHead(format!("sequence {} is negative", head.seq)))?;
    let hash = chain::from_hex(&head.hash).ok_or_else(|| {
        AuditError::CorruptHead(format!("hash {:?} is not a hex SHA-256", head.hash))
    })?;
    Ok((sequence, hash))
}

fn to_db_sequence(sequence: u64) -> Result<i64, AuditError> {
    i64::try_from(sequence).map_err(|_| {
        AuditError::CorruptHead(format!(
            "sequence {sequence} is beyond what the table holds"
        ))
    })
}

async fn move_head(
    txn: &DatabaseTransaction,
    exists: bool,
    sequence: u64,
    hash: &str,
    at: chrono::DateTime<chrono::Utc>,
) -> Result<(), AuditError> {
    let sequence = to_db_sequence(sequence)?;
    if exists {
        chain_head::Entity::update_many()
            .col_expr(chain_head::Column::Seq, Expr::value(sequence))
            .col_expr(chain_head::Column::Hash, Expr::value(hash))
            .col_expr(chain_head::Column::UpdatedAt, Expr::value(at))
            .filter(chain_head::Column::Id.eq(chain_head::ROW_ID))
            .exec(txn)
            .await?;
    } else {
        chain_head::Entity::insert(chain_head::ActiveModel {
            id: Set(chain_head::ROW_ID),
            seq: Set(sequence),
            hash: Set(hash.to_owned()),
            updated_at: Set(at),
        })
        .exec_without_returning(txn)
        .await?;
    }
    Ok(())
}

/// Delay before retrying after `failures` failed rounds in a row: doubling
/// from [`RETRY_INITIAL`] up to [`RETRY_MAX`], then spread over its upper
/// half so the sealers of several instances do not retry in step.
fn retry_delay(failures: u32) -> Duration {
    let exponent = failures.saturating_sub(1).min(16);
    let ceiling = RETRY_INITIAL.saturating_mul(1 << exponent).min(RETRY_MAX);
    // A v4 UUID is 122 random bits; its low bits are this crate's dice.
    let spread = (uuid::Uuid::new_v4().as_u128() % 1_000) as f64 / 1_000.0;
    ceiling / 2 + ceiling.mul_f64(spread * 0.5)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_delays_grow_to_the_cap() {
        let first = retry_delay(1);
        assert!(
            first >= RETRY_INITIAL / 2 && first <= RETRY_INITIAL,
            "{first:?}"
        );
        let later = retry_delay(4);
        assert!(
            later >= RETRY_INITIAL * 4 && later <= RETRY_INITIAL * 8,
            "{later:?}"
        );
        let capped = retry_delay(u32::MAX);
        assert!(capped >= RETRY_MAX / 2 && capped <= RETRY_MAX, "{capped:?}");
    }

    #[test]
    fn an_unusable_head_stops_sealing() {
        let head = |seq: i64, hash: &str| chain_head::Model {
            id: chain_head::ROW_ID,
            seq,
            hash: hash.to_owned(),
            updated_at: chrono::Utc::now(),
        };
        let good = chain::to_hex(&GENESIS);
        assert_eq!(parse_head(&head(3, &good)).ok(), Some((3, GENESIS)));
        let negative = parse_head(&head(-1, &good)).expect_err("negative sequence");
        assert!(negative.to_string().contains("negative"), "{negative}");
        let garbage = parse_head(&head(3, "not a hash")).expect_err("garbage hash");
        assert!(garbage.to_string().contains("not a hash"), "{garbage}");
    }
}
