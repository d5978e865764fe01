//! How an enclave reads: its tables with where their rows come from, and the
//! backflow rules passing slices on to child tenants.

use std::process::ExitCode;

use zhongtai_contracts::exchange::v1 as pb;

use super::super::exchange::numbers::grouped;
use super::super::flags;
use super::super::grants::{print_field_access, row_filter};
use super::super::labels;
use super::super::output::{emit, print_details, print_proto_json, print_section, print_table};

pub fn state(enclave: &pb::Enclave) -> String {
    labels::short(enclave.state().as_str_name(), "ENCLAVE_STATE_")
}

pub fn column_type(column: &pb::EnclaveColumn) -> String {
    labels::short(column.r#type().as_str_name(), "ENCLAVE_COLUMN_TYPE_").to_ascii_lowercase()
}

fn origin(table: &pb::EnclaveTable) -> String {
    labels::short(table.origin().as_str_name(), "ENCLAVE_TABLE_ORIGIN_")
}

pub fn print_enclaves(enclaves: &[pb::Enclave]) {
    let rows: Vec<Vec<String>> = enclaves
        .iter()
        .map(|e| {
            vec![
                e.id.clone(),
                labels::tenant(e.tenant.as_ref()),
                e.name.clone(),
                e.tables.len().to_string(),
                e.backflow_rules.len().to_string(),
                state(e),
            ]
        })
        .collect();
    print_table(
        &["ID", "TENANT", "NAME", "TABLES", "BACKFLOW RULES", "STATE"],
        &rows,
    );
}

pub fn show(enclave: &pb::Enclave, json: bool) -> anyhow::Result<ExitCode> {
    if json {
        print_proto_json(enclave)?;
        return Ok(ExitCode::SUCCESS);
    }
    print_details(&[
        ("id", enclave.id.clone()),
        ("tenant", labels::tenant(enclave.tenant.as_ref())),
        ("name", enclave.name.clone()),
        ("state", state(enclave)),
        ("created", labels::time(enclave.create_time.as_ref())),
        ("updated", labels::time(enclave.update_time.as_ref())),
    ]);
    print_section("Tables");
    let rows: Vec<Vec<String>> = enclave
        .tables
        .iter()
        .map(|t| {
            vec![
                t.name.clone(),
                origin(t),
                t.subscription_id.clone(),
                labels::clip(&labels::list(t.columns.iter().map(|c| c.name.as_str())), 60),
                labels::list(&t.key_columns),
                grouped(t.row_count),
            ]
        })
        .collect();
    print_table(
        &["TABLE", "ORIGIN", "SUBSCRIPTION", "COLUMNS", "KEY", "ROWS"],
        &rows,
    );
    print_section("Backflow rules");
    print_rules(&enclave.backflow_rules);
    Ok(ExitCode::SUCCESS)
}

pub fn print_rules(rules: &[pb::BackflowRule]) {
    let rows: Vec<Vec<String>> = rules
        .iter()
        .map(|r| {
            vec![
                r.id.clone(),
                r.source_table.clone(),
                target(r),
                labels::clip(&row_filter(r.row_filter.as_ref()), 50),
                fields(r),
                r.line_id.clone(),
                r.subscription_id.clone(),
            ]
        })
        .collect();
    print_table(
        &[
            "ID",
            "TABLE",
            "TO",
            "ROWS",
            "FIELDS",
            "LINE",
            "SUBSCRIPTION",
        ],
        &rows,
    );
}

/// `331121 enclave <id> table <name>`.
fn target(rule: &pb::BackflowRule) -> String {
    let table = if rule.target_table.is_empty() {
        &rule.source_table
    } else {
        &rule.target_table
    };
    format!(
        "{} enclave {} table {table}",
        labels::tenant(rule.target_tenant.as_ref()),
        rule.target_enclave_id
    )
}

fn fields(rule: &pb::BackflowRule) -> String {
    if rule.fields.is_empty() {
        return "every field".into();
    }
    labels::clip(
        &labels::list(rule.fields.iter().map(flags::field_access_spec)),
        60,
    )
}

pub fn show_rule(rule: &pb::BackflowRule, json: bool) -> anyhow::Result<ExitCode> {
    if json {
        print_proto_json(rule)?;
        return Ok(ExitCode::SUCCESS);
    }
    print_details(&[
        ("id", rule.id.clone()),
        ("table", rule.source_table.clone()),
        ("to", target(rule)),
        ("rows", row_filter(rule.row_filter.as_ref())),
        ("line", rule.line_id.clone()),
        ("subscription", rule.subscription_id.clone()),
        ("created", labels::time(rule.create_time.as_ref())),
    ]);
    print_section("Fields");
    if rule.fields.is_empty() {
        emit("(every field, unmasked)");
    } else {
        print_field_access(&rule.fields);
    }
    Ok(ExitCode::SUCCESS)
}

pub fn show_table(table: &pb::EnclaveTable, json: bool) -> anyhow::Result<ExitCode> {
    if json {
        print_proto_json(table)?;
        return Ok(ExitCode::SUCCESS);
    }
    print_details(&[
        ("table", table.name.clone()),
        ("origin", origin(table)),
        ("subscription", table.subscription_id.clone()),
        ("key", labels::list(&table.key_columns)),
        ("rows", grouped(table.row_count)),
    ]);
    print_section("Columns");
    let rows: Vec<Vec<String>> = table
        .columns
        .iter()
        .map(|c| {
            vec![
                c.name.clone(),
                column_type(c),
                if c.nullable { "yes" } else { "no" }.into(),
                if table.key_columns.contains(&c.name) {
                    "KEY"
                } else {
                    ""
                }
                .into(),
            ]
        })
        .collect();
    print_table(&["NAME", "TYPE", "NULLABLE", "KEY"], &rows);
    Ok(ExitCode::SUCCESS)
}
