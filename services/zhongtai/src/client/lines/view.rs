//! How a line reads: where its changes come from, where it stands, its
//! snapshot, and the tables it carries.

use std::process::ExitCode;

use zhongtai_contracts::exchange::v1::{self as pb, line::Source};

use super::super::labels;
use super::super::output::{print_details, print_proto_json, print_section, print_table};
use super::progress;

pub fn state(line: &pb::Line) -> String {
    labels::short(line.state().as_str_name(), "LINE_STATE_")
}

/// `state (why)` when there is a reason.
pub fn state_with_reason(line: &pb::Line) -> String {
    if line.state_reason.is_empty() {
        state(line)
    } else {
        format!("{} ({})", state(line), line.state_reason)
    }
}

/// `public.marriage_registration`: the schema defaults to public.
pub fn table_name(table: &pb::SourceTable) -> String {
    let schema = if table.schema.is_empty() {
        "public"
    } else {
        table.schema.as_str()
    };
    format!("{schema}.{}", table.name)
}

/// `log civil-affairs-prod`, `push by <subject>`, `enclave <id>`.
pub fn source(line: &pb::Line) -> String {
    match &line.source {
        Some(Source::LogSource(log)) => format!("log {}", log.connection_ref),
        Some(Source::PushSource(push)) => format!("push by {}", push.producer_subject),
        Some(Source::EnclaveSource(enclave)) => format!("enclave {}", enclave.enclave_id),
        None => String::new(),
    }
}

/// The tables a line carries, with their key columns when named.
fn tables(line: &pb::Line) -> Vec<(String, String)> {
    let keyed = |tables: &[pb::SourceTable]| {
        tables
            .iter()
            .map(|t| (table_name(t), labels::list(&t.key_columns)))
            .collect()
    };
    match &line.source {
        Some(Source::LogSource(log)) => keyed(&log.tables),
        Some(Source::PushSource(push)) => keyed(&push.tables),
        Some(Source::EnclaveSource(enclave)) => enclave
            .tables
            .iter()
            .map(|t| (t.clone(), "(the table's key)".to_string()))
            .collect(),
        None => Vec::new(),
    }
}

/// Lines one per row.
pub fn print_lines(lines: &[pb::Line]) {
    let rows: Vec<Vec<String>> = lines
        .iter()
        .map(|line| {
            vec![
                line.id.clone(),
                line.name.clone(),
                labels::tenant(line.owner.as_ref()),
                source(line),
                labels::list(tables(line).into_iter().map(|(name, _)| name)),
                state(line),
                line.resource_id.clone(),
                line.version.to_string(),
            ]
        })
        .collect();
    print_table(
        &[
            "ID", "NAME", "OWNER", "SOURCE", "TABLES", "STATE", "RESOURCE", "VERSION",
        ],
        &rows,
    );
}

pub fn show(line: &pb::Line, json: bool) -> anyhow::Result<ExitCode> {
    if json {
        print_proto_json(line)?;
        return Ok(ExitCode::SUCCESS);
    }
    let mut details = vec![
        ("id", line.id.clone()),
        ("name", line.name.clone()),
        ("owner", labels::tenant(line.owner.as_ref())),
        ("description", labels::clip(&line.description, 100)),
        ("source", source(line)),
    ];
    match &line.source {
        Some(Source::LogSource(log)) => {
            details.push(("publication", log.publication.clone()));
            details.push(("slot", log.slot.clone()));
            details.push((
                "snapshot mode",
                labels::short(log.snapshot_mode().as_str_name(), "SNAPSHOT_MODE_"),
            ));
            details.push((
                "heartbeat",
                labels::duration(log.heartbeat_interval.as_ref()),
            ));
        }
        Some(Source::EnclaveSource(enclave)) => {
            details.push(("enclave", enclave.enclave_id.clone()));
        }
        Some(Source::PushSource(_)) | None => {}
    }
    details.extend([
        ("state", state_with_reason(line)),
        ("snapshot", progress::summary(line.snapshot.as_ref())),
        ("resource", line.resource_id.clone()),
        ("version", line.version.to_string()),
        ("created", labels::time(line.create_time.as_ref())),
        ("updated", labels::time(line.update_time.as_ref())),
    ]);
    print_details(&details);
    print_section("Tables");
    let rows: Vec<Vec<String>> = tables(line)
        .into_iter()
        .map(|(name, keys)| {
            let keys = if keys.is_empty() {
                "(primary key)".to_string()
            } else {
                keys
            };
            vec![name, keys]
        })
        .collect();
    print_table(&["TABLE", "KEY"], &rows);
    Ok(ExitCode::SUCCESS)
}
