//! Verification: recompute the chain from the first record and report the
//! first place where the stored log no longer matches it.

use sea_orm::{
    AccessMode, ColumnTrait, DatabaseConnection, DatabaseTransaction, DbBackend, EntityTrait,
    IsolationLevel, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, TransactionOptions,
    TransactionTrait,
};
use uuid::Uuid;

use crate::AuditError;
use crate::chain::{self, GENESIS};
use crate::entity::{audit_log, chain_head};

/// Sealed rows read per query while walking the chain.
const PAGE: u64 = 1_000;

/// Where a chain ends: the sequence number and hex hash of its last record.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct ChainHead {
    /// Sequence number of the last sealed record.
    pub sequence: u64,
    /// Its hex SHA-256 chain hash.
    pub hash: String,
}

impl std::fmt::Display for ChainHead {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "#{} ({})", self.sequence, short(&self.hash))
    }
}

/// The first thing wrong with a chain.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "problem", rename_all = "snake_case")]
pub enum Problem {
    /// Stored fields no longer hash to the stored hash, or prev_hash does not
    /// link to the record before.
    Altered {
        /// Sequence number of the altered record.
        sequence: u64,
        /// Its record id.
        record_id: Uuid,
    },
    /// A sequence number is absent: the record was deleted. Its neighbours
    /// are named when they exist.
    Missing {
        /// The absent sequence number.
        sequence: u64,
        /// The record sealed just before it.
        after: Option<Uuid>,
        /// The record sealed just after it.
        before: Option<Uuid>,
    },
    /// The chain head does not name the last sealed record: records at the
    /// end were deleted, or the head or the last record was altered.
    HeadMismatch {
        /// What the head row says (sequence 0 and the zero hash when the row
        /// itself is gone).
        head: ChainHead,
        /// The last sealed record found.
        last: Option<ChainHead>,
    },
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Altered {
                sequence,
                record_id,
            } => write!(
                f,
                "record #{sequence} ({record_id}) was altered: its hash no longer matches"
            ),
            Self::Missing {
                sequence,
                after,
                before,
            } => {
                write!(f, "record #{sequence} is missing")?;
                match (after, before) {
                    (Some(after), Some(before)) => write!(f, " (between {after} and {before})"),
                    (Some(after), None) => write!(f, " (after {after})"),
                    (None, Some(before)) => write!(f, " (before {before})"),
                    (None, None) => Ok(()),
                }
            }
            Self::HeadMismatch { head, last } => match last {
                Some(last) => write!(
                    f,
                    "the chain head names record {head} but the last sealed record is {last}: \
                     records at the end were deleted or altered"
                ),
                None => write!(
                    f,
                    "the chain head names record {head} but no sealed record exists: \
                     the sealed records were deleted"
                ),
            },
        }
    }
}

/// What [`verify`] found.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct VerifyReport {
    /// Records in the chain.
    pub sealed: u64,
    /// Records committed but not sealed yet (not checked, not a problem).
    pub pending: u64,
    /// The stored chain head; `None` before the first seal.
    pub head: Option<ChainHead>,
    /// The first tampered or missing record, if any.
    pub first_problem: Option<Problem>,
}

impl VerifyReport {
    /// True when the chain recomputes end to end and matches its head.
    pub fn is_intact(&self) -> bool {
        self.first_problem.is_none()
    }
}

impl std::fmt::Display for VerifyReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let counts = format!("{} sealed, {} pending", self.sealed, self.pending);
        match (&self.first_problem, &self.head) {
            (Some(problem), _) => write!(f, "audit chain broken: {problem} ({counts})"),
            (None, Some(head)) => write!(f, "audit chain intact: {counts}, head {head}"),
            (None, None) => write!(f, "audit chain intact: {counts}, nothing sealed yet"),
        }
    }
}

/// Recomputes the chain of the audit log in `db` from its first record and
/// checks it against the chain head. Reads one consistent snapshot, so a
/// sealer working meanwhile causes no false alarm.
pub async fn verify(db: &DatabaseConnection) -> Result<VerifyReport, AuditError> {
    let txn = begin_snapshot(db).await?;
    let head = chain_head::Entity::find_by_id(chain_head::ROW_ID)
        .one(&txn)
        .await?
        .map(|row| ChainHead {
            // A negative sequence can only come from tampering; it then
            // mismatches whatever the records say.
            sequence: u64::try_from(row.seq).unwrap_or(0),
            hash: row.hash,
        });
    let sealed = audit_log::Entity::find()
        .filter(audit_log::Column::Seq.is_not_null())
        .count(&txn)
        .await?;
    let pending = audit_log::Entity::find()
        .filter(audit_log::Column::Seq.is_null())
        .count(&txn)
        .await?;
    let first_problem = match walk_chain(&txn).await? {
        Walk::Broken(problem) => Some(problem),
        Walk::Complete(last) if last != head => Some(Problem::HeadMismatch {
            head: head.clone().unwrap_or_else(|| ChainHead {
                sequence: 0,
                hash: chain::to_hex(&GENESIS),
            }),
            last,
        }),
        Walk::Complete(_) => None,
    };
    txn.rollback().await?;
    if let Some(problem) = &first_problem {
        tracing::warn!(problem = %problem, "audit chain verification failed");
    }
    Ok(VerifyReport {
        sealed,
        pending,
        head,
        first_problem,
    })
}

async fn begin_snapshot(db: &DatabaseConnection) -> Result<DatabaseTransaction, AuditError> {
    // SQLite reads one snapshot per transaction anyway (and warns about
    // isolation settings); PostgreSQL needs REPEATABLE READ for that.
    let options = match db.get_database_backend() {
        DbBackend::Postgres => TransactionOptions {
            isolation_level: Some(IsolationLevel::RepeatableRead),
            access_mode: Some(AccessMode::ReadOnly),
            ..TransactionOptions::default()
        },
        _ => TransactionOptions::default(),
    };
    Ok(db.begin_with_options(options).await?)
}

/// How walking the sealed records ended.
enum Walk {
    /// Every record links; the last one, if any.
    Complete(Option<ChainHead>),
    Broken(Problem),
}

/// Reads the sealed records in sequence order and checks each against the
/// one before.
async fn walk_chain(txn: &DatabaseTransaction) -> Result<Walk, AuditError> {
    let mut expected: u64 = 1;
    let mut prev = GENESIS;
    let mut prev_record: Option<Uuid> = None;
    let mut last: Option<ChainHead> = None;
    let mut after_seq = i64::MIN;
    loop {
        let page = audit_log::Entity::find()
            .filter(audit_log::Column::Seq.gt(after_seq))
            .order_by_asc(audit_log::Column::Seq)
            .limit(PAGE)
            .all(txn)
            .await?;
        for row in &page {
            let Some(stored_seq) = row.seq else { continue };
            after_seq = stored_seq;
            let sequence = u64::try_from(stored_seq).unwrap_or(0);
            if sequence > expected {
                return Ok(Walk::Broken(Problem::Missing {
                    sequence: expected,
                    after: prev_record,
                    before: Some(row.record_id),
                }));
            }
            let altered = Walk::Broken(Problem::Altered {
                sequence,
                record_id: row.record_id,
            });
            // A number below the expected one was rewritten: the unique
            // index rules out a genuine duplicate.
            if sequence < expected {
                return Ok(altered);
            }
            let links = row.prev_hash.as_deref() == Some(chain::to_hex(&prev).as_str());
            let recomputed = chain::record_hash(&prev, sequence, row);
            let stored = row.hash.as_deref().and_then(chain::from_hex);
            if !links || stored != Some(recomputed) {
                return Ok(altered);
            }
            prev = recomputed;
            prev_record = Some(row.record_id);
            last = Some(ChainHead {
                sequence,
                hash: chain::to_hex(&recomputed),
            });
            expected += 1;
        }
        if (page.len() as u64) < PAGE {
            return Ok(Walk::Complete(last));
        }
    }
}

/// The first 12 hex digits of a hash, enough to tell hashes apart in a
/// message.
fn short(hash: &str) -> String {
    match hash.get(..12) {
        Some(prefix) if hash.len() > 12 => format!("{prefix}…"),
        _ => hash.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(n: u128) -> Uuid {
        Uuid::from_u128(0x0190_c3e5_0000_7000_8000_0000_0000_0000 + n)
    }

    #[test]
    fn problems_name_sequence_and_record() {
        let altered = Problem::Altered {
            sequence: 17,
            record_id: id(17),
        };
        assert_eq!(
            altered.to_string(),
            format!(
                "record #17 ({}) was altered: its hash no longer matches",
                id(17)
            )
        );
        let missing = Problem::Missing {
            sequence: 18,
            after: Some(id(17)),
            before: Some(id(19)),
        };
        assert_eq!(
            missing.to_string(),
            format!("record #18 is missing (between {} and {})", id(17), id(19))
        );
        let first_missing = Problem::Missing {
            sequence: 1,
            after: None,
            before: Some(id(2)),
        };
        assert_eq!(
            first_missing.to_string(),
            format!("record #1 is missing (before {})", id(2))
        );
    }

    #[test]
    fn head_mismatch_names_both_ends() {
        let head = ChainHead {
            sequence: 10,
            hash: "ab".repeat(32),
        };
        let last = ChainHead {
            sequence: 9,
            hash: "cd".repeat(32),
        };
        let text = Problem::HeadMismatch {
            head: head.clone(),
            last: Some(last),
        }
        .to_string();
        assert!(text.contains("#10 (abababababab…)"), "{text}");
        assert!(text.contains("#9 (cdcdcdcdcdcd…)"), "{text}");
        let text = Problem::HeadMismatch { head, last: None }.to_string();
        assert!(text.contains("no sealed record exists"), "{text}");
    }

    #[test]
    fn report_says_intact_or_names_the_problem() {
        let mut report = VerifyReport {
            sealed: 10,
            pending: 2,
            head: Some(ChainHead {
                sequence: 10,
                hash: "ab".repeat(32),
            }),
            first_problem: None,
        };
        assert!(report.is_intact());
        assert_eq!(
            report.to_string(),
            "audit chain intact: 10 sealed, 2 pending, head #10 (abababababab…)"
        );
        report.first_problem = Some(Problem::Altered {
            sequence: 4,
            record_id: id(4),
        });
        assert!(!report.is_intact());
        assert_eq!(
            report.to_string(),
            format!(
                "audit chain broken: record #4 ({}) was altered: its hash no longer matches \
                 (10 sealed, 2 pending)",
                id(4)
            )
        );
    }
}
