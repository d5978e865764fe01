//! What a line needs from its source before reading: its tables with their
//! keys, the publication, and the replication slot's state.

use std::collections::BTreeSet;

use crate::domain::change::parse_lsn;
use crate::domain::flow::FlowError;
use crate::domain::line::SourceTable;

use super::wire::{Connection, QueryResult, WireError, quote_identifier, quote_literal};

/// A captured table as the source holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableInfo {
    pub schema: String,
    pub name: String,
    /// Columns identifying a row, in key order.
    pub key_columns: Vec<String>,
    /// From `pg_class.reltuples`; -1 when never analysed.
    pub estimated_rows: i64,
    /// Its rows live in partitions.
    pub partitioned: bool,
}

impl TableInfo {
    /// `schema.name`, as changes name it.
    pub fn qualified(&self) -> String {
        format!("{}.{}", self.schema, self.name)
    }

    /// `"schema"."name"`, for SQL.
    pub fn quoted(&self) -> String {
        format!(
            "{}.{}",
            quote_identifier(&self.schema),
            quote_identifier(&self.name)
        )
    }
}

/// The state of a replication slot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlotState {
    pub plugin: String,
    pub database: String,
    pub active_pid: Option<i32>,
    pub confirmed_flush: u64,
}

/// Maps a failure talking to the source into the line's terms.
pub fn flow_error(context: &str, error: WireError) -> FlowError {
    let message = format!("{context}: {error}");
    if error.is_permanent() {
        FlowError::Permanent(message)
    } else {
        FlowError::Transient(message)
    }
}

/// Checks each table exists and can be keyed; returns them with their
/// key columns.
pub async fn inspect_tables(
    connection: &mut Connection,
    tables: &[SourceTable],
) -> Result<Vec<TableInfo>, FlowError> {
    if tables.is_empty() {
        return Err(FlowError::Permanent("the line names no tables".into()));
    }
    let mut inspected = Vec::with_capacity(tables.len());
    for table in tables {
        let schema = if table.schema.is_empty() {
            "public".to_owned()
        } else {
            table.schema.clone()
        };
        let qualified = format!("{schema}.{}", table.name);
        let found = query(
            connection,
            &format!(
                "SELECT c.oid, c.relreplident, c.reltuples::bigint, c.relkind FROM pg_class c \
                 JOIN pg_namespace n ON n.oid = c.relnamespace \
                 WHERE n.nspname = {} AND c.relname = {} AND c.relkind IN ('r', 'p')",
                quote_literal(&schema),
                quote_literal(&table.name)
            ),
        )
        .await?;
        let Some(row) = found.rows.first() else {
            return Err(FlowError::Permanent(format!(
                "table {qualified} does not exist in the source database"
            )));
        };
        let oid = text(row, 0)?;
        let replica_identity = text(row, 1)?;
        let estimated_rows = text(row, 2)?.parse::<i64>().unwrap_or(-1).max(-1);
        let partitioned = text(row, 3)? == "p";

        let primary_key = query(
            connection,
            &format!(
                "SELECT a.attname FROM pg_index i \
                 JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey) \
                 WHERE i.indrelid = {oid} AND i.indisprimary \
                 ORDER BY array_position(i.indkey::int2[], a.attnum)"
            ),
        )
        .await?
        .rows
        .iter()
        .map(|row| text(row, 0).map(str::to_owned))
        .collect::<Result<Vec<_>, _>>()?;

        if replica_identity == "n" {
            return Err(FlowError::Permanent(format!(
                "table {qualified} has REPLICA IDENTITY NOTHING, so its updates and deletes \
                 cannot be captured"
            )));
        }
        let key_columns = if table.key_columns.is_empty() {
            if primary_key.is_empty() {
                return Err(FlowError::Permanent(format!(
                    "table {qualified} has no primary key; give key columns and set \
                     REPLICA IDENTITY FULL"
                )));
            }
            primary_key
        } else {
            let columns = query(
                connection,
                &format!(
                    "SELECT attname FROM pg_attribute \
                     WHERE attrelid = {oid} AND attnum > 0 AND NOT attisdropped"
                ),
            )
            .await?;
            let existing: BTreeSet<&str> = columns
                .rows
                .iter()
                .filter_map(|row| row.first().and_then(|v| v.as_deref()))
                .collect();
            if let Some(missing) = table
                .key_columns
                .iter()
                .find(|c| !existing.contains(c.as_str()))
            {
                return Err(FlowError::Permanent(format!(
                    "table {qualified} has no column {missing} to key its rows by"
                )));
            }
            let same_as_primary_key = table.key_columns.iter().collect::<BTreeSet<_>>()
                == primary_key.iter().collect::<BTreeSet<_>>();
            if !same_as_primary_key && replica_identity != "f" {
                let why = if primary_key.is_empty() {
                    "has no primary key"
                } else {
                    "is keyed by other columns than its primary key"
                };
                return Err(FlowError::Permanent(format!(
                    "table {qualified} {why}; set REPLICA IDENTITY FULL so deletes carry \
                     the key columns"
                )));
            }
            table.key_columns.clone()
        };
        inspected.push(TableInfo {
            schema,
            name: table.name.clone(),
            key_columns,
            estimated_rows,
            partitioned,
        });
    }
    Ok(inspected)
}

/// Makes sure the publication exists and covers every table: created and
/// extended when the line owns it, only checked otherwise.
pub async fn ensure_publication(
    connection: &mut Connection,
    name: &str,
    owned: bool,
    tables: &[TableInfo],
) -> Result<(), FlowError> {
    let exists = !query(
        connection,
        &format!(
            "SELECT 1 FROM pg_publication WHERE pubname = {}",
            quote_literal(name)
        ),
    )
    .await?
    .rows
    .is_empty();
    if !exists {
        if !owned {
            return Err(FlowError::Permanent(format!(
                "publication {name} does not exist in the source database"
            )));
        }
        let list = tables
            .iter()
            .map(TableInfo::quoted)
            .collect::<Vec<_>>()
            .join(", ");
        // Changes of a partitioned table would otherwise be named after
        // the partition they landed in, which the line does not know.
        let options = if tables.iter().any(|t| t.partitioned) {
            " WITH (publish_via_partition_root = true)"
        } else {
            ""
        };
        query(
            connection,
            &format!(
                "CREATE PUBLICATION {} FOR TABLE {list}{options}",
                quote_identifier(name)
            ),
        )
        .await?;
        return Ok(());
    }
    let covered = query(
        connection,
        &format!(
            "SELECT schemaname, tablename FROM pg_publication_tables WHERE pubname = {}",
            quote_literal(name)
        ),
    )
    .await?;
    let covered: BTreeSet<(String, String)> = covered
        .rows
        .iter()
        .filter_map(|row| match (row.first(), row.get(1)) {
            (Some(Some(schema)), Some(Some(table))) => Some((schema.clone(), table.clone())),
            _ => None,
        })
        .collect();
    if tables.iter().any(|t| t.partitioned) {
        let via_root = query(
            connection,
            &format!(
                "SELECT pubviaroot FROM pg_publication WHERE pubname = {}",
                quote_literal(name)
            ),
        )
        .await?;
        let via_root = via_root
            .rows
            .first()
            .and_then(|row| row.first().cloned().flatten());
        if via_root.as_deref() != Some("t") {
            if !owned {
                return Err(FlowError::Permanent(format!(
                    "publication {name} covers a partitioned table; it needs \
                     publish_via_partition_root = true"
                )));
            }
            query(
                connection,
                &format!(
                    "ALTER PUBLICATION {} SET (publish_via_partition_root = true)",
                    quote_identifier(name)
                ),
            )
            .await?;
        }
    }
    let missing: Vec<&TableInfo> = tables
        .iter()
        .filter(|t| !covered.contains(&(t.schema.clone(), t.name.clone())))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    if !owned {
        let names: Vec<String> = missing.iter().map(|t| t.qualified()).collect();
        return Err(FlowError::Permanent(format!(
            "publication {name} does not include {}",
            names.join(", ")
        )));
    }
    let list = missing
        .iter()
        .map(|t| t.quoted())
        .collect::<Vec<_>>()
        .join(", ");
    tracing::info!(publication = name, tables = %list, "adding tables to the publication");
    query(
        connection,
        &format!(
            "ALTER PUBLICATION {} ADD TABLE {list}",
            quote_identifier(name)
        ),
    )
    .await?;
    Ok(())
}

/// The slot's state, if it exists.
pub async fn slot_state(
    connection: &mut Connection,
    slot: &str,
) -> Result<Option<SlotState>, FlowError> {
    let result = query(
        connection,
        &format!(
            "SELECT plugin, database, active_pid, confirmed_flush_lsn FROM pg_replication_slots \
             WHERE slot_name = {}",
            quote_literal(slot)
        ),
    )
    .await?;
    let Some(row) = result.rows.first() else {
        return Ok(None);
    };
    let optional = |index: usize| row.get(index).cloned().flatten().unwrap_or_default();
    Ok(Some(SlotState {
        plugin: optional(0),
        database: optional(1),
        active_pid: optional(2).parse().ok(),
        confirmed_flush: parse_lsn(&optional(3)).unwrap_or(0),
    }))
}

/// Slot names PostgreSQL accepts: lowercase letters, digits, underscores.
pub fn check_slot_name(slot: &str) -> Result<(), FlowError> {
    let valid = !slot.is_empty()
        && slot.len() <= 63
        && slot
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if valid {
        Ok(())
    } else {
        Err(FlowError::Permanent(format!(
            "replication slot name {slot:?} is invalid: use at most 63 lowercase letters, \
             digits and underscores"
        )))
    }
}

/// One statement's result.
pub async fn query(connection: &mut Connection, sql: &str) -> Result<QueryResult, FlowError> {
    connection
        .simple_query(sql)
        .await
        .map_err(|e| flow_error("source query failed", e))?
        .pop()
        .ok_or_else(|| FlowError::Transient("the source answered a query with nothing".into()))
}

fn text(row: &[Option<String>], index: usize) -> Result<&str, FlowError> {
    row.get(index)
        .and_then(|v| v.as_deref())
        .ok_or_else(|| FlowError::Transient("the source answered without a needed value".into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slot_names_follow_postgres_rules() {
        assert!(check_slot_name("zhongtai_0123abc").is_ok());
        for bad in ["", "Upper", "with-dash", "quote'", &"x".repeat(64)] {
            assert!(check_slot_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn permanent_server_errors_stay_permanent() {
        let missing = WireError::Server {
            code: "42P01".into(),
            message: "nope".into(),
        };
        assert!(flow_error("x", missing).is_permanent());
        let busy = WireError::Server {
            code: "55006".into(),
            message: "busy".into(),
        };
        assert!(!flow_error("x", busy).is_permanent());
    }
}
