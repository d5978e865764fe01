//! Rows to write into a local enclave table, from YAML:
//!
//! ```yaml
//! upserts:
//!   - {household_id: "H-0001", region_code: "331121", members: 3}
//! deletes:
//!   - {household_id: "H-0007"}
//! ```
//!
//! Each value is typed by the table's column types, so a file is refused,
//! naming the row and column, before anything is sent.

use std::path::Path;

use serde_yaml_ng::{Mapping, Value as Yaml};
use zhongtai_contracts::exchange::v1 as pb;

use super::super::exchange::values;

/// As many rows as one WriteEnclaveRows call takes.
pub const MAX_ROWS: usize = 10_000;
/// As large a file as one WriteEnclaveRows call takes.
const MAX_FILE_BYTES: u64 = 16 * 1024 * 1024;

/// The rows of a file, typed for `table`.
#[derive(Debug, Default, PartialEq)]
pub struct Rows {
    pub request_id: String,
    pub upserts: Vec<pb::EnclaveRow>,
    pub deletes: Vec<pb::EnclaveRow>,
}

pub fn read(path: &Path, table: &pb::EnclaveTable) -> anyhow::Result<Rows> {
    let size = std::fs::metadata(path)
        .map_err(|e| anyhow::anyhow!("{}: cannot read it: {e}", path.display()))?
        .len();
    if size > MAX_FILE_BYTES {
        anyhow::bail!(
            "{}: {size} bytes is more than the {MAX_FILE_BYTES} one write may hold; split the file",
            path.display()
        );
    }
    let text = std::fs::read_to_string(path)
        .map_err(|e| anyhow::anyhow!("{}: cannot read it: {e}", path.display()))?;
    parse(&text, table).map_err(|problem| anyhow::anyhow!("{}: {problem}", path.display()))
}

pub fn parse(text: &str, table: &pb::EnclaveTable) -> Result<Rows, String> {
    let document: Yaml =
        serde_yaml_ng::from_str(text).map_err(|e| format!("not valid YAML: {e}"))?;
    let Yaml::Mapping(document) = document else {
        return Err("the file must hold a mapping with `upserts:` and/or `deletes:`".into());
    };
    let mut rows = Rows::default();
    for (key, value) in &document {
        match key.as_str() {
            Some("upserts") => rows.upserts = list(value, "upserts", table, false)?,
            Some("deletes") => rows.deletes = list(value, "deletes", table, true)?,
            Some("requestId" | "request_id") => {
                rows.request_id = value
                    .as_str()
                    .ok_or("requestId: expected text")?
                    .to_string();
            }
            _ => {
                return Err(format!(
                    "{}: unknown key; the file has upserts, deletes and requestId",
                    values_key(key)
                ));
            }
        }
    }
    let total = rows.upserts.len() + rows.deletes.len();
    if total == 0 {
        return Err("no rows: give `upserts:` and/or `deletes:`".into());
    }
    if total > MAX_ROWS {
        return Err(format!(
            "{total} rows is more than the {MAX_ROWS} one write takes; split the file"
        ));
    }
    Ok(rows)
}

fn values_key(key: &Yaml) -> String {
    key.as_str()
        .map_or_else(|| format!("{key:?}"), str::to_string)
}

fn list(
    value: &Yaml,
    name: &str,
    table: &pb::EnclaveTable,
    keys_only: bool,
) -> Result<Vec<pb::EnclaveRow>, String> {
    let Yaml::Sequence(items) = value else {
        return Err(format!("{name}: expected a list of rows"));
    };
    items
        .iter()
        .enumerate()
        .map(|(index, item)| {
            let at = format!("{name}[{index}]");
            let Yaml::Mapping(row) = item else {
                return Err(format!("{at}: expected a row as {{column: value}}"));
            };
            row_of(row, table, keys_only).map_err(|problem| format!("{at}.{problem}"))
        })
        .collect()
}

/// A row's columns in the table's order; key columns must all be there.
fn row_of(
    row: &Mapping,
    table: &pb::EnclaveTable,
    keys_only: bool,
) -> Result<pb::EnclaveRow, String> {
    for key in row.keys() {
        let name = values_key(key);
        let Some(column) = table.columns.iter().find(|c| c.name == name) else {
            let known: Vec<&str> = table.columns.iter().map(|c| c.name.as_str()).collect();
            return Err(format!(
                "{name}: {} has no such column; its columns are {}",
                table.name,
                known.join(", ")
            ));
        };
        if keys_only && !table.key_columns.contains(&column.name) {
            return Err(format!(
                "{name}: a delete names key columns only ({})",
                table.key_columns.join(", ")
            ));
        }
    }
    if let Some(missing) = table
        .key_columns
        .iter()
        .find(|k| !row.contains_key(Yaml::String((*k).clone())))
    {
        return Err(format!("{missing}: the key column is missing"));
    }
    let columns = table
        .columns
        .iter()
        .filter_map(|column| {
            row.get(Yaml::String(column.name.clone()))
                .map(|value| (column, value))
        })
        .map(|(column, value)| {
            values::from_yaml(column, value)
                .map_err(|problem| format!("{}: {problem}", column.name))
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(pb::EnclaveRow { columns })
}

#[cfg(test)]
mod tests {
    use zhongtai_contracts::exchange::v1::EnclaveColumnType as T;
    use zhongtai_contracts::exchange::v1::column_value::Value;

    use super::*;

    fn table() -> pb::EnclaveTable {
        let column = |name: &str, kind: T, nullable: bool| pb::EnclaveColumn {
            name: name.into(),
            r#type: kind as i32,
            nullable,
        };
        pb::EnclaveTable {
            name: "household".into(),
            columns: vec![
                column("household_id", T::Text, false),
                column("region_code", T::Text, false),
                column("members", T::Bigint, true),
                column("subsidy", T::Numeric, true),
            ],
            key_columns: vec!["household_id".into()],
            ..Default::default()
        }
    }

    #[test]
    fn yaml_rows_become_typed_upserts_and_deletes() {
        let rows = parse(
            r#"
requestId: load-1
upserts:
  - {members: 3, household_id: "H-0001", region_code: "331121", subsidy: "1200.50"}
  - {household_id: "H-0002", region_code: "331122", members: ~}
deletes:
  - {household_id: "H-0007"}
"#,
            &table(),
        )
        .unwrap();
        assert_eq!(rows.request_id, "load-1");
        assert_eq!(rows.upserts.len(), 2);
        let first: Vec<(&str, Option<&Value>)> = rows.upserts[0]
            .columns
            .iter()
            .map(|c| (c.name.as_str(), c.value.as_ref()))
            .collect();
        assert_eq!(
            first,
            [
                ("household_id", Some(&Value::StringValue("H-0001".into()))),
                ("region_code", Some(&Value::StringValue("331121".into()))),
                ("members", Some(&Value::IntValue(3))),
                ("subsidy", Some(&Value::NumericValue("1200.50".into()))),
            ]
        );
        assert_eq!(rows.upserts[1].columns[2].value, None);
        assert_eq!(rows.deletes[0].columns.len(), 1);
    }

    #[test]
    fn bad_rows_are_named_by_row_and_column() {
        let problem = |text: &str| parse(text, &table()).unwrap_err();
        let unquoted = problem("upserts:\n  - {household_id: H-1, region_code: 331121}\n");
        assert!(
            unquoted.starts_with("upserts[0].region_code: "),
            "{unquoted}"
        );
        assert!(unquoted.contains("quotes"), "{unquoted}");
        let unknown = problem("upserts:\n  - {household_id: H-1, colour: red}\n");
        assert!(
            unknown.contains("upserts[0].colour: household has no such column"),
            "{unknown}"
        );
        let keyless = problem("deletes:\n  - {region_code: \"331121\"}\n");
        assert!(
            keyless.contains("deletes[0].region_code: a delete names key columns only"),
            "{keyless}"
        );
        let missing = problem("upserts:\n  - {region_code: \"331121\"}\n");
        assert!(
            missing.contains("household_id: the key column is missing"),
            "{missing}"
        );
        assert!(problem("rows: []\n").contains("unknown key"));
        assert!(problem("upserts: []\n").contains("no rows"));
        assert!(problem("- a\n").contains("mapping"));
    }
}
