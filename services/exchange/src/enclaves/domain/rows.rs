//! Table definitions and written rows, checked against the rules before
//! anything is stored. Problems are returned as (field, description) pairs
//! for the caller's field violations.

use std::collections::HashSet;

use super::names::check_name;
use super::table::{ColumnDef, TableDef};
use super::{MAX_COLUMNS, MAX_KEY_COLUMNS};
use crate::domain::change::{Column, Value};

pub type Violations = Vec<(String, String)>;

/// Checks a LOCAL table definition.
pub fn check_definition(name: &str, columns: &[ColumnDef], key_columns: &[String]) -> Violations {
    let mut problems = Violations::new();
    if let Err(e) = check_name(name) {
        problems.push(("name".into(), e.to_string()));
    }
    if columns.is_empty() || columns.len() > MAX_COLUMNS {
        problems.push((
            "columns".into(),
            format!("must have 1..{MAX_COLUMNS} columns (got {})", columns.len()),
        ));
    }
    let mut seen = HashSet::new();
    for (i, column) in columns.iter().enumerate() {
        if let Err(e) = check_name(&column.name) {
            problems.push((format!("columns[{i}].name"), e.to_string()));
        } else if !seen.insert(column.name.as_str()) {
            problems.push((format!("columns[{i}].name"), "is a duplicate".into()));
        }
    }
    if key_columns.is_empty() || key_columns.len() > MAX_KEY_COLUMNS {
        problems.push((
            "key_columns".into(),
            format!(
                "must name 1..{MAX_KEY_COLUMNS} columns (got {})",
                key_columns.len()
            ),
        ));
    }
    let mut keys = HashSet::new();
    for (i, key) in key_columns.iter().enumerate() {
        match columns.iter().find(|c| &c.name == key) {
            None => problems.push((format!("key_columns[{i}]"), "is not a column".into())),
            Some(column) if column.nullable => problems.push((
                format!("key_columns[{i}]"),
                "a key column cannot be nullable".into(),
            )),
            Some(_) if !keys.insert(key.as_str()) => {
                problems.push((format!("key_columns[{i}]"), "is a duplicate".into()));
            }
            Some(_) => {}
        }
    }
    problems
}

/// Checks one upserted row and returns it in the table's column order,
/// absent nullable columns as NULL.
pub fn check_upsert(
    table: &TableDef,
    row: &[Column],
    field: &str,
) -> Result<Vec<Column>, Violations> {
    let mut problems = Violations::new();
    let mut seen = HashSet::new();
    for column in row {
        if !seen.insert(column.name.as_str()) {
            problems.push((format!("{field}.{}", column.name), "is given twice".into()));
            continue;
        }
        match table.column(&column.name) {
            None => problems.push((
                format!("{field}.{}", column.name),
                format!("table {} has no such column", table.name),
            )),
            Some(def) => {
                if let Some(problem) = value_problem(def, &column.value, table.is_key(&def.name)) {
                    problems.push((format!("{field}.{}", column.name), problem));
                }
            }
        }
    }
    let ordered = table
        .columns
        .iter()
        .map(|def| {
            let value = row
                .iter()
                .find(|c| c.name == def.name)
                .map(|c| c.value.clone());
            if value.is_none() && (!def.nullable || table.is_key(&def.name)) {
                problems.push((format!("{field}.{}", def.name), "is required".into()));
            }
            Column::new(def.name.clone(), value.unwrap_or(Value::Null))
        })
        .collect();
    if problems.is_empty() {
        Ok(ordered)
    } else {
        Err(problems)
    }
}

/// Checks one deleted key (exactly the key columns) and returns it in key
/// order.
pub fn check_delete(
    table: &TableDef,
    key: &[Column],
    field: &str,
) -> Result<Vec<Column>, Violations> {
    let mut problems = Violations::new();
    for column in key {
        if !table.is_key(&column.name) {
            problems.push((
                format!("{field}.{}", column.name),
                "is not a key column".into(),
            ));
        }
    }
    let ordered = table
        .key_defs()
        .into_iter()
        .filter_map(|def| {
            let matching: Vec<&Column> = key.iter().filter(|c| c.name == def.name).collect();
            match matching.as_slice() {
                [one] => {
                    if let Some(problem) = value_problem(def, &one.value, true) {
                        problems.push((format!("{field}.{}", def.name), problem));
                    }
                    Some((*one).clone())
                }
                [] => {
                    problems.push((format!("{field}.{}", def.name), "is required".into()));
                    None
                }
                _ => {
                    problems.push((format!("{field}.{}", def.name), "is given twice".into()));
                    None
                }
            }
        })
        .collect();
    if problems.is_empty() {
        Ok(ordered)
    } else {
        Err(problems)
    }
}

fn value_problem(def: &ColumnDef, value: &Value, is_key: bool) -> Option<String> {
    match value {
        Value::Unchanged => Some("an unchanged marker cannot be written".into()),
        Value::Null if is_key || !def.nullable => Some("must not be NULL".into()),
        value if !def.column_type.accepts(value) => {
            Some(format!("is a {} column", def.column_type.as_str()))
        }
        Value::Double(d) if !d.is_finite() => Some("must be a finite number".into()),
        Value::Numeric(text) if !is_numeric(text) => Some("is not a decimal number".into()),
        Value::Date(text) if chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d").is_err() => {
            Some("is not a YYYY-MM-DD date".into())
        }
        Value::Json(text) if serde_json::from_str::<serde_json::Value>(text).is_err() => {
            Some("is not JSON".into())
        }
        _ => None,
    }
}

/// `-12.50`, `3`, `.5`: an optional sign, digits with at most one point.
fn is_numeric(text: &str) -> bool {
    let digits = text.strip_prefix(['-', '+']).unwrap_or(text);
    let mut points = 0;
    let mut any_digit = false;
    for c in digits.chars() {
        match c {
            '0'..='9' => any_digit = true,
            '.' => points += 1,
            _ => return false,
        }
    }
    any_digit && points <= 1 && digits.len() <= 1000
}

/// Approximate wire size of a row, for the per-write byte limit.
pub fn approximate_size(row: &[Column]) -> usize {
    row.iter()
        .map(|c| {
            c.name.len()
                + match &c.value {
                    Value::Text(s) | Value::Numeric(s) | Value::Date(s) | Value::Json(s) => s.len(),
                    Value::Bytes(b) => b.len(),
                    _ => 8,
                }
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::super::table::{ColumnType, TableOrigin};
    use super::*;

    fn def(name: &str, column_type: ColumnType, nullable: bool) -> ColumnDef {
        ColumnDef {
            name: name.into(),
            column_type,
            nullable,
        }
    }

    fn table() -> TableDef {
        TableDef {
            name: "people".into(),
            origin: TableOrigin::Local,
            subscription_id: None,
            columns: vec![
                def("id", ColumnType::Bigint, false),
                def("name", ColumnType::Text, false),
                def("income", ColumnType::Numeric, true),
            ],
            key_columns: vec!["id".into()],
            row_count: 0,
        }
    }

    #[test]
    fn definitions_need_valid_names_and_keys_among_columns() {
        let columns = table().columns;
        assert!(check_definition("people", &columns, &["id".into()]).is_empty());
        let problems = check_definition("People", &columns, &["nope".into(), "income".into()]);
        let fields: Vec<&str> = problems.iter().map(|(f, _)| f.as_str()).collect();
        assert_eq!(fields, ["name", "key_columns[0]", "key_columns[1]"]);
        assert!(!check_definition("t", &[], &[]).is_empty());
    }

    #[test]
    fn upserts_are_typed_complete_and_ordered() {
        let row = vec![
            Column::new("name", Value::Text("张三".into())),
            Column::new("id", Value::Int(1)),
        ];
        let ordered = check_upsert(&table(), &row, "upserts[0]").expect("valid");
        assert_eq!(ordered[0].name, "id");
        assert_eq!(ordered[2].value, Value::Null);

        let wrong = vec![
            Column::new("id", Value::Text("1".into())),
            Column::new("income", Value::Numeric("1e5".into())),
            Column::new("extra", Value::Int(1)),
        ];
        let problems = check_upsert(&table(), &wrong, "upserts[0]").expect_err("invalid");
        let fields: Vec<&str> = problems.iter().map(|(f, _)| f.as_str()).collect();
        assert_eq!(
            fields,
            [
                "upserts[0].id",
                "upserts[0].income",
                "upserts[0].extra",
                "upserts[0].name"
            ]
        );
    }

    #[test]
    fn deletes_name_exactly_the_key() {
        let key = vec![Column::new("id", Value::Int(1))];
        assert_eq!(check_delete(&table(), &key, "deletes[0]"), Ok(key));
        assert!(check_delete(&table(), &[], "deletes[0]").is_err());
        let extra = vec![
            Column::new("id", Value::Int(1)),
            Column::new("name", Value::Text("x".into())),
        ];
        assert!(check_delete(&table(), &extra, "deletes[0]").is_err());
    }

    #[test]
    fn numerics_are_decimal_text() {
        assert!(is_numeric("-12.50"));
        assert!(is_numeric("3"));
        assert!(!is_numeric("1e5"));
        assert!(!is_numeric("1.2.3"));
        assert!(!is_numeric("-"));
    }
}
