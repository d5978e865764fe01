//! RECEIVED tables take their shape from what arrives: created on first
//! use from the changes' columns, widened when the source adds a column.

use uuid::Uuid;

use super::names::check_name;
use super::table::{ColumnDef, ColumnType, TableDef, TableOrigin};
use crate::domain::change::{Change, Column};

/// What a batch needs done to its table before it can be applied.
#[derive(Debug, Clone, PartialEq)]
pub struct TablePlan {
    /// The table as it will be.
    pub table: TableDef,
    /// The table does not exist yet.
    pub create: bool,
    /// Columns to add to an existing table.
    pub added: Vec<ColumnDef>,
}

/// Plans `changes` (all for one target table) against `existing`. `Err`
/// says why the batch can never apply (a clash no retry resolves).
pub fn plan(
    existing: Option<&TableDef>,
    table_name: &str,
    subscription_id: Uuid,
    changes: &[Change],
) -> Result<TablePlan, String> {
    check_name(table_name).map_err(|e| format!("target table `{table_name}` {e}"))?;
    let Some(first) = changes.first() else {
        return match existing {
            Some(table) => Ok(TablePlan {
                table: table.clone(),
                create: false,
                added: Vec::new(),
            }),
            None => Err("nothing to create the table from".into()),
        };
    };
    let key_names: Vec<String> = first.key.iter().map(|c| c.name.clone()).collect();
    if key_names.is_empty() {
        return Err(format!("changes for {table_name} carry no key"));
    }
    let (mut table, create) = match existing {
        Some(table) => {
            if table.origin == TableOrigin::Local {
                return Err(format!(
                    "table {table_name} holds the tenant's own data and cannot receive"
                ));
            }
            if table
                .subscription_id
                .is_some_and(|id| id != subscription_id)
            {
                return Err(format!(
                    "table {table_name} is filled by another subscription"
                ));
            }
            if table.key_columns != key_names {
                return Err(format!(
                    "table {table_name} is keyed by ({}), the changes by ({})",
                    table.key_columns.join(", "),
                    key_names.join(", ")
                ));
            }
            (table.clone(), false)
        }
        None => (
            TableDef {
                name: table_name.to_string(),
                origin: TableOrigin::Received,
                subscription_id: Some(subscription_id),
                columns: Vec::new(),
                key_columns: key_names.clone(),
                row_count: 0,
            },
            true,
        ),
    };
    let known = table.columns.len();
    for change in changes {
        let names: Vec<&str> = change.key.iter().map(|c| c.name.as_str()).collect();
        if names != key_names.iter().map(String::as_str).collect::<Vec<_>>() {
            return Err(format!(
                "changes for {table_name} do not all carry the key ({})",
                key_names.join(", ")
            ));
        }
        for column in &change.key {
            if ColumnType::of_value(&column.value).is_none() {
                return Err(format!(
                    "key column {} of {table_name} has no value",
                    column.name
                ));
            }
            merge(&mut table, column, false)?;
        }
        for column in &change.after {
            if !table.is_key(&column.name) {
                merge(&mut table, column, true)?;
            } else {
                merge(&mut table, column, false)?;
            }
        }
    }
    let added = if create {
        Vec::new()
    } else {
        table.columns[known..].to_vec()
    };
    Ok(TablePlan {
        table,
        create,
        added,
    })
}

fn merge(table: &mut TableDef, column: &Column, nullable: bool) -> Result<(), String> {
    check_name(&column.name).map_err(|e| format!("column `{}` {e}", column.name))?;
    match table.column(&column.name) {
        Some(def) => {
            if def.column_type.accepts(&column.value) {
                Ok(())
            } else {
                Err(format!(
                    "column {}.{} is {}, a change brings {}",
                    table.name,
                    column.name,
                    def.column_type.as_str(),
                    ColumnType::of_value(&column.value).map_or("null", ColumnType::as_str)
                ))
            }
        }
        None => {
            // A column seen only as NULL waits for a typed value; until then
            // reading it gives NULL anyway.
            if let Some(column_type) = ColumnType::of_value(&column.value) {
                table.columns.push(ColumnDef {
                    name: column.name.clone(),
                    column_type,
                    nullable,
                });
            }
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::change::{HopTimes, Operation, Value};

    fn change(after: Vec<Column>) -> Change {
        Change {
            line_id: Uuid::nil(),
            position: 1,
            index: 0,
            transaction_id: None,
            table: "public.people".into(),
            operation: Operation::Insert,
            key: vec![Column::new("id", Value::Int(1))],
            before: vec![],
            after,
            hops: HopTimes::default(),
            subscription_id: None,
            grant_id: None,
        }
    }

    #[test]
    fn creates_from_the_first_batch_and_widens_later() {
        let sub = Uuid::new_v4();
        let first = change(vec![
            Column::new("id", Value::Int(1)),
            Column::new("name", Value::Text("a".into())),
            Column::new("note", Value::Null),
        ]);
        let created = plan(None, "people", sub, &[first]).expect("plan");
        assert!(created.create);
        let names: Vec<&str> = created
            .table
            .columns
            .iter()
            .map(|c| c.name.as_str())
            .collect();
        assert_eq!(names, ["id", "name"]);
        assert!(!created.table.columns[0].nullable);

        let later = change(vec![
            Column::new("id", Value::Int(2)),
            Column::new("note", Value::Text("n".into())),
        ]);
        let widened = plan(Some(&created.table), "people", sub, &[later]).expect("plan");
        assert!(!widened.create);
        assert_eq!(widened.added.len(), 1);
        assert_eq!(widened.added[0].name, "note");
    }

    #[test]
    fn clashes_are_refused() {
        let sub = Uuid::new_v4();
        let first = change(vec![Column::new("name", Value::Text("a".into()))]);
        let table = plan(None, "people", sub, &[first]).expect("plan").table;
        let clash = change(vec![Column::new("name", Value::Int(3))]);
        assert!(plan(Some(&table), "people", sub, std::slice::from_ref(&clash)).is_err());
        assert!(plan(Some(&table), "people", Uuid::new_v4(), &[change(vec![])]).is_err());
        assert!(plan(None, "Bad-Name", sub, &[clash]).is_err());
    }
}
