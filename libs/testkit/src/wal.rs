//! "Everything up to here" on a logical-replication source.
//!
//! `pg_current_wal_lsn()` is where the server has *written* its log. A
//! walsender only decodes what is *flushed*, and with asynchronous commit
//! (the test source cluster) records written after the last commit — an
//! autovacuum pass, a standby snapshot — can stay unflushed indefinitely, so
//! a line would never be seen to reach that position. Committing one
//! transaction synchronously flushes everything before it.

use sea_orm::{ConnectionTrait, DatabaseConnection, Statement};

/// The source's current log position, after making sure the log up to it is
/// flushed and therefore readable by every replication slot.
pub async fn flushed_wal_position(db: &DatabaseConnection) -> u64 {
    let backend = db.get_database_backend();
    let row = db
        .query_one_raw(Statement::from_string(
            backend,
            "SELECT pg_current_wal_lsn()::text AS lsn",
        ))
        .await
        .unwrap_or_else(|e| panic!("cannot read the source's log position: {e}"))
        .unwrap_or_else(|| panic!("pg_current_wal_lsn returned no row"));
    let text: String = row
        .try_get("", "lsn")
        .unwrap_or_else(|e| panic!("pg_current_wal_lsn is not text: {e}"));
    // An xid makes the commit write (and, synchronously, flush) a record.
    db.execute_unprepared(
        "BEGIN; SET LOCAL synchronous_commit = on; SELECT pg_current_xact_id(); COMMIT;",
    )
    .await
    .unwrap_or_else(|e| panic!("cannot flush the source's log: {e}"));
    parse_lsn(&text).unwrap_or_else(|| panic!("not a log position: {text}"))
}

/// `"16/B374D848"` → its 64-bit position.
pub fn parse_lsn(text: &str) -> Option<u64> {
    let (high, low) = text.split_once('/')?;
    Some((u64::from_str_radix(high, 16).ok()? << 32) | u64::from_str_radix(low, 16).ok()?)
}

#[cfg(test)]
mod tests {
    use super::parse_lsn;

    #[test]
    fn positions_parse_as_postgres_prints_them() {
        assert_eq!(parse_lsn("0/79E73E8"), Some(0x079E_73E8));
        assert_eq!(parse_lsn("16/B374D848"), Some((0x16 << 32) | 0xB374_D848));
        assert_eq!(parse_lsn("garbage"), None);
        assert_eq!(parse_lsn("1/zz"), None);
    }
}
